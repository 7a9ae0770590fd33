"""Binary classification metrics used everywhere: ROC-AUC first, then PR-AUC, log-loss, accuracy."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score

METRIC_NAMES = ("auc", "pr_auc", "log_loss", "accuracy")
_EPS = 1e-15


def binary_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Metrics of churn probabilities `proba` against 0/1 labels; AUCs are NaN for one class."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.clip(np.asarray(proba, dtype=float), _EPS, 1 - _EPS)
    if y_true.size == 0:
        return {name: float("nan") for name in METRIC_NAMES}
    both = np.unique(y_true).size == 2
    return {
        "auc": float(roc_auc_score(y_true, proba)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y_true, proba)) if both else float("nan"),
        "log_loss": float(log_loss(y_true, proba, labels=[0, 1])),
        "accuracy": float(accuracy_score(y_true, proba >= threshold)),
    }


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
