"""End to end: both engines give the same run, results.json, the saved model, a sweep."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from churn.datasets import load_dataset
from churn.model import predict_proba
from churn.model_artifact import load_model
from fedchurn.config import compose_config
from fedchurn.score import main as score_main
from fedchurn.score import score_csv
from fedchurn.simulate import run_job

REPO = Path(__file__).resolve().parents[2]
SMALL = ["data.num_rows=1500", "num_clients=3", "num_rounds=3"]


def _run(engine: str, out: Path, extra: list[str] | None = None) -> dict:
    cfg = compose_config([f"engine={engine}", *SMALL, *(extra or [])], output_dir=out)
    return run_job(cfg, run_id=f"{engine}-test", output_dir=out, observers=[])


@pytest.fixture(scope="module")
def inprocess_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("inprocess")
    return _run("inprocess", out), out


def test_inprocess_run_writes_results(inprocess_run: tuple[dict, Path]) -> None:
    results, out = inprocess_run
    written = json.loads((out / "results.json").read_text())
    assert written["run_id"] == "inprocess-test" and written["engine"] == "inprocess"
    assert written["config"]["num_clients"] == 3
    assert [r["round"] for r in written["rounds"]] == [0, 1, 2, 3]
    for row in written["rounds"][1:]:
        assert {"auc", "pr_auc", "log_loss", "accuracy", "participants", "rejected"} <= set(row)
        assert row["participants"] == 3 and row["rejected"] == 0
    assert written["rounds"][0]["auc"] == 0.5
    final = written["final"]
    for key in ("federated_auc", "centralized_auc", "local_mean_auc", "local_min_auc"):
        assert 0.6 < final[key] < 1.0
    assert abs(final["federated_auc"] - final["centralized_auc"]) < 0.01
    assert written["timing"]["wall_s"] > 0 and len(written["timing"]["rounds_s"]) == 3
    assert written["model_sha256"] == json.loads((out / "model.json").read_text())["sha256"]


@pytest.mark.flower
def test_flower_engine_gives_the_same_numbers(inprocess_run: tuple[dict, Path],
                                              tmp_path: Path) -> None:
    import ray

    inprocess, inprocess_dir = inprocess_run
    flower = _run("flower", tmp_path)
    assert not ray.is_initialized()
    assert flower["engine"] == "flower"
    strip = ("seconds", "train_metrics", "evaluate_metrics", "rejections", "federated_eval")
    assert [{k: v for k, v in r.items() if k not in strip} for r in flower["rounds"]] == \
        [{k: v for k, v in r.items() if k not in strip} for r in inprocess["rounds"]]

    def without_node_ids(fe: dict) -> dict:  # node ids are the engine's own
        return {**fe, "sites": [{k: v for k, v in s.items() if k != "node_id"} for s in fe["sites"]]}

    for a, b in zip(flower["rounds"][1:], inprocess["rounds"][1:], strict=True):
        assert a["train_metrics"] == b["train_metrics"]
        assert a["evaluate_metrics"] == b["evaluate_metrics"]
        assert without_node_ids(a["federated_eval"]) == without_node_ids(b["federated_eval"])
    ours = load_model(tmp_path / "model.json").named_steps["model"]
    theirs = load_model(inprocess_dir / "model.json").named_steps["model"]
    assert np.array_equal(ours.coef_, theirs.coef_)
    assert np.array_equal(ours.intercept_, theirs.intercept_)


def test_saved_model_scores_a_raw_csv(inprocess_run: tuple[dict, Path], telco_csv: Path,
                                      tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, out = inprocess_run
    scores = score_csv(out / "model.json", telco_csv, tmp_path / "scores.csv")
    telco = load_dataset({"name": "telco", "path": str(telco_csv)})
    pipeline = load_model(out / "model.json")
    model = pipeline.named_steps["model"]
    spec_x = pipeline.named_steps["features"].transform(telco.features)
    expected = predict_proba([model.coef_, model.intercept_], spec_x)
    np.testing.assert_allclose(scores["churn_probability"].to_numpy(), expected, rtol=1e-12)
    with (tmp_path / "scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(telco) and rows[0]["customerID"] == "7590-VHVEG"
    assert set(rows[0]) == {"customerID", "churn_probability", "churn_predicted"}
    broken = tmp_path / "broken.csv"
    broken.write_text("customerID,gender,tenure\nX-1,Male,3\n")
    assert score_main(["--model", str(out / "model.json"), "--csv", str(broken)]) == 2
    assert "missing columns" in capsys.readouterr().err


def test_telco_iid_federation_matches_centralized(telco_csv: Path, tmp_path: Path) -> None:
    cfg = compose_config(["engine=inprocess", "data=telco", f"data.path={telco_csv}",
                          "num_clients=5", "num_rounds=5"], output_dir=tmp_path)
    final = run_job(cfg, run_id="telco", output_dir=tmp_path, observers=[])["final"]
    assert final["centralized_auc"] == pytest.approx(0.8419, abs=0.001)
    assert abs(final["auc_gap"]) < 0.002


def test_sweep_writes_one_result_per_job_and_a_summary(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "fedchurn.simulate", "-m", "engine=inprocess",
         "data.num_rows=600", "num_rounds=1", "num_clients=2,3", f"hydra.sweep.dir={sweep_dir}",
         "hydra/callbacks=sweep_summary"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = sorted(sweep_dir.glob("*/results.json"))
    assert len(results) == 2
    run_ids = [json.loads(p.read_text())["run_id"] for p in results]
    # one suffix for the whole sweep (a rerun of the sweep into the same dir gets another)
    assert re.fullmatch(r"sweep-[0-9a-f]{6}_0_n2", run_ids[0]), run_ids
    assert run_ids[1] == run_ids[0][:-4] + "1_n3"
    with (sweep_dir / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["num_clients"] for row in rows] == ["2", "3"]
    assert "num_clients=2" in done.stdout and "sweep summary" in done.stdout
