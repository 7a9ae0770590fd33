"""Federated Newton reaches scikit-learn's centralized fit on every partition; payload checks."""

from __future__ import annotations

import functools
import uuid
from pathlib import Path

import numpy as np
import pytest
from flwr.app import ArrayRecord, Context, Message
from flwr.clientapp import ClientApp
from sklearn.linear_model import LogisticRegression

from churn.metrics import binary_metrics
from churn.site_data import load_experiment
from clients.newton_payload import newton_payload
from fedchurn.baselines import pooled_training_rows
from fedchurn.config import compose_config
from fedchurn.simulate import client_settings, run_job
from strategy.newton import exact_sum, newton_payload_problem
from tests.client_wrappers import intercept_train
from tests.strategy.recorder import Recorder

SYNTHETIC = ["engine=inprocess", "data.num_rows=1500", "strategy=newton", "num_rounds=5"]
PARTITIONS = {
    "iid-n2": ["partition=iid", "num_clients=2"],
    "dirichlet0.5-n5": ["partition=dirichlet", "partition.alpha=0.5", "num_clients=5"],
    "dirichlet0.1-n8": ["partition=dirichlet", "partition.alpha=0.1", "num_clients=8"],
    "quantity-n6": ["partition=quantity", "partition.alpha=0.5", "num_clients=6"],
    "column-n3": ["partition=column", "partition.column=Contract", "num_clients=3"],
    "dirichlet0.1-n50": ["partition=dirichlet", "partition.alpha=0.1", "num_clients=50"],
}


