"""The server's unmasking checks: a wrong rebuilt key or implausible totals abort the round."""

from __future__ import annotations

import numpy as np
import pytest

from churn import secure_crypto as C
from churn import secure_protocol as W
from churn.shamir import split
from clients.secure_vector import mask_vector
from strategy.secure_unmask import UnmaskFailed, Unmasking, check_totals, unmask_sum


def _round(values: list[np.ndarray], drop: int | None):
    nodes = [5, 7, 9]
    keys = [C.new_key_pair() for _ in nodes]
    seeds = [C.new_seed() for _ in nodes]
    xs = [1, 2, 3]
    masked = {n: mask_vector(W.encode_fixed(v, 32, 3), n, nodes, [k[1] for k in keys], keys[i][0],
                             seeds[i], "tag") for i, (n, v) in enumerate(zip(nodes, values,
                                                                            strict=True))}
    seed_shares = {n: dict(zip(xs, split(seeds[i], 2, xs), strict=True))
                   for i, n in enumerate(nodes)}
    key_shares = {n: dict(zip(xs, split(keys[i][0], 2, xs), strict=True))
                  for i, n in enumerate(nodes)}
    survivors = [n for n in nodes if n != drop]
    return Unmasking("tag", 2, {n: k[1] for n, k in zip(nodes, keys, strict=True)},
                     {n: masked[n] for n in survivors}, [drop] if drop else [],
                     {n: seed_shares[n] for n in survivors},
                     {drop: key_shares[drop]} if drop else {})


def test_unmasking_with_a_dropped_site_gives_the_survivors_sum():
    values = [np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 0.25])]
    total = W.decode_fixed(unmask_sum(_round(values, drop=7)), 32)
    np.testing.assert_allclose(total, values[0] + values[2], atol=1e-9)


def test_a_rebuilt_key_that_does_not_match_its_public_key_aborts():
    u = _round([np.zeros(2)] * 3, drop=7)
    other = {x: s for x, s in zip([1, 2, 3], split(C.new_key_pair()[0], 2, [1, 2, 3]),
                                   strict=True)}
    with pytest.raises(UnmaskFailed, match="does not match its public key"):
        unmask_sum(Unmasking(u.tag, u.threshold, u.mask_keys, u.vectors, u.dropped,
                             u.seed_shares, {7: other}))


def test_implausible_totals_are_refused():
    size, metrics = 2, 1
    good = np.array([10.0, -3.0, 40.0, 2.0, 12.0, 40.0])  # params, n, took_part, metric, weight
    check_totals(good, size, metrics, summed=2)
    for position, value, reason in [(2, -5.0, "row count"), (2, 40.5, "row count"),
                                    (3, 3.0, "contributors"), (3, 1.5, "contributors"),
                                    (5, 41.0, "metric weight")]:
        bad = good.copy()
        bad[position] = value
        with pytest.raises(UnmaskFailed, match=reason):
            check_totals(bad, size, metrics, summed=2)
