"""split_sites: per-site files equal the simulation's partitions, plus the server's test.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from churn.dialect import read_table
from churn.experiment import prepare_experiment
from churn.loading import load_csv
from churn.schema import TELCO_SCHEMA
from fedchurn.config import compose_config
from fedchurn.split_sites import main, split_sites


def test_synthetic_split_matches_the_simulation_partitions(tmp_path: Path) -> None:
    cfg = compose_config(["data=synthetic", "data.num_rows=600", "partition=dirichlet",
                          "partition.alpha=0.5", "seed=7", "num_clients=3"])
    manifest = split_sites(cfg, tmp_path)
    experiment = prepare_experiment(cfg)
    sizes = [len(pd.read_csv(tmp_path / f"site-{i}.csv")) for i in range(3)]
    assert sizes == [len(p) for p in experiment.parts]
    assert len(pd.read_csv(tmp_path / "test.csv")) == len(experiment.test) == manifest["test_rows"]
    site0 = load_csv(tmp_path / "site-0.csv", TELCO_SCHEMA)
    assert site0.target.tolist() == experiment.client_data(0).target.tolist()
    assert manifest["data_config"] == {"name": "telco"}
    assert json.loads((tmp_path / "manifest.json").read_text())["sites"] == 3


def test_telco_csv_keeps_original_rows_and_column_partition(tmp_path: Path, telco_csv: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    main(["--csv", str(telco_csv), "--out", str(tmp_path), "--sites", "3", "partition=column",
          "partition.column=Contract"])
    assert "test.csv" in capsys.readouterr().out
    original = read_table(telco_csv).frame
    files = [read_table(tmp_path / f"{name}.csv").frame for name in ("site-0", "site-1", "site-2", "test")]
    combined = pd.concat(files).sort_values("customerID").reset_index(drop=True)
    assert combined.equals(original.sort_values("customerID").reset_index(drop=True))
    assert [f["Contract"].nunique() for f in files[:3]] == [1, 1, 1]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["partition"]["name"] == "column"
    assert sum(r["rows"] for r in manifest["partition_report"]) + manifest["test_rows"] == len(original)
