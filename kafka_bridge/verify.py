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

import numpy as np

from kafka_bridge.events import Event, array_digest, decode_arrays
from kafka_bridge.verify_federated import FederatedAudit, check_federated_round
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
class RoundVerdict:
    """What was checked for one round and how it came out."""

    round: int
    updates: int = 0
    rejected: int = 0  # train replies dropped
    eval_rejected: int = 0  # evaluate replies not used
    digests: str = "-"  # "ok" | "N bad" | "-"
    average: str = "-"  # "ok" | "MISMATCH" | "not mirrored" | "n/a"
    max_abs_diff: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if nothing in this round failed."""
        return not self.problems


@dataclass
class RunVerdict:
    """Whole-run audit result; `ok` decides the CLI exit code."""

    run_id: str
    status: str = "incomplete"
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


def _check_round(r: int, events: list[Event], mirrored: bool,
                 strategy: dict | None = None) -> RoundVerdict:
    rv = RoundVerdict(round=r)
    updates = [e for e in events if e.type == "client_update"]
    rejections = [e for e in events if e.type == "reply_rejected"
                  and e.payload["phase"] == "train"]
    eval_rejections = len([e for e in events if e.type == "reply_rejected"]) - len(rejections)
    aggregated = [e for e in events if e.type == "round_aggregated"]
    rv.updates, rv.rejected, rv.eval_rejected = len(updates), len(rejections), eval_rejections
    bad = 0
    arrays_of: list[tuple[int, int, list[np.ndarray]]] = []
    nodes = [u.payload["node_id"] for u in updates]
    if len(set(nodes)) != len(nodes):
        rv.problems.append("a node has more than one accepted update")
    for u in updates:
        try:
            arrays = decode_arrays(u.payload)
        except ValueError as exc:
            rv.problems.append(f"node {u.payload['node_id']}: arrays unreadable ({exc})")
            continue
        if arrays is None:
            continue
        if array_digest(arrays) != u.payload["digest"]:
            bad += 1
            rv.problems.append(f"node {u.payload['node_id']}: update digest mismatch")
        arrays_of.append((u.payload["node_id"], u.payload["num_examples"], arrays))
    if len(aggregated) != 1:
        rv.problems.append(f"{len(aggregated)} round_aggregated events (expected 1)")
        rv.digests = f"{bad} bad" if bad else "ok"
        return rv
    agg = aggregated[0].payload
    strategy = strategy or {}
    default_rule = {"fedprox": "fedavg"}.get(str(strategy.get("name")), strategy.get("name"))
    aggregation = str(agg.get("aggregation", default_rule or "fedavg"))
    try:
        global_arrays = decode_arrays(agg)
    except ValueError as exc:
        rv.problems.append(f"global arrays unreadable ({exc})")
        global_arrays = None
    if global_arrays is None or array_digest(global_arrays) != agg["digest"]:
        bad += 1
        rv.problems.append("global model digest mismatch")
    rv.digests = f"{bad} bad" if bad else "ok"
    if sorted(agg["participants"]) != sorted(nodes):
        rv.problems.append(f"participants {agg['participants']} != updates from {sorted(nodes)}")
    if agg["rejected"] != len(rejections):
        rv.problems.append(f"rejected={agg['rejected']} but {len(rejections)} train rejections")
    if agg["evaluate_rejected"] != eval_rejections:
        rv.problems.append(f"evaluate_rejected={agg['evaluate_rejected']} but "
                           f"{eval_rejections} evaluate rejections")
    if agg["num_examples"] != sum(u.payload["num_examples"] for u in updates):
        rv.problems.append("num_examples differs from the sum over the updates")
    if not updates:
        rv.average = "n/a"
    elif aggregation not in WEIGHTED + ROBUST:
        rv.average = f"not checked ({aggregation})"
    elif len(arrays_of) < len(updates):
        rv.average = "not mirrored" if not mirrored or not arrays_of else "MISSING"
        if arrays_of:
            rv.problems.append("some client updates carry values, some do not")
    elif global_arrays is not None:
        try:
            expected = (weighted_average(arrays_of) if aggregation in WEIGHTED
                        else expected_global(aggregation, strategy, arrays_of))
            rv.max_abs_diff = max(float(np.max(np.abs(x - y), initial=0.0))
                                  for x, y in zip(expected, global_arrays, strict=True))
            rv.average = "ok" if rv.max_abs_diff <= TOLERANCE else "MISMATCH"
        except ValueError as exc:  # shapes differ, or no examples
            rv.average, rv.max_abs_diff = "MISMATCH", float("inf")
            rv.problems.append(f"cannot average: {exc}")
        if rv.average == "MISMATCH" and rv.max_abs_diff != float("inf"):
            rule = "weighted average" if aggregation in WEIGHTED else aggregation
            rv.problems.append(f"global model != {rule} (max|diff|={rv.max_abs_diff:.3g})")
    return rv


def verify_events(events: list[Event], run_id: str | None = None,
                  allow_incomplete: bool = False) -> RunVerdict:
    """Verify one run's events (any order, duplicates allowed) and return the verdict."""
    run_id = run_id or (events[0].run_id if events else "?")
    v = RunVerdict(run_id=run_id)
    if not events:
        v.problems.append("no events for this run")
        return v
    ordered = _check_envelope(v, events)
    started = next((e for e in ordered if e.type == "run_started"), None)
    mirrored = bool(started and started.payload.get("mirror_client_updates", True))
    config = started.payload.get("config") if started else None
    strategy = config.get("strategy") if isinstance(config, dict) else None
    strategy = strategy if isinstance(strategy, dict) else {}
    from kafka_bridge.verify_private import PrivateAudit

    private = PrivateAudit.from_started(started)  # privacy=dp / secure=secagg: other checks
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
            v.rounds.append(private.check_round(r, group) if private
                            else _check_round(r, group, mirrored, strategy))
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
