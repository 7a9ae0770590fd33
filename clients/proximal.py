"""FedProx local step: L-BFGS on the site's logistic objective plus mu/2 ||theta - theta_global||^2.

The site objective is written per row, as scikit-learn's lbfgs solver writes it internally
(its `C * sum logloss + 0.5 ||w||^2` divided by `C * n_site`, the same minimiser):

    f(theta) = mean_i logloss_i(theta) + ||w||^2 / (2 C_site n_site)
               + mu / 2 * ||theta - theta_global||^2,    theta = [w, b],

so `proximal-mu` has the scale of the FedProx paper (mu in 0.001 ... 1 against a mean loss).
The proximal term covers the intercept too. With mu = 0 the iterates are those of
`clients.local_training.train_locally` (same L-BFGS options), up to rounding. One-class sites
need no special case here: the objective is defined for them.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit

from clients.newton_payload import with_intercept


def proximal_objective(theta: np.ndarray, design: np.ndarray, labels: np.ndarray,
                       l2: float, mu: float, anchor: np.ndarray) -> tuple[float, np.ndarray]:
    """f(theta) and its gradient; `design` = [X, 1], `l2` = 1 / (C_site n_site)."""
    n = design.shape[0]
    z = design @ theta
    w = theta[:-1]
    delta = theta - anchor
    value = (float(np.sum(np.logaddexp(0.0, z) - labels * z)) / n
             + 0.5 * l2 * float(w @ w) + 0.5 * mu * float(delta @ delta))
    grad = design.T @ (expit(z) - labels) / n + mu * delta
    grad[:-1] += l2 * w
    return value, grad


def train_proximal(global_arrays: list[np.ndarray], features: np.ndarray, target: np.ndarray,
                   C: float, local_iterations: int, mu: float) -> list[np.ndarray]:
    """`local_iterations` L-BFGS iterations of the FedProx objective from the global model;
    returns [coef (1, d), intercept (1,)]."""
    if mu < 0:
        raise ValueError(f"proximal-mu must be >= 0, got {mu}")
    coef, intercept = global_arrays
    anchor = np.concatenate([np.asarray(coef, dtype=np.float64).reshape(-1),
                             np.asarray(intercept, dtype=np.float64).reshape(-1)])
    design = with_intercept(features)
    labels = np.asarray(target, dtype=np.float64)
    l2 = 1.0 / (C * design.shape[0])
    result = optimize.minimize(
        proximal_objective, anchor.copy(), args=(design, labels, l2, float(mu), anchor),
        method="L-BFGS-B", jac=True,
        options={"maxiter": int(local_iterations), "maxls": 50, "gtol": 1e-4,
                 "ftol": 64 * np.finfo(float).eps})
    theta = np.asarray(result.x, dtype=np.float64)
    return [theta[:-1].reshape(1, -1).copy(), theta[-1:].copy()]
