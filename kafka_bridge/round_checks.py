"""The audit's checks of one round: its events, digests and counts, then the value check of the
run's kind (the recomputed aggregation in `verify`, DP noise / secure sums in `verify_private`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kafka_bridge.events import Event, array_digest, decode_arrays

Update = tuple[int, int, list[np.ndarray]]  # (node_id, num_examples, [coef, intercept])


@dataclass
class RoundVerdict:
    """What was checked for one round and how it came out."""

    round: int
    updates: int = 0
    rejected: int = 0  # train replies dropped
    eval_rejected: int = 0  # evaluate replies not used
    digests: str = "-"  # "ok" | "N bad" | "-"
    average: str = "-"  # "ok" | "MISMATCH" | "not mirrored" | "n/a" | DP / secure wording
    max_abs_diff: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if nothing in this round failed."""
        return not self.problems


@dataclass
class RoundEvents:
    """One round's events by kind, with what the value check needs already decoded."""

    updates: list[Event]  # accepted client updates
    aggregate: dict[str, Any]  # the payload of the one round_aggregated event
    global_arrays: list[np.ndarray] | None  # None when unreadable
    mirrored: list[Update]  # updates that carry values, digest-checked, in event order


ValueCheck = Callable[[RoundVerdict, RoundEvents], None]


def check_round(r: int, events: list[Event], check_values: ValueCheck,
                sums_only: bool = False) -> RoundVerdict:
    """Verdict of round `r`: one round_aggregated, readable arrays whose digests match,
    participants and counts that agree with the other events, then `check_values`.
    `sums_only` (secure aggregation): no per-client update exists to compare counts with."""
    rv = RoundVerdict(round=r)
    updates = [e for e in events if e.type == "client_update"]
    rejected = [e for e in events if e.type == "reply_rejected"]
    rv.updates = len(updates)
    rv.rejected = sum(e.payload["phase"] == "train" for e in rejected)
    rv.eval_rejected = len(rejected) - rv.rejected
    nodes = [u.payload["node_id"] for u in updates]
    if len(set(nodes)) != len(nodes):
        rv.problems.append("a node has more than one accepted update")
    bad = 0
    mirrored: list[Update] = []
    for u in updates:
        try:
            arrays = decode_arrays(u.payload)
        except ValueError as exc:
            rv.problems.append(f"node {u.payload['node_id']}: arrays unreadable ({exc})")
            continue
        if arrays is None:  # mirrored as a digest only
            continue
        if array_digest(arrays) != u.payload["digest"]:
            bad += 1
            rv.problems.append(f"node {u.payload['node_id']}: update digest mismatch")
        mirrored.append((u.payload["node_id"], u.payload["num_examples"], arrays))
    aggregated = [e for e in events if e.type == "round_aggregated"]
    if len(aggregated) != 1:
        rv.problems.append(f"{len(aggregated)} round_aggregated events (expected 1)")
        rv.digests = f"{bad} bad" if bad else "ok"
        return rv
    agg = aggregated[0].payload
    try:
        global_arrays = decode_arrays(agg)
    except ValueError as exc:
        rv.problems.append(f"global arrays unreadable ({exc})")
        global_arrays = None
    if global_arrays is None or array_digest(global_arrays) != agg["digest"]:
        bad += 1
        rv.problems.append("global model digest mismatch")
    rv.digests = f"{bad} bad" if bad else "ok"
    if not sums_only:
        if sorted(agg["participants"]) != sorted(nodes):
            rv.problems.append(f"participants {agg['participants']} != updates from "
                               f"{sorted(nodes)}")
        if agg["num_examples"] != sum(u.payload["num_examples"] for u in updates):
            rv.problems.append("num_examples differs from the sum over the updates")
    if agg["rejected"] != rv.rejected:
        rv.problems.append(f"rejected={agg['rejected']} but {rv.rejected} train rejections")
    if agg["evaluate_rejected"] != rv.eval_rejected:
        rv.problems.append(f"evaluate_rejected={agg['evaluate_rejected']} but "
                           f"{rv.eval_rejected} evaluate rejections")
    check_values(rv, RoundEvents(updates, agg, global_arrays, mirrored))
    return rv
