"""Secure aggregation (`secure=secagg`): the server sums masked vectors and survives dropouts.

Why not Flower's SecAgg+: `SecAggPlusWorkflow` + `secaggplus_mod` exist in flwr 1.42 but need
a `LegacyContext` with a legacy `flwr.server.strategy.Strategy` (Parameters / FitRes) and a
legacy-style client answering `fitins`; ChurnFedAvg (Message API: reply validation, seeded
sampling, observers) would have to be rewritten twice. This strategy keeps ChurnFedAvg and
runs the SecAgg protocol (Bonawitz et al. 2017) as extra Message-API exchanges per round
(wire names in churn.secure_protocol, the site side in clients.secure):

1. sample (seeded, or DP's secret Poisson sample); `query.secagg_keys` -> U1, the sites that
   sent two public keys. Fewer than `min_sites`: the round does not start.
2. `query.secagg_shares` with the key table of U1 -> U2, the sites that returned one
   encrypted share pair per peer. Fewer than t = max(min_sites, ceil(fraction * |U1|)):
   the round does not start.
3. `train` to U2, each with the ciphertexts addressed to it -> U3, the masked vectors.
4. `query.secagg_unmask` to U3 (survivors U3, dropped U2 \\ U3) -> seed shares of the
   survivors and mask-key shares of the dropped; with t of them the server removes the
   masks (strategy.secure_unmask) and gets Σ n_i w_i, Σ n_i -> FedAvg up to 2^-F.
A round that does not start or cannot be unmasked keeps the model (plain) or releases only
noise (privacy=dp), and records why in `record.secure["aborted"]`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy.strategy_utils import sample_nodes
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from churn import protocol as P
from churn import secure_protocol as S
from churn.ndarrays import ndarrays
from churn.privacy_accounting import DPSettings
from churn.rounds import Rejection
from strategy.fedavg import ChurnFedAvg
from strategy.privacy import DPMechanism, StampingHub
from strategy.reply_checks import DROPOUT_MARKER
from strategy.secure_exchange import collect_unmask, parse_keys, route_shares
from strategy.secure_unmask import UnmaskFailed, Unmasking, check_totals, unmask_sum

log = logging.getLogger(__name__)
TRAIN_METRICS = ("train-log-loss", "train-auc", "train-accuracy")  # clients.local_training


@dataclass
class _SecureRound:
    tag: str
    table: list[int] = field(default_factory=list)  # U1, sorted; share x of table[k] is k + 1
    mask_keys: dict[int, bytes] = field(default_factory=dict)
    shared: list[int] = field(default_factory=list)  # U2
    routed: dict[int, tuple[list[int], list[bytes]]] = field(default_factory=dict)
    threshold: int = 0
    aborted: str | None = None


class SecureChurnFedAvg(ChurnFedAvg):
    """FedAvg (or DP-FedAvg with `dp`) over masked sums; observers get no per-client update."""

    aggregation = "secagg_fedavg"

    def __init__(self, *, dp: DPSettings | None, secure: dict[str, Any],
                 extra_train_config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if dp is not None:
            kwargs["fraction_train"] = dp.sampling_rate
        super().__init__(**kwargs)
        self.mechanism = DPMechanism(dp) if dp is not None else None
        self.fraction_bits = int(secure.get("fraction_bits", 32))
        self.key_timeout = float(secure.get("key_timeout", 120.0))
        self.min_sites, self.threshold_fraction = S.threshold_settings(S.site_run_config(secure))
        self.extra_train_config = dict(extra_train_config or {})
        self.secure_by_round: dict[int, dict[str, Any]] = {}
        self.received: list[Message] = []  # what aggregate_train was handed (tests inspect it)
        self._config: ConfigRecord | None = None
        self._grid: Grid | None = None
        self._secure: _SecureRound | None = None
        self._size = 0  # parameters in [coef, intercept]
        stamps = {"secure": self.secure_by_round}
        if self.mechanism is not None:
            stamps["privacy"] = self.mechanism.by_round
        self.hub = StampingHub(self.hub, stamps)

    # ----- sampling, key agreement, share routing ---------------------------------------------
    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Train messages to the sites that shared, each with the ciphertexts addressed to it."""
        if self.mechanism is not None:
            config[KEY_CLIPPING_NORM] = self.mechanism.dp.clipping_norm
        for key, value in self.extra_train_config.items():
            config[key] = value
        self._config, self._grid = config, grid
        self._size = sum(np.asarray(a).size for a in ndarrays(arrays))
        self._secure = _SecureRound(f"{grid.run.run_id}:{server_round}:{time.time_ns()}")
        messages = list(super().configure_train(server_round, arrays, config, grid))
        self._run_setup(server_round, grid)
        secure = self._secure
        if secure.aborted:
            return []
        config[S.ROUND_TAG] = secure.tag
        config[S.PEERS] = secure.shared
        config[S.FRACTION_BITS] = self.fraction_bits
        config[S.METRIC_NAMES] = list(TRAIN_METRICS)
        out = []
        for msg in messages:
            node = msg.metadata.dst_node_id
            if node in secure.routed:
                senders, ciphertexts = secure.routed[node]
                content = RecordDict({**dict(msg.content.items()), S.ROUTED: ConfigRecord(
                    {S.SHARE_FROM: senders, S.SHARE_CIPHERTEXTS: ciphertexts})})
                out.append(Message(content=content, dst_node_id=node,
                                   message_type=MessageType.TRAIN))
        return self._sending(server_round, out)

    def _sample(self, grid: Grid, fraction: float, min_nodes: int, server_round: int,
                phase: str) -> list[int]:
        if phase != "train" or self.mechanism is None:
            return super()._sample(grid, fraction, min_nodes, server_round, phase)
        _, all_nodes = sample_nodes(grid, self.min_available_nodes, 0)
        return self.mechanism.sample(
            sorted(all_nodes, key=lambda n: (self.node_partitions.get(n, 1 << 62), n)))

    def _query(self, server_round: int, grid: Grid, action: str, nodes: list[int],
               config: dict[str, Any]) -> dict[int, Message]:
        """node -> its reply (errors and dropouts recorded as rejections / missing)."""
        record = RecordDict({P.CONFIG: ConfigRecord(config)})
        sent = self._sending(server_round, self._construct_messages(record, nodes, action))
        replies = grid.send_and_receive(sent, timeout=self.key_timeout) if nodes else []
        state, out = self._state(server_round), {}
        for msg in replies:
            node = self._node_of(server_round, msg)
            if msg.has_error():
                text = str(msg.error.reason or "no reason given")
                target = state.missing if DROPOUT_MARKER in text else state.rejected
                reason = text.strip().splitlines()[0]
                target.append(self._with_partition(Rejection(node, f"{action}: {reason}")))
            elif node in nodes:
                out[node] = msg
        answered = {self._node_of(server_round, m) for m in replies}
        state.missing += [self._with_partition(Rejection(n, f"no {action} reply"))
                          for n in nodes if n not in answered]
        return out

    def _run_setup(self, server_round: int, grid: Grid) -> None:
        """Key query, share query and routing; sets `aborted` when below the threshold."""
        secure, sampled = self._secure, self._state(server_round).sampled_nodes
        assert secure is not None
        replies = self._query(server_round, grid, S.QUERY_KEYS, sampled,
                              {S.ROUND_TAG: secure.tag, P.SERVER_ROUND: server_round})
        keys, rejected = parse_keys(replies)
        self._reject(server_round, rejected)
        if len(keys) < self.min_sites:
            self._abort(server_round, f"round not started: {len(keys)} site(s) sent keys, "
                                      f"fewer than secure.min_sites={self.min_sites}")
            return
        secure.table = sorted(keys)
        secure.mask_keys = {n: keys[n][1] for n in secure.table}
        secure.threshold = S.share_threshold(len(secure.table), self.min_sites,
                                             self.threshold_fraction)
        replies = self._query(server_round, grid, S.QUERY_SHARES, secure.table, {
            S.ROUND_TAG: secure.tag, S.TABLE: secure.table,
            S.CIPHER_KEYS: [keys[n][0] for n in secure.table],
            S.MASK_KEYS: [keys[n][1] for n in secure.table]})
        secure.routed, rejected = route_shares(replies, secure.table)
        self._reject(server_round, rejected)
        secure.shared = sorted(secure.routed)
        if len(secure.shared) < secure.threshold:
            self._abort(server_round, f"round not started: {len(secure.shared)} site(s) "
                                      f"shared their secrets, fewer than the threshold "
                                      f"t={secure.threshold}")

    def _reject(self, server_round: int, rejected: list[Rejection]) -> None:
        self._state(server_round).rejected.extend(self._with_partition(r) for r in rejected)

    def _abort(self, server_round: int, reason: str) -> None:
        secure = self._secure
        assert secure is not None
        secure.aborted = reason
        log.warning("round %d: secure aggregation: %s; %s", server_round, reason,
                    "only DP noise is released" if self.mechanism else "the model is unchanged")
        self.secure_by_round[server_round] = {
            "participants": [], "num_examples": 0, "contributors": 0, "aborted": reason,
            "threshold": secure.threshold, "fraction_bits": self.fraction_bits}

    # ----- masked vectors -> unmasked sum ---------------------------------------------------
    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Sum the survivors' masked vectors, unmask with the survivors' shares, release."""
        state, secure = self._state(server_round), self._secure
        assert secure is not None
        replies = sorted(replies, key=lambda m: m.metadata.src_node_id)
        self.received.extend(replies)
        length = S.vector_length(self._size, len(TRAIN_METRICS))
        vectors: dict[int, np.ndarray] = {}
        for msg in replies:
            if msg.has_error() and DROPOUT_MARKER in str(msg.error.reason or ""):
                state.missing.append(self._with_partition(Rejection(
                    int(msg.metadata.src_node_id), "no masked vector (simulated dropout, "
                                                   "reported as an error by this engine)")))
                continue
            outcome = self._check_masked(msg, length)
            if isinstance(outcome, Rejection):
                state.rejected.append(self._attributed(server_round, msg, outcome))
            else:
                vectors[int(msg.metadata.src_node_id)] = outcome
        answered = {self._node_of(server_round, m) for m in replies}
        state.missing += [self._with_partition(Rejection(n, "no masked vector (dropped; its "
                                                            "masks are removed with shares)"))
                          for n in secure.shared if n not in answered]
        state.durations["train"] = time.perf_counter() - state.phase_started
        if not secure.aborted:
            try:
                total = self._unmask(server_round, vectors)
            except UnmaskFailed as ex:
                self._abort(server_round, str(ex))
            else:
                return self._finish_sum(server_round, total, sorted(vectors))
        if self.mechanism is None:
            return None, None
        previous = [np.asarray(a, dtype=np.float64) for a in state.global_arrays]
        state.global_arrays = self.mechanism.release(server_round, previous,
                                                     [np.zeros_like(p) for p in previous], 0)
        return ArrayRecord(state.global_arrays), MetricRecord({})

    def _unmask(self, server_round: int, vectors: dict[int, np.ndarray]) -> np.ndarray:
        secure, grid = self._secure, self._grid
        assert secure is not None and grid is not None
        if len(vectors) < secure.threshold:
            missing = len(secure.shared) - len(vectors)
            raise UnmaskFailed(f"{len(vectors)} masked vector(s), fewer than the threshold "
                               f"t={secure.threshold}: the masks of {missing} dropped site(s) "
                               "cannot be removed")
        survivors = sorted(vectors)
        dropped = [n for n in secure.shared if n not in vectors]
        x_of = {n: k + 1 for k, n in enumerate(secure.table)}
        replies = self._query(server_round, grid, S.QUERY_UNMASK, survivors, {
            S.ROUND_TAG: secure.tag, S.SURVIVORS: survivors, S.DROPPED: dropped})
        seed_shares, key_shares, rejected = collect_unmask(replies, survivors, dropped, x_of)
        self._reject(server_round, rejected)
        answered = len(seed_shares[survivors[0]])
        if answered < secure.threshold:
            raise UnmaskFailed(f"{answered} site(s) answered the unmask query, fewer than the "
                               f"threshold t={secure.threshold}")
        total = unmask_sum(Unmasking(secure.tag, secure.threshold, secure.mask_keys, vectors,
                                     dropped, seed_shares, key_shares))
        decoded = S.decode_fixed(total, self.fraction_bits)
        check_totals(decoded, self._size, len(TRAIN_METRICS), len(survivors))
        return decoded

    def _finish_sum(self, server_round: int, total: np.ndarray, participants: list[int]
                    ) -> tuple[ArrayRecord, MetricRecord]:
        state, secure = self._state(server_round), self._secure
        assert secure is not None
        previous = [np.asarray(a, dtype=np.float64) for a in state.global_arrays]
        size = self._size
        update, n_total, took_part = total[:size], total[size], total[size + 1]
        shaped, offset = [], 0
        for template in previous:
            shaped.append(update[offset:offset + template.size].reshape(template.shape))
            offset += template.size
        if self.mechanism is not None:
            state.global_arrays = self.mechanism.release(server_round, previous, shaped,
                                                         int(round(took_part)))
        elif n_total > 0:
            state.global_arrays = [s / n_total for s in shaped]
        metrics = {}
        for k, name in enumerate(TRAIN_METRICS):
            weighted, weight = total[size + 2 + 2 * k], total[size + 3 + 2 * k]
            if weight > 0:
                metrics[name] = float(weighted / weight)
        state.train_metrics = metrics
        self.secure_by_round[server_round] = {
            "participants": participants, "num_examples": int(round(n_total)),
            "contributors": int(round(took_part)), "fraction_bits": self.fraction_bits,
            "threshold": secure.threshold, "dropped": [n for n in secure.shared
                                                       if n not in participants]}
        return ArrayRecord(state.global_arrays), MetricRecord(metrics)

    def _check_masked(self, msg: Message, length: int) -> np.ndarray | Rejection:
        node = int(msg.metadata.src_node_id)
        if msg.has_error():
            reason = str(msg.error.reason or "").strip().splitlines()
            return Rejection(node, f"client error (code {msg.error.code}): "
                                   f"{reason[0] if reason else 'no reason given'}")
        info = msg.content.get(P.INFO)
        fingerprint = info.get(P.SPEC_FINGERPRINT) if isinstance(info, ConfigRecord) else None
        if fingerprint is not None and fingerprint != self.spec_fingerprint:
            return Rejection(node, f"spec fingerprint {fingerprint!r} differs from the server's")
        record = msg.content.get(S.MASKED)
        if not isinstance(record, ArrayRecord):
            return Rejection(node, "no masked vector in a secure-aggregation reply")
        arrays = ndarrays(record)
        if len(arrays) != 1 or arrays[0].dtype != np.uint64 or arrays[0].shape != (length,):
            return Rejection(node, f"masked vector must be one uint64 array of length {length}")
        assert self._secure is not None
        if node not in self._secure.shared:
            return Rejection(node, "not among this round's sites that shared their secrets")
        return arrays[0]
