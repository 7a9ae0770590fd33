"""The numpy metrics equal scikit-learn's definitions, ties and edge cases included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score

from churn.metrics import binary_metrics


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_equal_scikit_learn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(700) < 0.27).astype(np.int8)
    proba = np.round(rng.random(700) * 0.6 + 0.35 * y, 2)  # rounding makes many ties
    proba[:50] = 0.0  # clipped to 1e-15 like every probability
    ours = binary_metrics(y, proba)
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    assert ours["auc"] == pytest.approx(roc_auc_score(y, clipped), abs=1e-12)
    assert ours["pr_auc"] == pytest.approx(average_precision_score(y, clipped), abs=1e-12)
    assert ours["log_loss"] == pytest.approx(log_loss(y, clipped, labels=[0, 1]), abs=1e-12)
    assert ours["accuracy"] == pytest.approx(accuracy_score(y, clipped >= 0.5), abs=1e-12)


def test_one_class_and_empty_inputs() -> None:
    one_class = binary_metrics(np.zeros(20), np.linspace(0.1, 0.9, 20))
    assert math.isnan(one_class["auc"]) and math.isnan(one_class["pr_auc"])
    assert one_class["accuracy"] == pytest.approx(0.5)
    assert all(math.isnan(v) for v in binary_metrics(np.array([]), np.array([])).values())


def test_score_summary_histogram_counts_every_row_and_gains_match_a_direct_count() -> None:
    from churn.metrics import score_summary

    rng = np.random.default_rng(7)
    y = (rng.random(1000) < 0.25).astype(int)
    proba = np.clip(rng.random(1000) * 0.7 + 0.3 * y, 0, 1)
    out = score_summary(y, proba)
    hist, gains = out["histogram"], out["gains"]
    assert sum(hist["churned"]) == y.sum() and sum(hist["stayed"]) == (1 - y).sum()
    top10 = np.argsort(-proba, kind="mergesort")[:100]
    assert gains["fraction"][1] == pytest.approx(0.1)
    assert gains["captured"][1] == pytest.approx(y[top10].sum() / y.sum(), abs=1e-6)
    assert gains["lift"][1] == pytest.approx(gains["captured"][1] / 0.1, abs=1e-5)
    assert gains["captured"][-1] == 1.0 and gains["lift"][1] > 1.5  # informative scores
    assert score_summary(np.zeros(5), np.ones(5)) == {}
