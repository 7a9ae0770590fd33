"""Deployment with data=csv: SuperNodes answer query.evidence from their own files; one schema is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.model_artifact import load_model
from churn.sample_tables import bank_like, write_csv
from deploy.local import DeployOptions, deploy
from fedchurn.config import compose_config
from fedchurn.split_sites import split_sites

# ~3 min on 2 busy cores (3 SuperNodes + SuperLink + ServerApp processes): run with -m slow.
pytestmark = [pytest.mark.flower, pytest.mark.slow]


def test_sites_infer_one_schema_from_their_own_files(tmp_path: Path) -> None:
    source = write_csv(bank_like(1200, seed=11), tmp_path / "bank.csv", sep=";", decimal=",")
    sites = tmp_path / "sites"
    manifest = split_sites(compose_config(["data=csv", f"data.path={source}", "data.target=Exited",
                                           "num_clients=3"]), sites)
    assert manifest["data_config"]["name"] == "csv" and "sep" not in manifest["data_config"]
    result = deploy(DeployOptions(data_dir=sites, state_dir=tmp_path / "state", rounds=2,
                                  kafka=False, dashboard_port=0, round_timeout=120, timeout=600))
    assert result.status == "finished:completed", (tmp_path / "state" / "logs").as_posix()
    assert result.participants == [3, 3]
    schema = load_model(tmp_path / "state" / "output" / "model.json").named_steps["features"].schema
    assert schema.id_columns == ("RowNumber", "CustomerId", "Surname")
    assert schema.dropped == ("Currency",) and set(schema.categorical) == {"Geography", "Gender"}
    assert schema.positive == "1"
