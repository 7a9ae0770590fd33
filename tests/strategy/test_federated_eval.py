"""Federated evaluation in simulated runs: pooled AUC = exact AUC of the union of the sites'
evaluation rows, the certificate's bound >= the true gap, per-site AUCs, early stop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from churn.metrics import rank_auc
from churn.model import fit_classifier, predict_proba
from churn.model_artifact import load_model
from churn.optimum import objective, tight_fit
from churn.site_data import encoded_node_data
from fedchurn.config import compose_config
from fedchurn.simulate import client_settings, run_job
from tests.strategy.recorder import Recorder

BASE = ["engine=inprocess", "data.num_rows=1500", "client.local_eval_fraction=0.25"]
PARTITIONS = {
    "iid-n4": ["partition=iid", "num_clients=4"],
    "dirichlet0.1-n6": ["partition=dirichlet", "partition.alpha=0.1", "num_clients=6"],
}
STRATEGIES = {"fedavg": ["strategy=fedavg"], "fedprox": ["strategy=fedprox"],
              "newton": ["strategy=newton"]}


def _run(overrides: list[str], output_dir: Path | None = None) -> tuple[dict, Recorder, dict]:
    cfg = compose_config(overrides)
    recorder = Recorder()
    results = run_job(cfg, run_id="fe-test", output_dir=output_dir, observers=[recorder])
    return results, recorder, cfg


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pooled_auc_and_certificate_against_pooled_rows(partition: str, strategy: str,
                                                        tmp_path: Path) -> None:
    overrides = [*BASE, *PARTITIONS[partition], *STRATEGIES[strategy], "num_rounds=4"]
    results, recorder, cfg = _run(overrides, tmp_path)
    settings = client_settings(cfg)
    spec_json = load_model(tmp_path / "model.json").named_steps["features"].spec_json
    sites = [encoded_node_data(settings, p, "", spec_json) for p in range(int(cfg["num_clients"]))]
    x_train = np.vstack([s[0] for s in sites])
    y_train = np.concatenate([s[1] for s in sites])
    C = float(cfg["C"])
    best = objective(tight_fit(x_train, y_train, C), x_train, y_train, C)
    for record in recorder.records:
        fe = record.federated_eval
        assert fe and fe["num_sites"] == len(sites)
        scores = np.concatenate([predict_proba(record.global_arrays, s[2]) for s in sites])
        labels = np.concatenate([s[3] for s in sites])
        exact = rank_auc(labels, scores)
        assert fe["rows"] == len(labels) and fe["train_rows"] == len(y_train)
        assert abs(fe["pooled_auc"] - exact) <= fe["auc_bin_error"] + 1e-12 < 1e-3
        theta = np.concatenate([record.global_arrays[0].ravel(), record.global_arrays[1]])
        gap = objective(theta, x_train, y_train, C) - best
        assert fe["objective"] == pytest.approx(objective(theta, x_train, y_train, C), rel=1e-9)
        assert fe["objective_gap_bound"] >= gap - 1e-9 * abs(best), (record.server_round, fe, gap)
    # per site, computed at the site: the global model's and its own local-only model's AUC
    final = results["final"]["federated_eval"]
    assert final == results["rounds"][-1]["federated_eval"]
    for row, (x_tr, y_tr, x_ev, y_ev) in zip(final["sites"], sites, strict=True):
        assert row["rows"] == len(y_ev) and row["train_rows"] == len(y_tr)
        if np.unique(y_tr).size == 2 and np.unique(y_ev).size == 2:
            local = fit_classifier(x_tr, y_tr, C=C).predict_proba(x_ev)[:, 1]
            assert row["local_auc"] == pytest.approx(rank_auc(y_ev, local), abs=1e-9)
        else:
            assert row["flags"], row  # one-class or small: flagged, still listed
    if strategy == "newton":  # exact second-order steps: the certificate closes
        assert final["objective_gap_bound"] < 1e-3


def test_stop_at_gradient_norm_ends_the_run_early_and_says_why(
        capsys: pytest.CaptureFixture) -> None:
    overrides = [*BASE, *PARTITIONS["iid-n4"], "strategy=newton", "num_rounds=12",
                 "strategy.stop_at_gradient_norm=1e-4"]
    results, recorder, _ = _run(overrides)
    rounds = [r["round"] for r in results["rounds"][1:]]
    assert 1 < len(rounds) < 12, rounds
    norms = [r["federated_eval"]["gradient_norm"] for r in results["rounds"][1:]]
    assert norms[-1] <= 1e-4 < min(norms[:-1])
    assert results["stop_reason"].startswith(f"stopped after round {rounds[-1]}: gradient norm")
    assert recorder.finished["stop_reason"] == results["stop_reason"]
    assert results["stop_reason"] in capsys.readouterr().out  # the console says why


def test_without_federated_eval_the_replies_and_results_stay_as_before() -> None:
    results, recorder, _ = _run([*BASE, *PARTITIONS["iid-n4"], "num_rounds=1",
                                 "strategy.federated_eval=false"])
    assert results["final"]["federated_eval"] is None and results["stop_reason"] is None
    assert recorder.records[0].federated_eval is None
    assert not any(k.startswith("fe-") for k in recorder.records[0].evaluate_metrics)


def test_a_spoiled_federated_eval_payload_is_left_out_and_the_run_goes_on() -> None:
    from flwr.app import Array, ArrayRecord

    from churn import protocol as P
    from tests.client_wrappers import intercept_evaluate

    def spoil(app, msg, context):  # partition 1 sends a histogram of the wrong shape
        reply = app(msg, context)
        if int(context.node_config["partition-id"]) == 1:
            reply.content[P.FEDERATED_EVAL] = ArrayRecord(
                {P.FE_HISTOGRAM: Array(np.ones((2, 3))),
                 P.FE_CERTIFICATE: reply.content[P.FEDERATED_EVAL][P.FE_CERTIFICATE]})
        return reply

    recorder = Recorder()
    results = run_job(compose_config([*BASE, *PARTITIONS["iid-n4"], "num_rounds=1"]),
                      run_id="fe-spoiled", output_dir=None, observers=[recorder],
                      wrap_client_app=lambda app: intercept_evaluate(app, spoil))
    fe = results["final"]["federated_eval"]
    assert fe["num_sites"] == 3
    assert sorted(s.partition_id for s in recorder.records[0].site_evals) == [0, 2, 3]
    spoiled = [s for s in fe["sites"] if s["partition_id"] == 1]  # listed and flagged, not hidden
    assert spoiled[0]["flags"] == ["not-evaluated"] and "shapes" in spoiled[0]["reason"]
    assert recorder.records[0].evaluate_metrics  # its client metrics are still averaged
