"""The FedAvg arithmetic: exactly the sample-weighted mean, independent of update order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strategy.aggregation import weighted_average, weighted_metrics


def test_weighted_average_equals_hand_computed_mean() -> None:
    coef_a, coef_b = np.array([[1.0, -2.0, 0.5]]), np.array([[3.0, 2.0, -0.5]])
    intercept_a, intercept_b = np.array([0.25]), np.array([-1.0])
    result = weighted_average([1, 3], [[coef_a, intercept_a], [coef_b, intercept_b]])
    # (1 * a + 3 * b) / 4 by hand
    assert result[0].tolist() == [[2.5, 1.0, -0.25]]
    assert result[1].tolist() == [-0.6875]
    assert result[0].shape == (1, 3) and result[1].shape == (1,)
    assert result[0].dtype == np.float64


def test_weighted_average_is_bit_identical_in_any_order() -> None:
    rng = np.random.default_rng(7)
    updates = [[rng.normal(size=(1, 40)) * 10.0 ** rng.integers(-8, 8), rng.normal(size=1)]
               for _ in range(25)]
    weights = rng.integers(1, 5000, size=25).tolist()
    forward = weighted_average(weights, updates)
    order = rng.permutation(25)
    shuffled = weighted_average([weights[i] for i in order], [updates[i] for i in order])
    for a, b in zip(forward, shuffled, strict=True):
        assert np.array_equal(a, b)
    element = math.fsum(n * u[0][0, 3] for n, u in zip(weights, updates, strict=True))
    assert forward[0][0, 3] == element / sum(weights)


@pytest.mark.parametrize("weights", [[0, 2], [-1, 3], []])
def test_weighted_average_refuses_non_positive_or_missing_weights(weights: list[int]) -> None:
    arrays = [[np.zeros((1, 2)), np.zeros(1)]] * len(weights)
    with pytest.raises(ValueError):
        weighted_average(weights, arrays)


def test_weighted_metrics_skip_nan_and_weight_by_examples() -> None:
    result = weighted_metrics([100, 300], [{"auc": 0.6, "loss": 1.0}, {"auc": float("nan"),
                                                                          "loss": 2.0}])
    assert result == {"auc": 0.6, "loss": 1.75}
