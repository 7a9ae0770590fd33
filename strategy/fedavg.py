"""ChurnFedAvg: Flower's FedAvg with validated replies, exact weighting, seeded sampling and hooks.

Differences from `flwr.serverapp.strategy.FedAvg`, each for a stated reason:

- every reply is checked (`strategy.reply_checks`) and a bad one is dropped with a logged
  reason instead of `InconsistentMessageReplies` ending the run; if no reply survives the
  global model stays as it was for that round;
- `coef` and `intercept` are averaged weighted by `num-examples` with `strategy.aggregation`
  (float64, exactly rounded, updates sorted by node id) so an auditor can recompute them;
- nodes are sampled with a seeded RNG over nodes ordered by partition id, so runs repeat
  on any engine (Flower samples with the unseeded global `random`);
- each round is reported to the observers (`churn.rounds`) with its participants,
  rejections, per-client updates, the new global arrays, metrics and durations.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, Result
from flwr.serverapp.strategy.strategy_utils import sample_nodes

from churn import protocol as P
from churn.federated_eval import federated_summary, with_rows_of
from churn.ndarrays import ndarrays
from churn.rounds import ClientUpdate, Rejection, RoundRecord, SiteEval
from strategy.aggregation import weighted_average, weighted_metrics
from strategy.federated_eval import FederatedEvalSettings, site_eval_of, without_fe_metrics
from strategy.observer_hub import ObserverHub
from strategy.reply_checks import (
    DROPOUT_MARKER,
    check_evaluate_reply,
    check_train_reply,
    node_of,
)

log = logging.getLogger(__name__)


@dataclass
class _RoundState:
    server_round: int
    started: float
    global_arrays: list[np.ndarray]
    sampled_nodes: list[int] = field(default_factory=list)
    updates: list[ClientUpdate] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    missing: list[Rejection] = field(default_factory=list)
    evaluate_rejected: list[Rejection] = field(default_factory=list)
    train_metrics: dict[str, float] = field(default_factory=dict)
    evaluate_metrics: dict[str, float] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    phase_started: float = 0.0
    site_evals: list[SiteEval] = field(default_factory=list)
    site_evals_left_out: list[Rejection] = field(default_factory=list)
    federated_eval: dict | None = None
    sent: list[Message] = field(default_factory=list)  # this round's instructions, all phases


class _StopRun(Exception):
    """Raised after a round whose certificate met `strategy.stop_at_gradient_norm`."""


class ChurnFedAvg(FedAvg):
    """FedAvg for the churn model: [coef (1, d), intercept (1,)] weighted by `num-examples`.

    Subclasses (`strategy.factory` builds them) change one step through the hooks
    `train_content` (what a train message holds), `check_reply` (validation of one reply) and
    `aggregate_updates` (accepted updates -> new global arrays and train metrics); the round
    state, rejections, missing nodes and observers stay here. `aggregation` names the rule
    for observers (the Kafka mirror and its auditor).
    """

    aggregation = "fedavg"

    def __init__(
        self,
        *,
        num_features: int,
        spec_fingerprint: str,
        hub: ObserverHub | None = None,
        node_partitions: dict[int, int] | None = None,
        sampling_seed: int = 0,
        federated_eval: FederatedEvalSettings | None = None,
        **fedavg_kwargs: float | int,
    ) -> None:
        super().__init__(weighted_by_key=P.NUM_EXAMPLES, arrayrecord_key=P.ARRAYS,
                         configrecord_key=P.CONFIG, **fedavg_kwargs)
        self.expected_shapes: list[tuple[int, ...]] = [(1, num_features), (1,)]
        self.spec_fingerprint = spec_fingerprint
        self.hub = hub or ObserverHub()
        self.node_partitions = dict(node_partitions or {})
        self.sampling_seed = sampling_seed
        self.records: list[RoundRecord] = []
        self.federated_eval = federated_eval
        self.stop_reason: str | None = None  # set when the run ended before num_rounds
        self._round: _RoundState | None = None

    # ----- sampling -----------------------------------------------------------------------
    def _sample(self, grid: Grid, fraction: float, min_nodes: int, server_round: int,
                phase: str) -> list[int]:
        size = max(int(len(list(grid.get_node_ids())) * fraction), min_nodes)
        _, all_nodes = sample_nodes(grid, self.min_available_nodes, size)  # waits for nodes
        ordered = sorted(all_nodes, key=lambda n: (self.node_partitions.get(n, 1 << 62), n))
        rng = random.Random(f"{self.sampling_seed}:{phase}:{server_round}")
        chosen = set(rng.sample(ordered, min(size, len(ordered))))
        return [n for n in ordered if n in chosen]

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Sample nodes (seeded) and send them the global arrays and the train config."""
        self._round = _RoundState(server_round, time.perf_counter(), ndarrays(arrays))
        self._round.phase_started = self._round.started
        nodes = ([] if self.fraction_train == 0.0 else
                 self._sample(grid, self.fraction_train, self.min_train_nodes, server_round,
                              "train"))
        self._round.sampled_nodes = nodes
        self.hub.round_started(server_round, nodes)
        config[P.SERVER_ROUND] = server_round
        record = self.train_content(server_round, arrays, config)
        return self._sending(server_round,
                             self._construct_messages(record, nodes, MessageType.TRAIN))

    def train_content(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord
                      ) -> RecordDict:
        """The content of this round's train messages (hook: extra keys or records)."""
        return RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: config})

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Sample nodes (seeded) for client-side evaluation of the new global model."""
        state = self._state(server_round)
        state.phase_started = time.perf_counter()
        if self.fraction_evaluate == 0.0:
            return []
        nodes = self._sample(grid, self.fraction_evaluate, self.min_evaluate_nodes, server_round,
                             "evaluate")
        config[P.SERVER_ROUND] = server_round
        if self.federated_eval is not None:
            self.federated_eval.add_to(config)
        record = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: config})
        return self._sending(server_round,
                             self._construct_messages(record, nodes, MessageType.EVALUATE))

    def _sending(self, server_round: int, messages: Iterable[Message]) -> list[Message]:
        """Keep the instructions of this round so a reply the SuperLink sends in a node's
        place can be traced to that node (`reply_checks.node_of`)."""
        messages = list(messages)
        self._state(server_round).sent.extend(messages)
        return messages

    def _node_of(self, server_round: int, msg: Message) -> int:
        return node_of(msg, self._state(server_round).sent)

    def _attributed(self, server_round: int, msg: Message, rejection: Rejection) -> Rejection:
        """The rejection of `msg` recorded for the node it stands for, with its partition."""
        node = self._node_of(server_round, msg)
        if node != rejection.node_id:
            rejection = replace(rejection, node_id=node, partition_id=None)
        return self._with_partition(rejection)

    # ----- aggregation --------------------------------------------------------------------
    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Validate, then aggregate the accepted updates; (None, None) if none is accepted.

        Sampled nodes that sent nothing (or, on Flower's simulation engine, raised the
        simulated dropout of `clients.behaviour`) are recorded as `missing`, not rejected.
        """
        state = self._state(server_round)
        replies = sorted(replies, key=lambda m: m.metadata.src_node_id)
        for msg in replies:
            if msg.has_error() and DROPOUT_MARKER in str(msg.error.reason or ""):
                state.missing.append(self._with_partition(Rejection(
                    int(msg.metadata.src_node_id),
                    "no reply (simulated dropout, reported as an error by this engine)")))
                continue
            outcome = self.check_reply(msg)
            if isinstance(outcome, Rejection):
                state.rejected.append(self._attributed(server_round, msg, outcome))
            else:
                if outcome.partition_id is None:
                    outcome.partition_id = self.node_partitions.get(outcome.node_id)
                state.updates.append(outcome)
        answered = {self._node_of(server_round, m) for m in replies}
        state.missing += [self._with_partition(Rejection(n, "no reply before the timeout"))
                          for n in state.sampled_nodes if n not in answered]
        for rejection in state.rejected + state.missing:
            log.warning("round %d: dropped node %d (partition %s): %s", server_round,
                        rejection.node_id, rejection.partition_id, rejection.reason)
        state.durations["train"] = time.perf_counter() - state.phase_started
        if not state.updates:
            log.warning("round %d: no usable update; the global model is unchanged", server_round)
            return None, None
        state.global_arrays, state.train_metrics = self.aggregate_updates(server_round,
                                                                          state.updates)
        return ArrayRecord(state.global_arrays), MetricRecord(state.train_metrics)

    def check_reply(self, msg: Message) -> ClientUpdate | Rejection:
        """One train reply -> an accepted update or a Rejection (hook)."""
        return check_train_reply(msg, self.expected_shapes, self.spec_fingerprint)

    def aggregate_updates(self, server_round: int, updates: list[ClientUpdate]
                          ) -> tuple[list[np.ndarray], dict[str, float]]:
        """New global [coef, intercept] and train metrics from the accepted updates (hook);
        here the exact sample-weighted average (`strategy.aggregation`)."""
        weights = [u.num_examples for u in updates]
        return (weighted_average(weights, [u.arrays for u in updates]),
                weighted_metrics(weights, [u.metrics for u in updates]))

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        """Sample-weighted mean of the usable client evaluation metrics."""
        state = self._state(server_round)
        weights, metrics = [], []
        for msg in sorted(replies, key=lambda m: m.metadata.src_node_id):
            outcome = check_evaluate_reply(msg, self.spec_fingerprint)
            if isinstance(outcome, Rejection):
                outcome = self._attributed(server_round, msg, outcome)
                state.evaluate_rejected.append(outcome)
                log.info("round %d: evaluation of node %d not used: %s", server_round,
                         outcome.node_id, outcome.reason)
                continue
            weights.append(outcome[0])
            metrics.append(without_fe_metrics(outcome[1]))
            if self.federated_eval is not None:
                self._add_site_eval(server_round, msg, outcome)
        if self.federated_eval is not None and state.site_evals:
            state.federated_eval = with_rows_of(federated_summary(
                state.site_evals, state.global_arrays, self.federated_eval.C,
                self.federated_eval.bins), state.evaluate_rejected + state.site_evals_left_out)
        state.durations["evaluate"] = time.perf_counter() - state.phase_started
        state.evaluate_metrics = weighted_metrics(weights, metrics) if weights else {}
        return MetricRecord(state.evaluate_metrics) if state.evaluate_metrics else None

    def _add_site_eval(self, server_round: int, msg: Message,
                       outcome: tuple[int, dict[str, float], int | None]) -> None:
        if self.federated_eval is None:
            return
        num_examples, metrics, partition_id = outcome
        if partition_id is None:
            partition_id = self.node_partitions.get(int(msg.metadata.src_node_id))
        state = self._state(server_round)
        num_features = int(np.shape(state.global_arrays[0])[1])
        site = site_eval_of(msg, num_examples, metrics, partition_id, self.federated_eval.bins,
                            num_features)
        if isinstance(site, str):
            log.warning("round %d: node %d left out of the pooled evaluation: %s", server_round,
                        msg.metadata.src_node_id, site)
            state.site_evals_left_out.append(Rejection(int(msg.metadata.src_node_id),
                                                       f"left out of the pooled evaluation: {site}",
                                                       partition_id))
            return
        state.site_evals.append(site)

    # ----- the run ------------------------------------------------------------------------
    def start(
        self,
        grid: Grid,
        initial_arrays: ArrayRecord,
        num_rounds: int = 3,
        timeout: float = 3600,
        train_config: ConfigRecord | None = None,
        evaluate_config: ConfigRecord | None = None,
        evaluate_fn: Callable[[int, ArrayRecord], MetricRecord | None] | None = None,
    ) -> Result:
        """Flower's round loop; after each round's server-side evaluation the round is
        reported to the observers (also without `evaluate_fn`)."""

        def evaluate_and_report(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
            metrics = evaluate_fn(server_round, arrays) if evaluate_fn else None
            if server_round > 0:
                self._finish_round(server_round, dict(metrics) if metrics else {})
            return metrics

        try:
            return super().start(grid, initial_arrays, num_rounds, timeout, train_config,
                                 evaluate_config, evaluate_and_report)
        except _StopRun:
            log.info("%s", self.stop_reason)
            return Result(arrays=ArrayRecord([a.copy() for a in self.records[-1].global_arrays]))

    def _finish_round(self, server_round: int, server_metrics: dict[str, float]) -> None:
        state = self._state(server_round)
        state.durations["round"] = time.perf_counter() - state.started
        record = RoundRecord(
            server_round=server_round, sampled_nodes=state.sampled_nodes,
            updates=state.updates, rejected=state.rejected, missing=state.missing,
            aggregation=self.aggregation,
            global_arrays=[a.copy() for a in state.global_arrays],
            train_metrics=state.train_metrics, evaluate_metrics=state.evaluate_metrics,
            server_metrics={k: float(v) for k, v in server_metrics.items()},
            durations=state.durations, evaluate_rejected=state.evaluate_rejected,
            federated_eval=state.federated_eval, site_evals=state.site_evals,
        )
        self.records.append(record)
        self.hub.round_finished(record)
        self._round = None
        if self.federated_eval is not None and state.federated_eval:
            self.stop_reason = self.federated_eval.stop_reason(state.federated_eval,
                                                               server_round)
            if self.stop_reason:
                raise _StopRun(self.stop_reason)

    def _state(self, server_round: int) -> _RoundState:
        if self._round is None or self._round.server_round != server_round:
            raise RuntimeError(f"round {server_round} was not configured by this strategy")
        return self._round

    def _with_partition(self, rejection: Rejection) -> Rejection:
        if rejection.partition_id is None:
            rejection.partition_id = self.node_partitions.get(rejection.node_id)
        return rejection