@functools.lru_cache(maxsize=4)
def tight_fit(overrides: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """scikit-learn's centralized fit on the run's pooled training rows, converged to 1e-10
    (newton-cholesky: lbfgs at tol=1e-12 still stops ~1e-4 short on these collinear one-hot
    columns), as a flat [coef, intercept] and its test AUC."""
    cfg = compose_config(list(overrides))
    experiment = load_experiment(client_settings(cfg))
    spec = experiment.feature_spec(str(cfg["imputation"]))
    model = LogisticRegression(C=float(cfg["C"]), solver="newton-cholesky", tol=1e-10,
                               max_iter=100)
    rows = pooled_training_rows(experiment)  # the sites' training rows, not their held-out ones
    model.fit(spec.transform(experiment.train.features.iloc[rows]), experiment.train.target[rows])
    proba = model.predict_proba(spec.transform(experiment.test.features))[:, 1]
    theta = np.concatenate([model.coef_.ravel(), model.intercept_])
    return theta, binary_metrics(experiment.test.target, proba)["auc"]


def _run(overrides: list[str], tmp_path: Path, observers: list) -> dict:
    cfg = compose_config(overrides, output_dir=tmp_path)
    return run_job(cfg, run_id=f"newton-{uuid.uuid4().hex[:6]}", output_dir=tmp_path,
                   observers=observers)


def _check_against_centralized(results: dict, recorder: Recorder, overrides: list[str]) -> None:
    theta, tight_auc = tight_fit(tuple(overrides))
    final = np.concatenate([a.ravel() for a in recorder.records[-1].global_arrays])
    assert np.max(np.abs(final - theta)) < 1e-4
    # The run's reference is scikit-learn's default fit (lbfgs, tol 1e-4), itself short of the
    # optimum: with 50 label-skewed sites holding out 20% it measured 0.000538 AUC from the
    # federated model, which is within 1e-4 of the tight fit; the tight-fit check below is the claim.
    assert abs(results["final"]["auc_gap"]) < 0.001
    assert abs(results["final"]["federated_auc"] - tight_auc) < 0.0005
    train_rows = results["reference"]["centralized_rows"]  # the sites' training rows
    for record in recorder.records:  # every row counted; only empty sites may decline
        assert record.aggregation == "newton" and not record.missing
        assert sum(u.num_examples for u in record.updates) == train_rows
        assert all(r.reason.startswith("declined: too few rows: 0") for r in record.rejected)


@pytest.mark.parametrize("case", list(PARTITIONS))
def test_newton_matches_the_centralized_fit_on_every_partition(case: str, tmp_path: Path) -> None:
    recorder = Recorder()
    overrides = [*SYNTHETIC, *PARTITIONS[case]]  # the partition decides the held-out rows
    results = _run(overrides, tmp_path, [recorder])
    _check_against_centralized(results, recorder, overrides)


def test_newton_on_telco_with_label_skew(telco_csv: Path, tmp_path: Path) -> None:
    data = ["data=telco", f"data.path={telco_csv}"]
    recorder = Recorder()
    overrides = ["engine=inprocess", "strategy=newton", "num_rounds=5", "num_clients=10",
                 "partition=dirichlet", "partition.alpha=0.1", *data]
    results = _run(overrides, tmp_path, [recorder])
    _check_against_centralized(results, recorder, overrides)
    objectives = [r.train_metrics["objective"] for r in recorder.records]
    assert all(b <= a for a, b in zip(objectives, objectives[1:], strict=False))


def test_newton_rounds_mirror_the_global_model_and_pass_the_audit(tmp_path: Path) -> None:
    from kafka_bridge.observer import KafkaObserver
    from kafka_bridge.verify import verify_events
    from tests.kafka_bridge.helpers import dead_bootstrap, observer_config, spooled_events

    spool = tmp_path / "spool"
    observer = KafkaObserver(observer_config(spool, dead_bootstrap(), "newton",
                                             flush_timeout_s=0.0, connect_timeout_s=0.2))
    recorder = Recorder()
    _run([*SYNTHETIC, "num_clients=3", "num_rounds=2"], tmp_path, [observer, recorder])
    events = spooled_events(spool)
    aggregated = [e.payload for e in events if e.type == "round_aggregated"]
    assert [a["aggregation"] for a in aggregated] == ["newton", "newton"]
    assert aggregated[-1]["coef"] == recorder.records[-1].global_arrays[0].tolist()
    updates = [e.payload for e in events if e.type == "client_update"]
    assert len(updates) == 6 and all("coef" not in u and len(u["shapes"]) == 3 for u in updates)
    verdict = verify_events(events)
    assert verdict.ok, verdict.problems + [p for r in verdict.rounds for p in r.problems]
    assert any("checked digests and counts only" in note for note in verdict.notes)


def _hostile(app: ClientApp, partition: int) -> ClientApp:
    """Runs `app`, then flips the sign of one site's Hessians (not a possible sum)."""

    def train(app: ClientApp, msg: Message, context: Context) -> Message:
        reply = app(msg, context)
        if int(context.node_config["partition-id"]) == partition:
            losses, grads, hessians = reply.content["arrays"].to_numpy_ndarrays()
            reply.content["arrays"] = ArrayRecord([losses, grads, -hessians])
        return reply

    return intercept_train(app, train)


def test_an_impossible_hessian_is_rejected_and_the_run_goes_on(tmp_path: Path) -> None:
    recorder = Recorder()
    cfg = compose_config([*SYNTHETIC, "num_clients=3", "num_rounds=2", "imputation=mean"],
                         output_dir=tmp_path)
    run_job(cfg, run_id="hostile", output_dir=tmp_path, observers=[recorder],
            wrap_client_app=lambda app: _hostile(app, 1))
    for record in recorder.records:
        assert [r.partition_id for r in record.rejected] == [1]
        assert "not positive semi-definite" in record.rejected[0].reason
        assert len(record.updates) == 2


def test_payload_is_the_exact_derivative_of_the_loss_sum() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)), rng.integers(0, 2, 40)
    theta = rng.normal(size=5)
    losses, grads, hessians = newton_payload(theta[None, :], x, y)
    step = 1e-6
    for k in range(5):
        e = np.zeros(5)
        e[k] = step
        up, down = newton_payload(np.stack([theta + e, theta - e]), x, y)[:2]
        assert (up[0] - up[1]) / (2 * step) == pytest.approx(grads[0][k], rel=1e-6, abs=1e-6)
        np.testing.assert_allclose((down[0] - down[1]) / (2 * step), hessians[0][k], rtol=1e-5,
                                   atol=1e-6)
    assert newton_payload_problem([losses, grads, hessians], 40) is None


def test_payload_checks_catch_what_no_site_can_send() -> None:
    rng = np.random.default_rng(1)
    payload = newton_payload(np.zeros((1, 4)), rng.normal(size=(10, 3)), rng.integers(0, 2, 10))
    losses, grads, hessians = payload
    asymmetric = hessians.copy()
    asymmetric[0, 0, 1] += 1.0
    assert "not symmetric" in newton_payload_problem([losses, grads, asymmetric], 10)
    assert "exceeds num-examples / 4" in newton_payload_problem(payload, 5)
    assert "negative" in newton_payload_problem([-losses, grads, hessians], 10)
    assert exact_sum([np.array([1e16, 1.0]), np.array([-1e16, 1.0])]).tolist() == [0.0, 2.0]
