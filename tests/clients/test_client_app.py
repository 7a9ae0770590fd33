"""The ClientApp: picklable for Ray, cached data, declines instead of raising."""

from __future__ import annotations

import json
from pathlib import Path

import cloudpickle

from churn.site_data import ClientSettings, load_experiment, load_node_data
from clients.client_app import build_client_app
from fedchurn.config import compose_config
from fedchurn.simulate import client_settings, run_job


def _settings(**changes: object) -> ClientSettings:
    cfg = compose_config(["data.num_rows=600", "num_clients=3"])
    return ClientSettings(**{**vars(client_settings(cfg)), **changes})


def test_settings_round_trip_through_kebab_case_run_config() -> None:
    settings = _settings(min_rows=4, single_class="decline")
    run_config = settings.to_run_config()
    assert all(key == key.lower() and "_" not in key for key in run_config)
    assert ClientSettings.from_run_config(run_config) == settings
    assert json.loads(run_config["data-config"])["num_rows"] == 600


def test_client_app_pickles_and_data_is_cached_per_process() -> None:
    settings = _settings()
    app = build_client_app(settings.to_run_config())
    assert cloudpickle.loads(cloudpickle.dumps(app)) is not None
    first = load_node_data(settings, 1)
    assert load_node_data(settings, 1) is first
    # the default holds out 0.2 of the site's rows for its own evaluation
    assert len(first.train) == len(load_experiment(settings).training_rows(1))
    assert len(first.train) + len(first.evaluation) == len(load_experiment(settings).parts[1])


def test_local_eval_fraction_holds_out_rows() -> None:
    node = load_node_data(_settings(local_eval_fraction=0.25), 0)
    total = len(node.train) + len(node.evaluation)
    assert len(node.evaluation) == round(total * 0.25)


def test_too_small_sites_decline_and_the_server_records_why(tmp_path: Path) -> None:
    cfg = compose_config(["engine=inprocess", "data.num_rows=1200", "num_clients=4",
                          "num_rounds=1", "partition=quantity", "partition.alpha=0.5",
                          "client.min_rows=200"], output_dir=tmp_path)
    results = run_job(cfg, run_id="tiny", output_dir=tmp_path, observers=[])
    experiment = load_experiment(client_settings(cfg))  # min_rows counts the training rows
    small = [k for k in range(4) if len(experiment.training_rows(k)) < 200]
    assert small, "this seeded draw should give sites below 200 rows"
    rejections = results["rounds"][1]["rejections"]
    assert sorted(r["partition_id"] for r in rejections) == small
    assert all(r["reason"].startswith("declined: too few rows") for r in rejections)
    assert results["rounds"][1]["participants"] == 4 - len(small)


def test_deployed_node_reads_its_own_csv(telco_csv: Path, tmp_path: Path) -> None:
    site_csv = tmp_path / "site.csv"
    site_csv.write_text("".join(telco_csv.read_text().splitlines(keepends=True)[:61]))
    cfg = compose_config(["data=telco", f"data.path={telco_csv}", "num_clients=3"])
    node = load_node_data(client_settings(cfg), -1, str(site_csv))
    assert len(node.train) == 48 and node.train.source == str(site_csv)
    assert len(node.evaluation) == 12  # client.local_eval_fraction 0.2 of its 60 rows
