"""The fixed-point codec of secure=secagg: bounded by the number of summands, so no silent wrap."""

from __future__ import annotations

import numpy as np
import pytest

from churn import secure_protocol as S


def test_the_per_value_bound_shrinks_with_the_number_of_summands():
    assert S.value_bound(32, 1) == 2.0 ** 31
    assert S.value_bound(32, 200) == pytest.approx(2.0 ** 31 / 200)
    S.encode_fixed(np.array([2.0 ** 31 / 200 * 0.999]), 32, 200)
    with pytest.raises(ValueError, match="outside the fixed-point range .* for 200 sites"):
        S.encode_fixed(np.array([2.0 ** 31 / 200 * 1.001]), 32, 200)
    with pytest.raises(ValueError):
        S.encode_fixed(np.array([np.nan]), 32, 2)


def test_the_largest_allowed_values_sum_without_wrapping():
    sites = 50
    top = S.value_bound(32, sites) * (1 - 1e-9)
    for sign in (1.0, -1.0):
        total = np.zeros(1, dtype=np.uint64)
        for _ in range(sites):
            total = total + S.encode_fixed(np.array([sign * top]), 32, sites)
        assert S.decode_fixed(total, 32)[0] == pytest.approx(sign * top * sites, rel=1e-9)


def test_thresholds_come_from_config_and_refuse_unsafe_values():
    assert S.share_threshold(10, 3, 0.5) == 5 and S.share_threshold(4, 3, 0.5) == 3
    assert S.threshold_settings({S.MIN_SITES: 4}, {S.MIN_SITES: 9}) == (4, S.DEFAULT_FRACTION)
    assert S.threshold_settings({}) == (S.DEFAULT_MIN_SITES, S.DEFAULT_FRACTION)
    with pytest.raises(ValueError, match="at least 2 sites"):
        S.threshold_settings({S.MIN_SITES: 1})
    with pytest.raises(ValueError):
        S.threshold_settings({S.THRESHOLD_FRACTION: 0.0})
