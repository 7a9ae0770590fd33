"""Binary classification metrics used everywhere: ROC-AUC first, then PR-AUC, log-loss, accuracy."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

METRIC_NAMES = ("auc", "pr_auc", "log_loss", "accuracy")
_EPS = 1e-15


def binary_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Metrics of churn probabilities `proba` against 0/1 labels; AUCs are NaN for one class.

    Plain numpy with scikit-learn's definitions (ROC-AUC with ties averaged, PR-AUC as
    average precision, log-loss on probabilities clipped to [1e-15, 1 - 1e-15]); the
    scikit-learn functions cost ~50 ms a call in input validation, which every round's
    server evaluation and every client reply would pay.
    """
    y_true = np.asarray(y_true).astype(int)
    proba = np.clip(np.asarray(proba, dtype=float), _EPS, 1 - _EPS)
    if y_true.size == 0:
        return {name: float("nan") for name in METRIC_NAMES}
    return {
        "auc": rank_auc(y_true, proba),
        "pr_auc": average_precision(y_true, proba),
        "log_loss": -float(np.mean(y_true * np.log(proba) + (1 - y_true) * np.log(1 - proba))),
        "accuracy": float(np.mean((proba >= threshold) == y_true)),
    }


def rank_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC as the normalised Mann-Whitney U statistic; NaN unless both classes occur."""
    positive = np.asarray(y_true) == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """PR-AUC as scikit-learn's average precision: sum of (R_k - R_k-1) * P_k over thresholds."""
    y_true = np.asarray(y_true)
    if np.unique(y_true).size < 2:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    ranked_scores, ranked = np.asarray(scores)[order], (y_true[order] == 1)
    last_of_threshold = np.r_[np.flatnonzero(np.diff(ranked_scores)), len(ranked) - 1]
    true_pos = np.cumsum(ranked)[last_of_threshold]
    precision = true_pos / (last_of_threshold + 1)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def curve_points(y_true: np.ndarray, proba: np.ndarray, max_points: int = 200) -> dict[str, dict]:
    """ROC and precision-recall curves thinned to at most `max_points` each (aggregates, no rows)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    y_true = np.asarray(y_true).astype(int)
    if np.unique(y_true).size < 2:
        return {}
    fpr, tpr, _ = roc_curve(y_true, proba)
    precision, recall, _ = precision_recall_curve(y_true, proba)

    def thin(*columns: np.ndarray) -> list[list[float]]:
        keep = np.unique(np.linspace(0, len(columns[0]) - 1, min(max_points, len(columns[0]))).astype(int))
        return [np.round(c[keep], 6).tolist() for c in columns]

    fpr_t, tpr_t = thin(fpr, tpr)
    recall_t, precision_t = thin(recall, precision)
    return {"roc": {"fpr": fpr_t, "tpr": tpr_t}, "pr": {"recall": recall_t, "precision": precision_t}}


def score_summary(y_true: np.ndarray, proba: np.ndarray, bins: int = 20, steps: int = 20) -> dict[str, dict]:
    """Aggregates of the final model's scores for the churn team: a histogram of predicted
    churn probability per true class, and cumulative gains (share of churners in the top
    k% of customers by score, k = 100/steps ... 100) with lift = gains / k."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    if y_true.size == 0 or y_true.sum() == 0:
        return {}
    edges = np.linspace(0.0, 1.0, bins + 1)
    churned = np.histogram(proba[y_true == 1], bins=edges)[0]
    stayed = np.histogram(proba[y_true == 0], bins=edges)[0]
    ranked = y_true[np.argsort(-proba, kind="mergesort")]
    fractions = np.arange(1, steps + 1) / steps
    top = np.ceil(fractions * y_true.size).astype(int)
    captured = np.cumsum(ranked)[top - 1] / ranked.sum()
    return {
        "histogram": {"edges": np.round(edges, 6).tolist(), "churned": churned.tolist(),
                      "stayed": stayed.tolist()},
        "gains": {"fraction": np.round(fractions, 6).tolist(), "captured": np.round(captured, 6).tolist(),
                  "lift": np.round(captured / fractions, 6).tolist(), "base_rate": float(y_true.mean())},
    }
