"""Local steps of one site: warm-started L-BFGS logistic regression from the global parameters.

How small and single-class sites take part (the policy the ClientApp documents):

- A site with fewer rows than `min-rows` (at least 1) declines with a reason; the server
  records it as a rejection for the round. It never raises.
- A site whose rows hold one class only trains on the *same* regularised objective as every
  other site, `C * sum_i logloss_i + 0.5 * ||w||^2`. scikit-learn refuses one-class targets,
  so the solver gets one extra all-zero row of the other class with sample weight 0: it
  contributes nothing to the objective and only lets scikit-learn see two classes. The
  intercept of such a site moves towards its class for `local-iterations` steps; FedAvg
  weights the update by the site's row count like any other. With `single-class=decline`
  such sites decline instead.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from churn.metrics import binary_metrics
from churn.model import apply_params, make_classifier, params_of, predict_proba


def participation_problem(target: np.ndarray, min_rows: int, single_class: str) -> str | None:
    """Why a site with these labels cannot train this round, or None when it can."""
    rows = int(len(target))
    if rows < max(1, min_rows):
        return f"too few rows: {rows} < min-rows {max(1, min_rows)}"
    if single_class == "decline" and np.unique(target).size < 2:
        return f"single class: all {rows} rows have label {int(target[0])}"
    return None


def effective_c(C: float, num_examples: int, total_examples: int) -> float:
    """C for one site. With the federation's row total, scale it so the sites' objectives sum
    to the centralized objective (`C * n_total / n_site`); without it, use C as given."""
    if total_examples > 0 and num_examples > 0:
        return C * total_examples / num_examples
    return C


def train_locally(
    global_arrays: list[np.ndarray],
    features: np.ndarray,
    target: np.ndarray,
    C: float,
    local_iterations: int,
) -> list[np.ndarray]:
    """`local_iterations` L-BFGS iterations from `global_arrays`; returns [coef, intercept]."""
    model = apply_params(make_classifier(C=C, max_iter=int(local_iterations), warm_start=True),
                         global_arrays)
    target = np.asarray(target).astype(int)
    sample_weight = None
    if np.unique(target).size < 2:
        features = np.vstack([features, np.zeros((1, features.shape[1]))])
        target = np.append(target, 1 - target[0])
        sample_weight = np.append(np.ones(len(target) - 1), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, target, sample_weight=sample_weight)
    return params_of(model)


def local_metrics(arrays: list[np.ndarray], features: np.ndarray, target: np.ndarray,
                  prefix: str) -> dict[str, float]:
    """`<prefix>-log-loss`, `-auc` (NaN for one class) and `-accuracy` on a site's rows."""
    metrics = binary_metrics(target, predict_proba(arrays, features))
    return {f"{prefix}-log-loss": metrics["log_loss"], f"{prefix}-auc": metrics["auc"],
            f"{prefix}-accuracy": metrics["accuracy"]}
