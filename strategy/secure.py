"""Secure aggregation (`secure=secagg`): the server sums pairwise-masked vectors, never one update.

Design (why not Flower's SecAgg+): `SecAggPlusWorkflow` + `secaggplus_mod` still exist in
flwr 1.42, and the workflow takes the same `flwr.serverapp.Grid` our in-process engine
implements, but they need a `LegacyContext` with a legacy `flwr.server.strategy.Strategy`
(Parameters / FitRes) and a legacy-style client answering `fitins`; ChurnFedAvg (Message
API: reply validation, seeded sampling, observers) would have to be rewritten twice. Instead
this strategy keeps ChurnFedAvg and adds one key-agreement message exchange per round,
with the primitives of the `cryptography` package (see clients.secure):

1. after sampling, the server asks each sampled site for a fresh X25519 public key and sends
   the train message with the table of keys of the sites that answered;
2. each site returns only masked_i = v_i + Σ_{j>i} PRG_ij - Σ_{j<i} PRG_ij mod 2^64, with
   v_i = fixed point of [n_i * coef, n_i * intercept, n_i, took_part, n_i-weighted metrics]
   (or, with privacy=dp, of the clipped delta: the server then adds the DP noise to the sum);
3. the masks cancel in Σ_i masked_i, so the server learns Σ n_i w_i and Σ n_i, divides, and
   gets FedAvg up to the 2^-F rounding (F = 32 by default).

Threat model: an honest-but-curious server that relays the public keys faithfully and does
not collude with sites; a site's vector stays hidden unless the server learns the masks it
shares with every other site of the round. Not built (SecAgg+'s extra steps): Shamir shares
for dropout recovery (a site that gets its keys but sends no vector aborts the round, and the
global model stays as it was), authenticated keys against a malicious server, and masking of
client-side evaluation metrics (their per-site evaluation replies are still plain).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy.strategy_utils import sample_nodes
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from churn import protocol as P
from churn import secure_protocol as S
from churn.privacy_accounting import DPSettings
from churn.rounds import Rejection
from strategy.fedavg import ChurnFedAvg
from strategy.privacy import DPMechanism, StampingHub

log = logging.getLogger(__name__)
TRAIN_METRICS = ("train-log-loss", "train-auc", "train-accuracy")  # clients.local_training


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
        self.extra_train_config = dict(extra_train_config or {})
        self.secure_by_round: dict[int, dict[str, Any]] = {}
        self.received: list[Message] = []  # what aggregate_train was handed (tests inspect it)
        self._config: ConfigRecord | None = None
        self._peers: list[int] = []
        self._size = 0  # parameters in [coef, intercept]
        stamps = {"secure": self.secure_by_round}
        if self.mechanism is not None:
            stamps["privacy"] = self.mechanism.by_round
        self.hub = StampingHub(self.hub, stamps)

    # ----- sampling + key agreement ----------------------------------------------------------
    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Train messages to the sampled sites that sent a public key, with the key table."""
        if self.mechanism is not None:
            config[KEY_CLIPPING_NORM] = self.mechanism.dp.clipping_norm
        for key, value in self.extra_train_config.items():
            config[key] = value
        self._config, self._size = config, sum(np.asarray(a).size for a in arrays.to_numpy_ndarrays())
        return super().configure_train(server_round, arrays, config, grid)

    def _sample(self, grid: Grid, fraction: float, min_nodes: int, server_round: int,
                phase: str) -> list[int]:
        if phase != "train":
            return super()._sample(grid, fraction, min_nodes, server_round, phase)
        if self.mechanism is not None:
            _, all_nodes = sample_nodes(grid, self.min_available_nodes, 0)
            nodes = self.mechanism.sample(
                sorted(all_nodes, key=lambda n: (self.node_partitions.get(n, 1 << 62), n)))
        else:
            nodes = super()._sample(grid, fraction, min_nodes, server_round, phase)
        return self._agree_keys(grid, server_round, nodes)

    def _agree_keys(self, grid: Grid, server_round: int, nodes: list[int]) -> list[int]:
        tag = f"{grid.run.run_id}:{server_round}:{time.time_ns()}"
        request = RecordDict({P.CONFIG: ConfigRecord({S.ROUND_TAG: tag,
                                                      P.SERVER_ROUND: server_round})})
        replies = grid.send_and_receive(self._construct_messages(request, nodes, S.QUERY_KEYS),
                                        timeout=self.key_timeout) if nodes else []
        table: dict[int, bytes] = {}
        for msg in replies:
            info = None if msg.has_error() else msg.content.get(P.INFO)
            key = info.get(S.PUBLIC_KEY) if isinstance(info, ConfigRecord) else None
            if isinstance(key, bytes) and len(key) == 32:
                table[int(msg.metadata.src_node_id)] = key
        state = self._state(server_round)
        for node in nodes:
            if node not in table:
                state.rejected.append(self._with_partition(Rejection(
                    node, "no public key for secure aggregation (left out of this round)")))
        self._peers = sorted(table)
        config = self._config if self._config is not None else ConfigRecord()
        config[S.ROUND_TAG] = tag
        config[S.PEERS] = self._peers
        config[S.PUBLIC_KEYS] = [table[n] for n in self._peers]
        config[S.FRACTION_BITS] = self.fraction_bits
        config[S.METRIC_NAMES] = list(TRAIN_METRICS)
        return [n for n in nodes if n in table]

    # ----- aggregation of masked vectors ------------------------------------------------------
    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Sum the masked vectors of every site in the key table; abort if one is missing."""
        state = self._state(server_round)
        replies = sorted(replies, key=lambda m: m.metadata.src_node_id)
        self.received.extend(replies)
        length = S.vector_length(self._size, len(TRAIN_METRICS))
        vectors: dict[int, np.ndarray] = {}
        for msg in replies:
            outcome = self._check_masked(msg, length)
            if isinstance(outcome, Rejection):
                state.rejected.append(self._with_partition(outcome))
            else:
                vectors[int(msg.metadata.src_node_id)] = outcome
        state.durations["train"] = time.perf_counter() - state.phase_started
        absent = [n for n in self._peers if n not in vectors]
        if absent:
            for node in absent:
                if not any(r.node_id == node for r in state.rejected):
                    state.rejected.append(self._with_partition(Rejection(node, "no reply")))
            log.warning("round %d: secure aggregation aborted: %d site(s) of the key table sent "
                        "no masked vector, so the masks cannot cancel; the global model is "
                        "unchanged", server_round, len(absent))
            return None, None
        if not vectors:
            return None, None
        total = np.zeros(length, dtype=np.uint64)
        for node in sorted(vectors):
            total = total + vectors[node]  # mod 2^64
        return self._finish_sum(server_round, S.decode_fixed(total, self.fraction_bits),
                                sorted(vectors))

    def _finish_sum(self, server_round: int, total: np.ndarray, participants: list[int]
                    ) -> tuple[ArrayRecord, MetricRecord]:
        state = self._state(server_round)
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
            "contributors": int(round(took_part)), "fraction_bits": self.fraction_bits}
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
        arrays = record.to_numpy_ndarrays()
        if len(arrays) != 1 or arrays[0].dtype != np.uint64 or arrays[0].shape != (length,):
            return Rejection(node, f"masked vector must be one uint64 array of length {length}")
        if node not in self._peers:
            return Rejection(node, "not in this round's key table")
        return arrays[0]
