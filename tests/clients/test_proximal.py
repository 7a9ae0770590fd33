"""FedProx local solver: mu = 0 is scikit-learn's local step, large mu stays at the global model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from clients.local_training import train_locally
from clients.proximal import proximal_objective, train_proximal
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from tests.client_wrappers import intercept_train


def _site(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 6))
    y = (x @ rng.normal(size=6) + rng.normal(size=200) > 0).astype(int)
    return x, y


def test_mu_zero_follows_sklearns_local_step() -> None:
    x, y = _site()
    start = [np.full((1, 6), 0.1), np.array([-0.2])]
    ours = train_proximal(start, x, y, C=5.0, local_iterations=10, mu=0.0)
    sklearn = train_locally(start, x, y, C=5.0, local_iterations=10)
    for a, b in zip(ours, sklearn, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_strong_proximal_term_keeps_the_site_near_the_global_model() -> None:
    x, y = _site(1)
    start = [np.zeros((1, 6)), np.zeros(1)]
    free = train_proximal(start, x, y, C=5.0, local_iterations=20, mu=0.0)
    held = train_proximal(start, x, y, C=5.0, local_iterations=20, mu=100.0)
    assert np.linalg.norm(held[0]) < 0.05 * np.linalg.norm(free[0])


def test_gradient_of_the_proximal_objective() -> None:
    x, y = _site(2)
    design = np.hstack([x, np.ones((200, 1))])
    theta, anchor = np.linspace(-0.5, 0.5, 7), np.linspace(0.3, -0.3, 7)
    _, grad = proximal_objective(theta, design, y.astype(float), 0.01, 0.5, anchor)
    for k in range(7):
        e = np.zeros(7)
        e[k] = 1e-6
        up = proximal_objective(theta + e, design, y.astype(float), 0.01, 0.5, anchor)[0]
        down = proximal_objective(theta - e, design, y.astype(float), 0.01, 0.5, anchor)[0]
        assert (up - down) / 2e-6 == pytest.approx(grad[k], abs=1e-7)


def test_fedprox_sends_mu_and_the_sites_use_it(tmp_path: Path) -> None:
    seen: list[float] = []

    def spy(app: ClientApp) -> ClientApp:
        def train(app: ClientApp, msg: Message, context: Context) -> Message:
            seen.append(float(msg.content["config"]["proximal-mu"]))
            return app(msg, context)

        return intercept_train(app, train)

    # one worker: the spy appends in this process, not in forked engine workers
    common = ["engine=inprocess", "engine.workers=1", "data.num_rows=900", "num_clients=3",
              "num_rounds=2"]
    prox = run_job(compose_config([*common, "strategy=fedprox", "strategy.proximal_mu=0.1"]),
                   run_id="prox", output_dir=None, observers=[], wrap_client_app=spy)
    plain = run_job(compose_config(common), run_id="plain", output_dir=None, observers=[])
    assert seen == [0.1] * 6
    assert prox["final"]["federated_auc"] != plain["final"]["federated_auc"]
    assert abs(prox["final"]["auc_gap"]) < 0.05  # two rounds, held near the start
