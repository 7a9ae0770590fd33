"""Run comparison tables and the run's download files, from the bridge's real events."""

from __future__ import annotations

import io
import json

import pandas as pd

from dashboard.compare import config_table, metric_rounds
from dashboard.downloads import run_downloads
from dashboard.run_state import build_runs
from tests.dashboard.recording import recorded_run


def test_config_table_puts_the_differences_first():
    runs = build_runs(recorded_run("a", num_clients=2, num_rounds=2)
                      + recorded_run("b", num_clients=5, num_rounds=2, config={"output_dir": "/x"}))
    table = config_table([runs["a"], runs["b"]])
    assert list(table.columns) == ["setting", "a", "b", "differs"]
    differing = table[table["differs"]]
    assert list(differing["setting"]) == ["num_clients"]  # output_dir is bookkeeping
    assert list(differing[["a", "b"]].iloc[0]) == ["2", "5"]
    assert table["differs"].iloc[0] and not table["differs"].iloc[-1]


def test_metric_rounds_has_every_run_per_round():
    runs = build_runs(recorded_run("a", num_rounds=3) + recorded_run("b", num_rounds=2, seed=1))
    frame = metric_rounds([runs["a"], runs["b"]], "auc")
    assert frame.groupby("run_id")["round"].apply(list).to_dict() == {"a": [1, 2, 3], "b": [1, 2]}


def test_downloads_hold_rounds_site_metrics_and_the_summary():
    run = build_runs(recorded_run("dl", num_clients=3, num_rounds=2, reject_node=1001))["dl"]
    files = {d.file_name: d for d in run_downloads(run)}
    assert set(files) == {"dl_rounds.csv", "dl_sites.csv", "dl_site_log.csv", "dl_summary.json"}
    rounds = pd.read_csv(io.BytesIO(files["dl_rounds.csv"].data))
    assert list(rounds["round"]) == [1, 2] and rounds["auc"].notna().all()
    sites = pd.read_csv(io.BytesIO(files["dl_sites.csv"].data))
    local = sites[sites["metric"] == "local_only_auc"]
    assert len(local) == 3 and (local["round"] == 0).all()
    assert {"train-auc"} <= set(sites["metric"]) and (sites["round"] > 0).any()
    record = json.loads(files["dl_summary.json"].data)
    assert record["run_id"] == "dl" and record["summary"]["scores"]["gains"]["captured"][-1] == 1.0
    assert [r["round"] for r in record["rounds"]] == [1, 2]
