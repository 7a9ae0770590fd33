"""Sample-weighted FedAvg arithmetic, exact and order-independent so an auditor can recompute it.

For parameters w_i (float64) from sites with n_i rows the new global value of every element is
`fsum(n_i * w_i) / sum(n_i)`: each product is one float64 multiplication, `math.fsum` sums
them exactly rounded (so the order of the updates cannot change a bit) and the integer total
divides once. The strategy passes updates sorted by node id all the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def weighted_average(
    weights: Sequence[int], arrays_per_site: Sequence[Sequence[np.ndarray]]
) -> list[np.ndarray]:
    """Element-wise `fsum(n_i * w_i) / sum(n_i)` over sites, one result per array position."""
    if not weights or len(weights) != len(arrays_per_site):
        raise ValueError("need one weight per site and at least one site")
    if any(int(n) <= 0 for n in weights):
        raise ValueError(f"weights must be positive, got {list(weights)}")
    total = sum(int(n) for n in weights)
    result = []
    for position in range(len(arrays_per_site[0])):
        stacked = np.stack([np.asarray(site[position], dtype=np.float64)
                            for site in arrays_per_site])
        products = stacked * np.asarray(weights, dtype=np.float64).reshape(
            (-1,) + (1,) * (stacked.ndim - 1))
        flat = products.reshape(len(weights), -1)
        sums = np.array([math.fsum(flat[:, j].tolist()) for j in range(flat.shape[1])])
        result.append((sums / total).reshape(stacked.shape[1:]))
    return result


def weighted_metrics(
    weights: Sequence[int], metrics_per_site: Sequence[Mapping[str, float]]
) -> dict[str, float]:
    """Sample-weighted mean of each metric over the sites that report it as a finite number."""
    names = sorted({name for metrics in metrics_per_site for name in metrics})
    result = {}
    for name in names:
        pairs = [(int(n), float(m[name])) for n, m in zip(weights, metrics_per_site, strict=True)
                 if name in m and math.isfinite(float(m[name])) and int(n) > 0]
        if pairs:
            total = sum(n for n, _ in pairs)
            result[name] = math.fsum(n * v for n, v in pairs) / total
    return result
