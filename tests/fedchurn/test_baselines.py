"""Baselines reproduce the Telco reference numbers and write baselines.json through Hydra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from churn.experiment import prepare_experiment
from fedchurn.baselines import compute_baselines

REPO = Path(__file__).resolve().parents[2]


def _cfg(path: Path, **extra) -> dict:
    cfg = {"data": {"name": "telco", "path": str(path)}, "partition": {"name": "iid"},
           "num_clients": 10, "seed": 42, "test_size": 0.2, "C": 1.0, "imputation": "median"}
    cfg.update(extra)
    return cfg


def test_telco_centralized_auc_matches_reference(telco_csv: Path) -> None:
    experiment = prepare_experiment(_cfg(telco_csv))
    assert len(experiment.test) == 1409
    result = compute_baselines(experiment, experiment.feature_spec("median"), C=1.0)
    assert abs(result["centralized"]["auc"] - 0.8419) < 0.005
    assert abs(result["local_mean_auc"] - 0.829) < 0.01
    assert result["local_min_auc"] <= result["local_mean_auc"] < result["centralized"]["auc"]


def test_untrainable_clients_are_reported_not_fatal(telco_csv: Path) -> None:
    cfg = _cfg(telco_csv, partition={"name": "dirichlet", "alpha": 0.05, "min_rows": 1},
               num_clients=20)
    experiment = prepare_experiment(cfg)
    result = compute_baselines(experiment, experiment.feature_spec("median"), C=1.0)
    assert result["local_untrainable"] >= 1
    assert result["local"].count(None) == result["local_untrainable"]


def test_hydra_entry_point_writes_baselines_json(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "fedchurn.baselines", "data.num_rows=800", "num_clients=3",
         f"hydra.run.dir={tmp_path}/run"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "centralized" in run.stdout and "local client 2" in run.stdout
    payload = json.loads((tmp_path / "run" / "baselines.json").read_text())
    assert len(payload["local"]) == 3 and 0.5 < payload["centralized"]["auc"] <= 1.0


def test_local_only_references_can_be_skipped() -> None:
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job

    cfg = compose_config(["engine=inprocess", "engine.workers=1", "data.num_rows=800",
                          "num_clients=3", "num_rounds=1", "reference.local_only=false"])
    assert compose_config([])["reference"]["local_only"] is True
    results = run_job(cfg, run_id="no-local", output_dir=None, observers=[])
    assert results["reference"]["local"] == [] and results["reference"]["local_only"] is False
    assert results["final"]["local_trained"] == 0
    assert 0.5 < results["final"]["centralized_auc"] <= 1.0


def test_sites_hold_out_a_fifth_and_references_train_on_the_rest() -> None:
    from churn.site_data import load_experiment
    from fedchurn.baselines import pooled_training_rows
    from fedchurn.config import compose_config
    from fedchurn.simulate import client_settings, run_job

    cfg = compose_config(["engine=inprocess", "engine.workers=1", "data.num_rows=800",
                          "num_clients=3", "num_rounds=1", "client.local_eval_fraction=0.2"])
    experiment = load_experiment(client_settings(cfg))
    held, trained = [], []
    for k, part in enumerate(experiment.parts):
        train_pos, eval_pos = experiment.site_split(k)
        assert len(eval_pos) == round(0.2 * len(part)) and not set(train_pos) & set(eval_pos)
        churn = experiment.train.target[part]
        assert abs(churn[eval_pos].mean() - churn.mean()) < 0.02  # stratified
        held.append(part[eval_pos])
        trained.append(part[train_pos])
    pooled = pooled_training_rows(experiment)
    assert pooled.tolist() == sorted(np.concatenate(trained).tolist())
    assert not set(pooled) & set(np.concatenate(held).tolist())
    results = run_job(cfg, run_id="holdout", output_dir=None, observers=[])
    assert results["reference"]["centralized_rows"] == len(pooled) == sum(map(len, trained))
    fe = results["final"]["federated_eval"]
    assert sorted(s["rows"] for s in fe["sites"]) == sorted(len(h) for h in held)
