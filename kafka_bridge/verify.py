"""Audit of one run's events: seq gaps, digests, counts, and the recomputed aggregation per round.

The rule comes from the round's `aggregation` field (default: the run config's strategy,
FedAvg when absent): FedAvg/FedProx rounds are recomputed as the weighted average, median /
trimmed mean / Krum by `kafka_bridge.verify_rules`; Newton rounds carry gradients and
Hessians, not weights, so only their digests and counts are checked (and the run says so).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kafka_bridge.events import Event
from kafka_bridge.round_checks import RoundEvents, RoundVerdict, ValueCheck, check_round
from kafka_bridge.verify_federated import FederatedAudit, check_federated_round
from kafka_bridge.verify_private import PrivateAudit
from kafka_bridge.verify_rules import ROBUST, WEIGHTED, expected_global

TOLERANCE = 1e-12
TERMINAL = {"run_finished": "finished", "run_failed": "failed"}


def weighted_average(updates: list[tuple[int, int, list[np.ndarray]]]) -> list[np.ndarray]:
    """FedAvg as the strategy computes it (independent re-implementation, same arithmetic).

    Per element: `math.fsum(n_i * w_i) / sum(n_i)` in float64, each product one float64
    multiplication, fsum exactly rounded (so the order of the updates cannot change a bit),
    one division by the integer total. `updates` are (node_id, num_examples, [coef, intercept]).
    """
    ordered = sorted(updates, key=lambda u: u[0])
    if not ordered or any(int(n) <= 0 for _, n, _ in ordered):
        raise ValueError("need at least one update, each with num_examples > 0")
    total = sum(int(n) for _, n, _ in ordered)
    weights = np.asarray([int(n) for _, n, _ in ordered], dtype=np.float64)
    result = []
    for position in range(len(ordered[0][2])):
        stacked = np.stack([np.asarray(u[2][position], dtype=np.float64) for u in ordered])
        products = (stacked * weights.reshape((-1,) + (1,) * (stacked.ndim - 1)))
        flat = products.reshape(len(ordered), -1)
        sums = np.array([math.fsum(flat[:, j].tolist()) for j in range(flat.shape[1])])
        result.append((sums / total).reshape(stacked.shape[1:]))
    return result


@dataclass
class RunVerdict:
    """Whole-run audit result; `ok` decides the CLI exit code."""

    run_id: str
    status: str = "incomplete"
    public_key: str | None = None  # the key that signed the run (schema v2)
    events: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rounds: list[RoundVerdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if no run-level problem and every round verified."""
        return not self.problems and all(r.ok for r in self.rounds)


def _check_envelope(v: RunVerdict, events: list[Event]) -> list[Event]:
    unique: dict[str, Event] = {}
    for e in events:
        first = unique.setdefault(e.event_id, e)
        if first is not e and first.to_bytes() != e.to_bytes():
            v.problems.append(f"event {e.event_id} (seq {e.seq}) exists in differing copies")
    v.duplicates = len(events) - len(unique)
    by_seq: dict[int, list[Event]] = defaultdict(list)
    for e in unique.values():
        by_seq[e.seq].append(e)
        if e.run_id != v.run_id:
            v.problems.append(f"event {e.event_id} belongs to run {e.run_id}")
    for seq, group in sorted(by_seq.items()):
        if len(group) > 1:
            v.problems.append(f"seq {seq} is used by {len(group)} different events")
    ordered = sorted(unique.values(), key=lambda e: e.seq)
    v.events = len(ordered)
    missing = sorted(set(range(max(by_seq) + 1)) - set(by_seq)) if by_seq else []
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        v.problems.append(f"seq gap: {len(missing)} missing ({shown})")
    if not ordered or ordered[0].type != "run_started" or ordered[0].seq != 0:
        v.problems.append("the run does not begin with run_started at seq 0")
    terminal = [e for e in ordered if e.type in TERMINAL]
    if terminal:
        v.status = TERMINAL[terminal[0].type]
        if terminal[0] is not ordered[-1]:
            v.problems.append(f"events after {terminal[0].type} (seq {terminal[0].seq})")
    return ordered


