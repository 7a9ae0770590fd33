"""A tight centralized fit of sklearn's objective: the reference the certificate is checked against."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from churn.model import fit_classifier


def objective(theta: np.ndarray, x: np.ndarray, y: np.ndarray, C: float) -> float:
    """C * sum logloss + 1/2 ||w||^2 (intercept unpenalised), computed stably."""
    z = x @ theta[:-1] + theta[-1]
    return float(C * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * theta[:-1] @ theta[:-1])


def tight_fit(x: np.ndarray, y: np.ndarray, C: float) -> np.ndarray:
    """sklearn's L-BFGS fit polished by exact Newton steps until the gradient is ~1e-10."""
    model = fit_classifier(x, y, C=C, max_iter=5000)
    theta = np.concatenate([model.coef_.ravel(), model.intercept_])
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.ones(len(theta))
    penalty[-1] = 0.0
    for _ in range(20):
        p = expit(design @ theta)
        grad = C * design.T @ (p - y) + penalty * theta
        if np.linalg.norm(grad) < 1e-10:
            break
        hess = C * (design.T * (p * (1 - p))) @ design + np.diag(penalty)
        theta = theta - np.linalg.solve(hess, grad)
    return theta
