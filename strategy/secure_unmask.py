"""Server side of secure=secagg's last step: shares -> secrets -> the unmasked sum, with checks.

Σ_{u ∈ survivors} y_u = Σ v_u + Σ_u PRG(b_u) + Σ_{u, d dropped} ±PRG(s_ud), because the pairwise
masks between two survivors cancel. The server rebuilds each survivor's b_u and each dropped
site's s_sk_d from t or more shares (churn.shamir), subtracts those masks, and checks that a
rebuilt s_sk_d matches the public key the site sent, and that the totals are plausible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from churn import secure_crypto as C
from churn import secure_protocol as S
from churn.shamir import combine


class UnmaskFailed(ValueError):
    """The sum cannot be unmasked (the round is aborted with this reason)."""


@dataclass(frozen=True)
class Unmasking:
    """What the server holds after the unmask query of one round."""

    tag: str
    threshold: int
    mask_keys: Mapping[int, bytes]  # node -> s_pk from the key table
    vectors: Mapping[int, np.ndarray]  # survivor -> masked vector y_u
    dropped: Sequence[int]
    seed_shares: Mapping[int, Mapping[int, int]]  # survivor -> {x of holder: share of b_u}
    key_shares: Mapping[int, Mapping[int, int]]  # dropped -> {x of holder: share of s_sk_d}


def unmask_sum(u: Unmasking) -> np.ndarray:
    """Σ v_u over the survivors (uint64, still fixed point); UnmaskFailed on any mismatch."""
    survivors = sorted(u.vectors)
    length = len(next(iter(u.vectors.values())))
    total = np.zeros(length, dtype=np.uint64)
    for node in survivors:
        total = total + u.vectors[node]
    try:
        for node in survivors:
            seed = combine(u.seed_shares.get(node, {}), u.threshold)
            total = total - C.self_mask(seed, u.tag, node, length)
        for gone in u.dropped:
            private = combine(u.key_shares.get(gone, {}), u.threshold)
            if C.public_of(private) != u.mask_keys[gone]:
                raise UnmaskFailed(f"the mask key rebuilt for dropped node {gone} does not match "
                                   "its public key (inconsistent shares)")
            for node in survivors:
                mask = C.pair_mask(private, u.mask_keys[node], u.tag, (gone, node), length)
                # survivor `node` added +mask if gone > node, else -mask
                total = total - mask if gone > node else total + mask
    except UnmaskFailed:
        raise
    except ValueError as ex:
        raise UnmaskFailed(str(ex)) from ex
    return total


def check_totals(total: np.ndarray, size: int, num_metrics: int, summed: int) -> None:
    """Refuse unmasked totals no honest round can give: row count < 0 or fractional, took_part
    outside [0, summed] or fractional, a metric weight outside [0, n]; what a wrong threshold
    or a wrapped sum would show."""
    if len(total) != S.vector_length(size, num_metrics) or not np.all(np.isfinite(total)):
        raise UnmaskFailed("unmasked totals are not finite")
    n_total, took_part = float(total[size]), float(total[size + 1])
    problems = []
    if n_total < 0 or abs(n_total - round(n_total)) > 1e-6:
        problems.append(f"row count {n_total:.6g} is not a non-negative integer")
    if not -1e-6 <= took_part <= summed + 1e-6 or abs(took_part - round(took_part)) > 1e-6:
        problems.append(f"contributors {took_part:.6g} not an integer in [0, {summed}]")
    weights = total[size + 3:size + 2 + 2 * num_metrics:2]
    if np.any(weights < -1e-6) or np.any(weights > n_total + 1e-6):
        problems.append("a metric weight lies outside [0, row count]")
    if problems:
        raise UnmaskFailed("implausible unmasked totals: " + "; ".join(problems))
