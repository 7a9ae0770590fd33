"""Optimality certificate: pooled gradient of sklearn's objective and a duality-gap bound, from site sums.

The objective is scikit-learn's, over the training rows of the sites that replied:
F(w, b) = C * sum_i logloss_i + 1/2 ||w||^2 (intercept b unpenalised). At the global model each
site sends its log-loss sum and, with z_i = x_i . w + b, y'_i = +-1, q_i = sigma(-y'_i z_i) (the
probability of the wrong label) and h(a) = a log a + (1 - a) log(1 - a) <= 0, the sums

    per class k: u_k = sum q_i x_i (d numbers), Q_k = sum q_i, E_k = sum h(q_i);
    V = sum q_i (1 - q_i) x_i, T = sum q_i (1 - q_i), M = sum z_i q_i (1 - q_i).

The unregularised gradient is g = [u_neg - u_pos, Q_neg - Q_pos]; grad F = C g + [w, 0].

The bound is weak duality; it assumes nothing but honest site sums. For any a in [0, 1]^n with
sum_i a_i y'_i = 0 (the constraint the unpenalised intercept puts on the dual), Fenchel-Young
gives F* >= D(a) = -C sum_i h(a_i) - 1/2 ||C sum_i a_i y'_i x_i||^2. a = q (the model's own
dual point) violates the constraint by Q_pos - Q_neg (the intercept gradient), so it is
repaired two ways and the larger lower bound kept: scaling the larger class's q by s <= 1
(h(s q) <= s h(q) by convexity; loose to first order in the intercept gradient), and shifting
a_i = q_i - lam y'_i q_i (1 - q_i) with lam = (Q_pos - Q_neg) / T (second order; valid for
|lam| <= 1/2, see `_shifted_dual`). `objective_gap_bound` = F(theta) - D_lb >= F(theta) - F*;
it goes to 0 at the optimum, where q satisfies the constraint and w = C (u_pos - u_neg).
Near the optimum the bound is about 1/2 ||grad F||^2 while the gap is 1/2 grad F^T H^-1 grad F:
on Telco 200-770x the true gap there, 1.4-330x further out (scripts/bench_federated_eval.py).
A relative 1e-12 of |F| + |D_lb| is added for float64 rounding in the difference of two large
numbers. What the sums reveal about a site: README, "What a score histogram and a gradient
reveal".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ROUNDING_SLACK = 1e-12


def exact_sum(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Element-wise exactly rounded sum (math.fsum) of same-shaped arrays: the result does not
    depend on the order of the sites (engines order replies by their own node ids)."""
    stacked = np.stack([np.asarray(a, dtype=np.float64) for a in arrays])
    flat = stacked.reshape(len(arrays), -1)
    return np.array([math.fsum(column) for column in flat.T.tolist()]).reshape(stacked.shape[1:])


def site_sums(theta: np.ndarray, features: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """(log-loss sum, (3, d + 2) array [[u_neg, Q_neg, E_neg], [u_pos, Q_pos, E_pos], [V, T, M]])."""
    theta = np.asarray(theta, dtype=np.float64).ravel()
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(target).astype(int)
    z = x @ theta[:-1] + theta[-1]
    margin = np.where(y == 1, z, -z)  # y' z
    log_q = -np.logaddexp(0.0, margin)  # log sigma(-m)
    log_not_q = -np.logaddexp(0.0, -margin)
    q = np.exp(log_q)
    h = q * log_q + (1.0 - q) * log_not_q
    loss_sum = float(np.sum(-log_not_q))  # logloss_i = log(1 + e^{-m}) = -log sigma(m)
    rows = []
    for label in (0, 1):
        mask = y == label
        rows.append(np.concatenate([q[mask] @ x[mask], [q[mask].sum(), h[mask].sum()]]))
    curvature = q * (1.0 - q)  # = p (1 - p) for either class
    rows.append(np.concatenate([curvature @ x, [curvature.sum(), float(curvature @ z)]]))
    return loss_sum, np.stack(rows)


def gradient_of_sums(sums: np.ndarray) -> np.ndarray:
    """The unregularised log-loss-sum gradient [g_w (d), g_b] from the site sums."""
    neg, pos = np.asarray(sums, dtype=np.float64)[:2]
    return np.concatenate([neg[:-2] - pos[:-2], [neg[-2] - pos[-2]]])


def certificate(theta: np.ndarray, C: float, loss_sum: float, sums: np.ndarray) -> dict[str, float]:
    """Objective, gradient norm and the duality-gap bound at theta = [w, b] from pooled sums."""
    theta = np.asarray(theta, dtype=np.float64).ravel()
    w = theta[:-1]
    neg, pos, curv = np.asarray(sums, dtype=np.float64)
    gradient = C * gradient_of_sums(sums)
    gradient[:-1] += w
    objective = C * float(loss_sum) + 0.5 * float(w @ w)
    dual = max(0.0, _scaled_dual(C, neg, pos), _shifted_dual(C, neg, pos, curv))
    gap = objective - dual + ROUNDING_SLACK * (abs(objective) + abs(dual))
    return {"objective": objective, "dual_bound": dual, "gradient": gradient.tolist(),
            "gradient_norm": float(np.linalg.norm(gradient)),
            "intercept_gradient": float(gradient[-1]),
            "objective_gap_bound": max(0.0, gap) if math.isfinite(gap) else float("inf")}


def _scaled_dual(C: float, neg: np.ndarray, pos: np.ndarray) -> float:
    """D_lb with a_i = s_k q_i (any model; first order in the intercept gradient)."""
    q_neg, q_pos = float(neg[-2]), float(pos[-2])
    if q_neg <= 0 or q_pos <= 0:  # one class overall: F* is an infimum >= 0
        return 0.0
    s_pos, s_neg = (q_neg / q_pos, 1.0) if q_pos > q_neg else (1.0, q_pos / q_neg)
    v = C * (s_pos * pos[:-2] - s_neg * neg[:-2])
    return -C * (s_pos * float(pos[-1]) + s_neg * float(neg[-1])) - 0.5 * float(v @ v)


def _shifted_dual(C: float, neg: np.ndarray, pos: np.ndarray, curv: np.ndarray) -> float:
    """D_lb with a_i = q_i - lam y'_i q_i (1 - q_i), lam = (Q_pos - Q_neg) / T (second order).

    Valid for |lam| <= 1/2: then a_i in [0, 1], and between q_i and a_i every xi has
    xi (1 - xi) >= q_i (1 - q_i) / 4, so by Taylor h(a_i) <= h(q_i) + delta_i h'(q_i) +
    2 lam^2 q_i (1 - q_i), with h'(q_i) = -y'_i z_i; summed: E + lam M + 2 lam^2 T."""
    total = float(curv[-2])
    if total <= 0:
        return 0.0
    lam = (float(pos[-2]) - float(neg[-2])) / total
    if abs(lam) > 0.5:
        return 0.0
    entropy = float(neg[-1]) + float(pos[-1]) + lam * float(curv[-1]) + 2.0 * lam * lam * total
    v = C * (pos[:-2] - neg[:-2] - lam * curv[:-2])
    return -C * entropy - 0.5 * float(v @ v)
