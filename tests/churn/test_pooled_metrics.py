"""Pooled metrics from merged site histograms against the exact metrics of the union of the rows."""

from __future__ import annotations

import numpy as np
import pytest

from churn.metrics import binary_metrics
from churn.pooled_metrics import (
    ScoreBins,
    binned_auc,
    captured_share,
    merge_histograms,
    pooled_metrics,
    sparse_problem,
)


def _scores(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.3).astype(int)
    return rng.normal(size=n) * 1.5 + shift + 1.2 * y, y


@pytest.mark.parametrize("skewed", [False, True])
def test_merged_histograms_give_the_pooled_auc_within_the_reported_bound(skewed: bool) -> None:
    rng = np.random.default_rng(3)
    bins = ScoreBins()
    sites = [_scores(rng, int(n), shift=(i - 2.0) if skewed else 0.0)
             for i, n in enumerate(rng.integers(40, 400, size=6))]
    merged = merge_histograms([bins.histogram(z, y) for z, y in sites], bins.size)
    z = np.concatenate([s[0] for s in sites])
    y = np.concatenate([s[1] for s in sites])
    exact = binary_metrics(y, 1 / (1 + np.exp(-z)))
    logloss_sum = -np.sum(y * np.log(1 / (1 + np.exp(-z))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-z))))
    pooled = pooled_metrics(merged, logloss_sum, bins)
    assert pooled["rows"] == len(y) and pooled["positives"] == int(y.sum())
    assert abs(pooled["pooled_auc"] - exact["auc"]) <= pooled["auc_bin_error"] + 1e-12 < 1e-3
    assert pooled["pooled_log_loss"] == pytest.approx(exact["log_loss"], rel=1e-12)
    assert pooled["pooled_accuracy"] == pytest.approx(exact["accuracy"], abs=1e-12)
    assert pooled["pooled_pr_auc"] == pytest.approx(exact["pr_auc"], abs=2e-3)
    order = np.argsort(-z)
    top = order[: int(round(0.1 * len(y)))]
    assert pooled["capture_top10"] == pytest.approx(y[top].sum() / y.sum(), abs=0.02)
    assert pooled["lift_top10"] == pytest.approx(pooled["capture_top10"] / 0.1)
    gains = np.array(pooled["gains"], dtype=float)
    assert gains[0].tolist() == [0.0, 0.0] and gains[-1].tolist() == [1.0, 1.0]
    assert np.all(np.diff(gains[:, 1]) >= 0)


def test_coarse_bins_widen_the_bound_and_it_still_holds() -> None:
    rng = np.random.default_rng(0)
    z, y = _scores(rng, 2000, 0.0)
    bins = ScoreBins(num_bins=20, logit_range=4.0)
    auc, bound = binned_auc(bins.dense(bins.histogram(z, y)))
    exact = binary_metrics(y, 1 / (1 + np.exp(-z)))["auc"]
    assert bound > 0.01 and abs(auc - exact) <= bound


def test_ks_equals_the_largest_tpr_fpr_difference() -> None:
    bins = ScoreBins(num_bins=4, logit_range=2.0)  # edges -2, -1, 0, 1, 2
    z = np.array([-1.5, -0.5, 0.5, 1.5, 0.5, 1.5])
    y = np.array([0, 0, 0, 0, 1, 1])
    pooled = pooled_metrics(bins.dense(bins.histogram(z, y)), 0.0, bins)
    # above 0 (bins of 0.5 and 1.5): TPR 1, FPR 0.5 -> KS 0.5; ties in the binned AUC
    assert pooled["ks"] == pytest.approx(0.5)
    assert pooled["pooled_auc"] == pytest.approx((2.5 + 3.5) / 8)  # pairs below + half the ties


