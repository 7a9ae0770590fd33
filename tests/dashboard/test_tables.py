"""Tables for the run detail page: references per round, round log, clients, coefficients."""

from __future__ import annotations

import pytest

from dashboard import tables
from dashboard.run_state import build_runs
from dashboard.summary import reference_local, summary_curve
from tests.dashboard.recording import recorded_run


@pytest.fixture(scope="module")
def run():
    return build_runs(recorded_run("run-t", num_clients=3, num_rounds=4, reject_node=1001))["run-t"]


def test_auc_per_round_has_federated_centralized_each_local_and_their_mean(run):
    frame = tables.metric_per_round(run, "auc")
    models = set(frame["model"])
    assert {tables.FEDERATED, tables.CENTRALIZED, tables.LOCAL_MEAN} <= models
    assert {f"local-only client {p}" for p in range(3)} <= models
    fed = frame[frame["model"] == tables.FEDERATED]
    assert list(fed["round"]) == [1, 2, 3, 4]
    local = reference_local(run.reference)
    mean = frame[frame["model"] == tables.LOCAL_MEAN]["value"].iloc[0]
    assert mean == pytest.approx(sum(local.values()) / len(local))


def test_log_loss_per_round_has_test_set_and_client_losses(run):
    frame = tables.loss_per_round(run)
    assert set(frame["kind"]) == {"federated", "clients", "reference"}
    assert (frame[frame["kind"] == "federated"]["round"] == [1, 2, 3, 4]).all()


def test_round_log_and_client_log_show_rejections_with_reasons(run):
    log = tables.round_log(run)
    assert list(log["sampled"]) == [3, 3, 3, 3]
    assert list(log["rejected"]) == [0, 1, 0, 1]
    assert "train: spec-fingerprint mismatch" in log.loc[1, "rejection reasons"]
    assert list(log["eval_rejected"]) == [0, 0, 1, 0]
    clients = tables.client_log(run)
    rejected = clients[clients["outcome"] == "rejected"]
    assert list(rejected["client"]) == ["client 1", "client 1"]
    assert (rejected["num_examples"] == 0).all()
    replied = clients[clients["outcome"] == "replied"]
    assert (replied["num_examples"] > 0).all() and replied["metrics"].str.contains("train-auc").all()


def test_client_summary_counts_participation_and_carries_local_auc(run):
    summary = tables.client_summary(run).set_index("client")
    assert summary.loc["client 1", "rejected"] == 2 and summary.loc["client 1", "replied"] == 2
    assert summary.loc["client 0", "replied"] == 4
    assert summary.loc["client 0", "local_only_auc"] == pytest.approx(run.reference["local_auc"]["0"])


def test_top_coefficients_are_named_and_sorted_by_magnitude(run):
    top = tables.top_coefficients(run, 5)
    assert len(top) == 5 and set(top["feature"]) <= set(run.feature_names)
    assert list(top["magnitude"]) == sorted(top["magnitude"], reverse=True)


def test_curves_come_from_the_summary(run):
    roc = summary_curve(run.summary, "roc")
    assert roc is not None and roc["fpr"][0] == 0 and roc["tpr"][-1] == 1
    assert summary_curve({"final_server_metrics": {}}, "pr") is None


def test_reference_local_accepts_the_baselines_list_shape():
    ref = {"local": [{"auc": 0.7}, None]}
    assert reference_local(ref) == {"0": 0.7, "1": None}


def test_config_values_of_a_deployed_run_use_flowers_run_config_names() -> None:
    from dashboard.tables import config_value

    deployed = {"num-server-rounds": 3, "num-clients": 3, "strategy-config": "{}"}
    assert config_value(deployed, "num_rounds") == 3
    assert config_value(deployed, "num_clients") == 3
    assert config_value({"num_rounds": 5, "data": {"name": "telco"}}, "num_rounds") == 5
    assert config_value({"data": {"name": "telco"}}, "data") == "telco"

