"""Deployed sites: each file alone would decide differently; the agreed schema replaces their own."""

from __future__ import annotations

import json
from pathlib import Path

from churn.column_evidence import site_evidence
from churn.sample_tables import bank_like, write_csv
from churn.schema_inference import decide_schema
from churn.site_data import ClientSettings, load_node_data

DATA = {"name": "csv", "path": "unused", "target": "Exited"}


def _settings() -> ClientSettings:
    return ClientSettings(data_config=json.dumps(DATA), partition_config='{"name": "iid"}',
                          num_clients=2, seed=0, test_size=0.2)


def test_agreed_schema_replaces_each_sites_own(tmp_path: Path) -> None:
    frame = bank_like(600, seed=3)
    only_france = write_csv(frame.iloc[:300].assign(Geography="France"), tmp_path / "a.csv")
    mixed = write_csv(frame.iloc[300:], tmp_path / "b.csv")
    settings = _settings()
    own = load_node_data(settings, -1, str(only_france))
    assert "Geography" in own.train.schema.dropped  # alone, a constant column
    evidences = [site_evidence(load_node_data(settings, -1, str(p)).train.raw, "Exited")
                 for p in (only_france, mixed)]
    agreed = decide_schema(evidences, DATA).schema
    assert "Geography" in agreed.categorical
    schema_json = json.dumps(agreed.to_dict())
    node = load_node_data(settings, -1, str(only_france), schema_json)
    assert node.train.schema == agreed and (node.train.features["Geography"] == "France").all()
    assert load_node_data(settings, -1, str(only_france), schema_json) is node  # cached
