"""The certificate's gradient is the pooled objective's gradient; its bound is never below the gap."""

from __future__ import annotations

import numpy as np
import pytest

from churn.certificate import certificate, gradient_of_sums, site_sums
from churn.optimum import objective, tight_fit


def _data(seed: int, n: int = 600, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ rng.normal(size=d) - 1.0)))).astype(float)
    return x, y


def _pooled(theta: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, np.ndarray]:
    sums = [site_sums(theta, x, y) for x, y in parts]
    return sum(s[0] for s in sums), np.sum([s[1] for s in sums], axis=0)


def test_site_sums_add_up_to_the_gradient_of_sklearns_objective() -> None:
    x, y = _data(1)
    theta = np.random.default_rng(2).normal(size=x.shape[1] + 1) * 0.3
    parts = [(x[:100], y[:100]), (x[100:450], y[100:450]), (x[450:], y[450:])]
    loss, sums = _pooled(theta, parts)
    C = 0.7
    cert = certificate(theta, C, loss, sums)
    eps, numeric = 1e-6, []
    for k in range(len(theta)):
        step = np.zeros_like(theta)
        step[k] = eps
        numeric.append((objective(theta + step, x, y, C) - objective(theta - step, x, y, C)) / (2 * eps))
    grad = C * gradient_of_sums(sums)
    grad[:-1] += theta[:-1]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)
    assert cert["gradient_norm"] == pytest.approx(np.linalg.norm(numeric), rel=1e-6)
    assert cert["objective"] == pytest.approx(objective(theta, x, y, C), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_bound_is_never_below_the_true_gap_near_or_far_from_the_optimum(seed: int) -> None:
    x, y = _data(seed)
    C = [0.05, 1.0, 20.0][seed % 3]
    opt = tight_fit(x, y, C)
    best = objective(opt, x, y, C)
    rng = np.random.default_rng(seed)
    for scale in (3.0, 1.0, 0.1, 1e-3, 1e-6, 0.0):
        theta = opt + scale * rng.normal(size=opt.size)
        if scale == 3.0:
            theta[-1] += 5.0  # far off in the unpenalised intercept
        loss, sums = site_sums(theta, x, y)
        cert = certificate(theta, C, loss, sums)
        gap = objective(theta, x, y, C) - best
        assert cert["objective_gap_bound"] >= gap - 1e-9, (scale, cert, gap)
    assert cert["objective_gap_bound"] < 1e-6  # at the optimum the certificate closes


def test_one_class_rows_give_the_trivial_but_valid_bound() -> None:
    x, _ = _data(0, n=50)
    theta = np.zeros(x.shape[1] + 1)
    loss, sums = site_sums(theta, x, np.zeros(50))
    cert = certificate(theta, 1.0, loss, sums)
    assert cert["objective_gap_bound"] == pytest.approx(cert["objective"], rel=1e-9)
