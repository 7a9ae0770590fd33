"""Local steps of a site: participation rules, one-class training, numpy metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from churn.metrics import binary_metrics
from churn.model import make_classifier, predict_proba, zero_params
from clients.local_training import (
    effective_c,
    local_metrics,
    participation_problem,
    train_locally,
)


def _objective(arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray, C: float) -> float:
    """scikit-learn's L2 logistic objective: C * sum(log-loss) + 0.5 * ||coef||^2."""
    z = x @ arrays[0].reshape(-1) + arrays[1][0]
    return C * float(np.sum(np.logaddexp(0, -np.where(y == 1, z, -z)))) + 0.5 * float(
        arrays[0].ravel() @ arrays[0].ravel())


def test_participation_rules() -> None:
    assert participation_problem(np.array([0, 1, 1]), 1, "train") is None
    assert participation_problem(np.array([], dtype=int), 1, "train").startswith("too few rows")
    assert participation_problem(np.array([0, 1]), 5, "train") == "too few rows: 2 < min-rows 5"
    assert participation_problem(np.array([1, 1, 1]), 1, "train") is None
    assert participation_problem(np.array([1, 1]), 1, "decline").startswith("single class")


def test_zero_weight_row_leaves_the_objective_unchanged() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), (rng.random(200) < 0.3).astype(int)
    plain = make_classifier(C=0.7, max_iter=500).fit(x, y)
    padded = make_classifier(C=0.7, max_iter=500).fit(
        np.vstack([x, np.zeros((1, 5))]), np.append(y, 1), sample_weight=np.append(np.ones(200), 0))
    np.testing.assert_allclose(padded.coef_, plain.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(padded.intercept_, plain.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_site_lowers_its_objective(label: int) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 4)), np.full(40, label)
    start = [rng.normal(size=(1, 4)) * 0.1, np.array([0.0])]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # train_locally must silence it
        arrays = train_locally(start, x, y, C=1.0, local_iterations=5)
    assert [a.shape for a in arrays] == [(1, 4), (1,)]
    assert all(np.isfinite(a).all() for a in arrays)
    assert _objective(arrays, x, y, 1.0) < _objective(start, x, y, 1.0)
    assert np.sign(arrays[1][0]) == (1 if label == 1 else -1)


def test_warm_start_continues_from_the_global_model() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + rng.normal(size=300) > 0).astype(int)
    one = train_locally(zero_params(3), x, y, C=1.0, local_iterations=1)
    two = train_locally(one, x, y, C=1.0, local_iterations=1)
    assert _objective(two, x, y, 1.0) < _objective(one, x, y, 1.0)


def test_local_metrics_match_the_project_metrics() -> None:
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(500, 3)), 1)  # rounding makes ties in the scores
    x[:100] = 0.0
    y = (rng.random(500) < 0.3).astype(np.int8)
    arrays = [rng.normal(size=(1, 3)), np.array([0.1])]
    ours = local_metrics(arrays, x, y, "eval")
    reference = binary_metrics(y, predict_proba(arrays, x))
    assert ours["eval-auc"] == pytest.approx(reference["auc"], abs=1e-12)
    assert ours["eval-log-loss"] == pytest.approx(reference["log_loss"], abs=1e-12)
    assert ours["eval-accuracy"] == pytest.approx(reference["accuracy"], abs=1e-12)
    assert np.isnan(local_metrics(arrays, x, np.ones(500), "t")["t-auc"])


def test_effective_c_scales_to_the_global_objective() -> None:
    assert effective_c(1.0, 100, 1000) == 10.0
    assert effective_c(0.5, 100, 0) == 0.5
