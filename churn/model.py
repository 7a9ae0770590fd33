"""Logistic-regression parameter codec: sklearn model <-> [coef (1, d), intercept (1,)] arrays."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

CLASSES = np.array([0, 1])


def make_classifier(C: float = 1.0, max_iter: int = 1000, warm_start: bool = False) -> LogisticRegression:
    """The one model family of the project: L2 logistic regression solved by L-BFGS."""
    return LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter, warm_start=warm_start)


def zero_params(num_features: int) -> list[np.ndarray]:
    """The starting global model: all-zero weights and intercept."""
    return [np.zeros((1, num_features)), np.zeros(1)]


def params_of(model: LogisticRegression) -> list[np.ndarray]:
    """A fitted model's parameters as float64 arrays."""
    return [np.asarray(model.coef_, dtype=np.float64).copy(),
            np.asarray(model.intercept_, dtype=np.float64).copy()]


def apply_params(model: LogisticRegression, arrays: list[np.ndarray]) -> LogisticRegression:
    """Load [coef, intercept] into `model` so it predicts (and warm-starts) from them."""
    coef, intercept = arrays
    model.coef_ = np.asarray(coef, dtype=np.float64).reshape(1, -1).copy()
    model.intercept_ = np.asarray(intercept, dtype=np.float64).reshape(1).copy()
    model.classes_ = CLASSES.copy()
    model.n_features_in_ = model.coef_.shape[1]
    return model


def predict_proba(arrays: list[np.ndarray], features: np.ndarray) -> np.ndarray:
    """P(churn) for each row under the parameters `arrays`."""
    coef, intercept = arrays
    z = features @ np.asarray(coef).reshape(-1) + float(np.asarray(intercept).reshape(-1)[0])
    return 1.0 / (1.0 + np.exp(-z))


def fit_classifier(features: np.ndarray, target: np.ndarray, C: float = 1.0,
                   max_iter: int = 1000) -> LogisticRegression:
    """Fit to convergence (reference models); warns nothing on the bounded iteration count."""
    model = make_classifier(C=C, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, target)
    return model