def average_check(mirrored: bool, strategy: dict[str, Any]) -> ValueCheck:
    """The value check of a plain run: the global model recomputed from the mirrored updates
    (the weighted average, or the robust rule of `verify_rules`) within TOLERANCE."""
    default_rule = {"fedprox": "fedavg"}.get(str(strategy.get("name")), strategy.get("name"))

    def check(rv: RoundVerdict, round_: RoundEvents) -> None:
        aggregation = str(round_.aggregate.get("aggregation", default_rule or "fedavg"))
        if not round_.updates:
            rv.average = "n/a"
        elif aggregation not in WEIGHTED + ROBUST:
            rv.average = f"not checked ({aggregation})"
        elif len(round_.mirrored) < len(round_.updates):
            rv.average = "not mirrored" if not mirrored or not round_.mirrored else "MISSING"
            if round_.mirrored:
                rv.problems.append("some client updates carry values, some do not")
        elif round_.global_arrays is not None:
            try:
                expected = (weighted_average(round_.mirrored) if aggregation in WEIGHTED
                            else expected_global(aggregation, strategy, round_.mirrored))
                rv.max_abs_diff = max(float(np.max(np.abs(x - y), initial=0.0)) for x, y
                                      in zip(expected, round_.global_arrays, strict=True))
                rv.average = "ok" if rv.max_abs_diff <= TOLERANCE else "MISMATCH"
            except ValueError as exc:  # shapes differ, or no examples
                rv.average, rv.max_abs_diff = "MISMATCH", float("inf")
                rv.problems.append(f"cannot average: {exc}")
            if rv.average == "MISMATCH" and rv.max_abs_diff != float("inf"):
                rule = "weighted average" if aggregation in WEIGHTED else aggregation
                rv.problems.append(f"global model != {rule} (max|diff|={rv.max_abs_diff:.3g})")

    return check


def verify_events(events: list[Event], run_id: str | None = None,
                  allow_incomplete: bool = False, public_key: str | None = None) -> RunVerdict:
    """Verify one run's events (any order, duplicates allowed) and return the verdict.

    `public_key` (hex): the deployment key the run must be signed with (see verify_chain).
    """
    run_id = run_id or (events[0].run_id if events else "?")
    v = RunVerdict(run_id=run_id)
    if not events:
        v.problems.append("no events for this run")
        return v
    ordered = _check_envelope(v, events)
    from kafka_bridge.verify_chain import check_chain

    chain = check_chain(ordered, public_key)
    v.public_key = chain.public_key
    v.problems.extend(chain.problems)
    v.notes.extend(chain.notes)
    started = next((e for e in ordered if e.type == "run_started"), None)
    mirrored = bool(started and started.payload.get("mirror_client_updates", True))
    config = started.payload.get("config") if started else None
    strategy = config.get("strategy") if isinstance(config, dict) else None
    strategy = strategy if isinstance(strategy, dict) else {}
    private = PrivateAudit.from_started(started)  # privacy=dp / secure=secagg: other checks
    check_values = private.check_values if private else average_check(mirrored, strategy)
    per_round: dict[int, list[Event]] = defaultdict(list)
    for e in ordered:
        if e.round is not None:
            per_round[e.round].append(e)
    for r, group in sorted(per_round.items()):
        if not any(e.type == "round_aggregated" for e in group):
            if v.status == "incomplete":
                v.notes.append(f"round {r} has not been aggregated yet")
                continue
            if not any(e.type == "client_update" for e in group):
                v.notes.append(f"round {r} ended without an aggregation (no accepted update)")
                continue
        try:
            v.rounds.append(check_round(r, group, check_values,
                                        sums_only=private is not None and private.secure))
        except Exception as exc:  # noqa: BLE001 - adversarial input must not crash the audit
            v.rounds.append(RoundVerdict(round=r, problems=[f"cannot check: {exc!r}"]))
    federated = FederatedAudit()
    for e in ordered:
        if e.type == "round_aggregated":
            check_federated_round(federated, e)
    for rv in v.rounds:
        rv.problems.extend(federated.problems.get(rv.round, []))
    v.notes.extend(federated.notes())
    if private is not None:
        v.notes.extend(private.notes)
    unchecked = {rv.round: rv.average[13:-1] for rv in v.rounds
                 if rv.average.startswith("not checked (")}
    if unchecked:
        v.notes.append(f"rounds {sorted(unchecked)}: {sorted(set(unchecked.values()))} is not a "
                       "weighted average of weights: checked digests and counts only")
    if not mirrored:
        v.notes.append("client updates were mirrored as digests only "
                       "(mirror_client_updates=false): the weighted averages and the update "
                       "digests could NOT be recomputed; global digests, seq and counts were")
    if v.status == "incomplete":
        msg = "run has no run_finished/run_failed event (still running or truncated)"
        (v.notes if allow_incomplete else v.problems).append(msg)
    return v
