"""The auditor's own versions of the non-FedAvg aggregation rules (round payload `aggregation`).

Independent of `strategy.robust` (plain numpy, exact distances), so a wrong strategy cannot
vouch for itself. `expected_global` returns the global [coef, intercept] a rule gives for the
mirrored updates, or None where the mirror cannot support a recomputation: "newton" rounds
carry gradients and Hessians (mirrored as digests only), not weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

WEIGHTED = ("fedavg",)  # FedAvg and FedProx: the sample-weighted average
ROBUST = ("median", "trimmed_mean", "krum")
Update = tuple[int, int, list[np.ndarray]]  # (node_id, num_examples, [coef, intercept])


def _stack(updates: list[Update], position: int) -> np.ndarray:
    return np.stack([np.asarray(u[2][position], dtype=np.float64) for u in updates])


def median(updates: list[Update]) -> list[np.ndarray]:
    """Element-wise median over the updates."""
    return [np.median(_stack(updates, k), axis=0) for k in range(len(updates[0][2]))]


def trimmed_mean(updates: list[Update], beta: float) -> list[np.ndarray]:
    """Element-wise mean after dropping floor(beta * n) lowest and highest values."""
    n = len(updates)
    cut = int(beta * n)
    return [np.mean(np.sort(_stack(updates, k), axis=0)[cut:n - cut], axis=0)
            for k in range(len(updates[0][2]))]


def krum(updates: list[Update], num_malicious: int, num_selected: int) -> list[np.ndarray]:
    """Keep the m update(s) with the least summed squared distance to their n - f - 2 nearest
    others (m = `num_selected`, 0 meaning n - f), then their sample-weighted average (fsum)."""
    flat = np.stack([np.concatenate([np.ravel(a) for a in u[2]]) for u in updates])
    distances = np.array([[float(np.sum((x - y) ** 2)) for y in flat] for x in flat])
    closest = max(1, len(updates) - num_malicious - 2)
    scores = [float(np.sum(np.sort(row)[1:closest + 1])) for row in distances]
    m = num_selected or len(updates) - num_malicious
    keep = sorted(np.argsort(scores, kind="stable")[:max(1, min(m, len(updates)))])
    kept = [updates[i] for i in keep]
    total = sum(u[1] for u in kept)
    return [np.array([math.fsum(u[1] * float(v) for u, v in zip(kept, column, strict=True))
                      for column in _stack(kept, k).reshape(len(kept), -1).T]
                     ).reshape(np.shape(kept[0][2][k])) / total
            for k in range(len(kept[0][2]))]


def expected_global(aggregation: str, options: Mapping[str, Any], updates: list[Update]
                    ) -> list[np.ndarray] | None:
    """The global model the named robust rule gives (`options`: the run's strategy config);
    None for rules the mirror cannot recompute (newton, unknown names)."""
    ordered = sorted(updates, key=lambda u: u[0])
    if aggregation == "median":
        return median(ordered)
    if aggregation == "trimmed_mean":
        return trimmed_mean(ordered, float(options.get("beta", 0.2)))
    if aggregation == "krum":
        return krum(ordered, int(options.get("num_malicious_nodes", 1)),
                    int(options.get("num_nodes_to_select", 0)))
    return None
