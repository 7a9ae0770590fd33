"""Bad client replies are rejected with a reason and the run completes (in-process engine)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from flwr.app import ArrayRecord, Context, Message, MetricRecord
from flwr.clientapp import ClientApp

from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from strategy.aggregation import weighted_average
from tests.client_wrappers import intercept, intercept_train
from tests.strategy.recorder import Recorder

FAULTS = {
    1: ("nan", "non-finite values"),
    2: ("wrong-shape", "array shapes"),
    3: ("foreign-spec", "spec fingerprint"),
    4: ("no-num-examples", "no 'num-examples'"),
    5: ("raise", "client error"),
    6: ("zero-num-examples", "positive whole number"),
    7: ("three-arrays", "expected 2 arrays"),
}


def corrupting(app: ClientApp, faults: dict[int, str]) -> ClientApp:
    """A ClientApp that runs `app` and then spoils the train replies of some partitions."""

    def train(app: ClientApp, msg: Message, context: Context) -> Message:
        fault = faults.get(int(context.node_config["partition-id"]))
        if fault == "raise":
            raise RuntimeError("site crashed")
        reply = app(msg, context)
        content = reply.content
        coef, intercept = content["arrays"].to_numpy_ndarrays()
        metrics = dict(content["metrics"])
        if fault == "nan":
            coef[0, 0] = np.nan
            content["arrays"] = ArrayRecord([coef, intercept])
        elif fault == "wrong-shape":
            content["arrays"] = ArrayRecord([coef[:, :-1], intercept])
        elif fault == "three-arrays":
            content["arrays"] = ArrayRecord([coef, intercept, intercept])
        elif fault == "foreign-spec":
            content["info"]["spec-fingerprint"] = "0123456789abcdef"
        elif fault == "no-num-examples":
            del metrics["num-examples"]
            content["metrics"] = MetricRecord(metrics)
        elif fault == "zero-num-examples":
            content["metrics"] = MetricRecord({**metrics, "num-examples": 0})
        return reply

    return intercept_train(app, train)


def _run(tmp_path: Path, faults: dict[int, str], observers: list, num_clients: int = 8) -> dict:
    cfg = compose_config(["engine=inprocess", "data.num_rows=1200", f"num_clients={num_clients}",
                          "num_rounds=2"], output_dir=tmp_path)
    return run_job(cfg, run_id="faulty", output_dir=tmp_path, observers=observers,
                   wrap_client_app=lambda app: corrupting(app, faults))


def test_each_kind_of_bad_reply_is_rejected_and_the_run_completes(tmp_path: Path) -> None:
    recorder = Recorder()
    results = _run(tmp_path, {p: fault for p, (fault, _) in FAULTS.items()}, [recorder])
    assert [r["participants"] for r in results["rounds"]] == [0, 1, 1]
    for record in recorder.records:
        assert [u.partition_id for u in record.updates] == [0]
        reasons = {r.partition_id: r.reason for r in record.rejected}
        assert sorted(reasons) == sorted(FAULTS)
        for partition, (_, expected) in FAULTS.items():
            assert expected in reasons[partition], reasons[partition]
        update = record.updates[0]
        expected_arrays = weighted_average([update.num_examples], [update.arrays])
        for got, want in zip(record.global_arrays, expected_arrays, strict=True):
            assert np.array_equal(got, want)
    assert results["rounds"][-1]["rejected"] == len(FAULTS)
    assert recorder.finished is not None and (tmp_path / "results.json").is_file()


def test_global_model_is_the_hand_computed_weighted_average(tmp_path: Path) -> None:
    recorder = Recorder()
    _run(tmp_path, {}, [recorder], num_clients=4)
    record = recorder.records[-1]
    sizes = [u.num_examples for u in record.updates]
    # 80 % of 1200 rows are training data, each site holds out 0.2 of its 240: every site counted
    assert sum(sizes) == 768
    for position in range(2):
        by_hand = sum(n * u.arrays[position] for n, u in zip(sizes, record.updates, strict=True))
        by_hand = by_hand / sum(sizes)
        np.testing.assert_allclose(record.global_arrays[position], by_hand, rtol=1e-14, atol=0)
        exact = [math.fsum(n * float(u.arrays[position].reshape(-1)[j])
                           for n, u in zip(sizes, record.updates, strict=True)) / sum(sizes)
                 for j in range(record.global_arrays[position].size)]
        assert record.global_arrays[position].reshape(-1).tolist() == exact
    assert [u.node_id for u in record.updates] == sorted(u.node_id for u in record.updates)


def test_all_replies_rejected_keeps_the_global_model(tmp_path: Path) -> None:
    results = _run(tmp_path, {p: "nan" for p in range(3)}, [Recorder()], num_clients=3)
    assert [r["participants"] for r in results["rounds"]] == [0, 0, 0]
    assert [r["rejected"] for r in results["rounds"]] == [0, 3, 3]
    assert [r["auc"] for r in results["rounds"]] == [0.5, 0.5, 0.5]


def test_a_raising_observer_does_not_stop_training(tmp_path: Path) -> None:
    exploding, quiet = Recorder(explode=True), Recorder()
    results = _run(tmp_path, {}, [exploding, quiet], num_clients=3)
    assert len(quiet.records) == 2 and len(exploding.records) == 2
    assert len(results["observer_failures"]) == 2
    assert "observer bug" in results["observer_failures"][0]


@pytest.mark.parametrize("policy, participants", [("train", 6), ("decline", 5)])
def test_single_class_site_trains_or_declines_without_crashing(tmp_path: Path, policy: str,
                                                               participants: int) -> None:
    cfg = compose_config(["engine=inprocess", "data.num_rows=1200", "num_clients=6",
                          "num_rounds=2", "partition=dirichlet", "partition.alpha=0.2",
                          f"client.single_class={policy}"], output_dir=tmp_path)
    results = run_job(cfg, run_id="single", output_dir=tmp_path, observers=[])
    single = [r["client"] for r in results["partitions"] if r["single_class"]]
    assert single == [0]  # this seeded draw gives site 0 only non-churners
    assert [r["participants"] for r in results["rounds"][1:]] == [participants] * 2
    if policy == "decline":
        rejections = results["rounds"][1]["rejections"]
        assert [r["partition_id"] for r in rejections] == [0]
        assert rejections[0]["reason"].startswith("declined: single class")
    assert results["final"]["federated_auc"] > 0.7


@pytest.mark.parametrize("garbage", ["not json", '{"tenure": {"bins": [5, 2], "counts": [1, 1]}}',
                                     '{"tenure": {"bins": [0], "counts": [-3]}}', "[1, 2]"])
def test_a_garbled_preprocessing_histogram_leaves_that_site_out(tmp_path: Path,
                                                                garbage: str) -> None:
    def spoil(app: ClientApp, msg: Message, context: Context) -> Message:
        reply = app(msg, context)
        if int(context.node_config["partition-id"]) == 1:
            reply.content["info"]["histograms"] = garbage
        return reply

    cfg = compose_config(["engine=inprocess", "data.num_rows=600", "num_clients=3",
                          "num_rounds=1"], output_dir=tmp_path)
    results = run_job(cfg, run_id="garbled", output_dir=tmp_path, observers=[],
                      wrap_client_app=lambda app: intercept(app, on_histograms=spoil))
    left_out = results["preprocessing_rejected"]
    assert [r["partition_id"] for r in left_out] == [1], left_out
    assert left_out[0]["reason"].startswith("query.histograms: ")
    assert results["rounds"][1]["participants"] >= 2 and math.isfinite(results["final"]["federated_auc"])