def test_one_class_and_empty_histograms_are_nan_not_errors() -> None:
    bins = ScoreBins(num_bins=4, logit_range=2.0)
    one = pooled_metrics(bins.dense(bins.histogram(np.array([0.1, 0.3]), np.array([0, 0]))), 1.0,
                         bins)
    assert np.isnan(one["pooled_auc"]) and np.isnan(one["ks"]) and one["rows"] == 2
    assert pooled_metrics(np.zeros((2, bins.size)), 0.0, bins)["rows"] == 0
    empty = bins.histogram(np.array([]), np.array([]))
    assert empty.shape == (3, 0) and not bins.dense(empty).any()
    with pytest.raises(ValueError, match="no histograms"):
        merge_histograms([], bins.size)
    with pytest.raises(ValueError, match="not \\(3, k\\)"):
        merge_histograms([np.zeros((2, bins.size))], bins.size)  # the old dense form
    with pytest.raises(ValueError, match="even num_bins"):
        ScoreBins(num_bins=3)


def test_captured_share_interpolates_inside_the_cut_bin() -> None:
    pos, neg = np.array([2.0, 0.0]), np.array([2.0, 6.0])  # top bin: 4 rows, 2 positives
    assert captured_share(pos, neg, 0.4) == pytest.approx(1.0)
    assert captured_share(pos, neg, 0.2) == pytest.approx(0.5)


def _dense_as_before(bins: ScoreBins, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The (2, size) histogram sites sent before the sparse form."""
    idx, positive = bins.index(z), y == 1
    return np.stack([np.bincount(idx[~positive], minlength=bins.size),
                     np.bincount(idx[positive], minlength=bins.size)]).astype(np.float64)


@pytest.mark.parametrize("bins", [ScoreBins(), ScoreBins(num_bins=20, logit_range=1.0)])
def test_sparse_histograms_merge_to_the_dense_sum_and_the_same_pooled_metrics(
        bins: ScoreBins) -> None:
    rng = np.random.default_rng(11)
    sites = [_scores(rng, int(n), shift=rng.normal() * 3) for n in [14, 3, 1, 0, 250, 40, 14]]
    sparse = [bins.histogram(z, y) for z, y in sites]
    for h, (z, y) in zip(sparse, sites, strict=True):
        assert sparse_problem(h, bins.size) is None
        assert h.shape[0] == 3 and h.shape[1] == np.unique(bins.index(z)).size <= len(z)
        np.testing.assert_array_equal(bins.dense(h), _dense_as_before(bins, z, y))
    before = np.sum(np.stack([_dense_as_before(bins, z, y) for z, y in sites]), axis=0)
    merged = merge_histograms(sparse, bins.size)
    np.testing.assert_array_equal(merged, before)
    np.testing.assert_array_equal(merge_histograms(sparse[::-1], bins.size), before)
    assert pooled_metrics(merged, 12.5, bins) == pooled_metrics(before, 12.5, bins)


@pytest.mark.parametrize(("columns", "reason"), [
    ([[3, 1, 0], [2, 1, 0]], "strictly ascending"),  # unsorted
    ([[1, 1, 0], [1, 1, 0]], "strictly ascending"),  # a bin twice
    ([[-1, 1, 0]], "strictly ascending"),
    ([[6, 1, 0]], "strictly ascending"),  # size 6: bins 0..5
    ([[1.5, 1, 0]], "not integers"),
    ([[1, 0.5, 0.5]], "not integers"),
    ([[1, -1, 2]], "negative counts"),
    ([[1, 0, 0]], "empty bin"),
])
def test_sparse_problem_names_what_is_wrong(columns: list[list[float]], reason: str) -> None:
    h = np.array(columns, dtype=np.float64).T
    assert reason in (sparse_problem(h, 6) or "")
    with pytest.raises(ValueError, match=reason):
        merge_histograms([h], 6)
    assert sparse_problem(np.array([[0, 5], [1, 0], [0, 2]], dtype=np.float64), 6) is None
    assert "non-finite" in sparse_problem(np.array([[0], [np.nan], [1]]), 6)
