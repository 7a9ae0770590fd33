"""The deployment ServerApp's plan comes from the run config."""

from __future__ import annotations

import tomllib
from pathlib import Path

from deploy.server_app import server_plan
from fedchurn.config import compose_config
from fedchurn.split_sites import split_sites

REPO = Path(__file__).resolve().parents[2]


def app_defaults() -> dict:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["flwr"]["app"]["config"]


def test_server_plan_reads_test_csv_and_sampling(tmp_path: Path) -> None:
    manifest = split_sites(compose_config(["data=synthetic", "data.num_rows=300", "num_clients=3"]), tmp_path)
    cfg = {**app_defaults(), "test-path": str(tmp_path / "test.csv"), "num-server-rounds": 4,
           "min-available-nodes": 3, "run-name": "r1"}
    plan = server_plan(cfg, 123)
    # 123 = 0x7b: the Flower run id suffixes the name, so a rerun under "r1" gets its own id
    assert plan.run_id == "r1-00007b" and plan.num_rounds == 4 and plan.num_nodes == 3
    assert len(plan.test) == manifest["test_rows"]
    assert plan.strategy["min_available_nodes"] == 3 and plan.strategy["name"] == "fedavg"
    prox = server_plan({**cfg, "strategy-config": '{"name": "fedprox", "proximal_mu": 0.1}'}, 1)
    assert prox.strategy["name"] == "fedprox" and prox.strategy["proximal_mu"] == 0.1
    assert server_plan({**cfg, "run-name": ""}, 123).run_id == "flwr-123"
    assert plan.code_version == "unknown"
    assert server_plan({**cfg, "code-version": "abc1234"}, 1).code_version == "abc1234"
    # no server test set: the plan holds no rows, only the schema the spec agreement needs
    without = server_plan({**cfg, "test-path": ""}, 1)
    assert without.test is None and without.schema == plan.test.schema


def test_run_config_entries_from_the_command_line() -> None:
    from deploy.submit import parse_entries

    entries = parse_entries(["local-iterations=20", "C=0.5", "imputation=mean",
                             'strategy-config={"name": "fedprox"}', "mirror-client-updates=false"])
    assert entries == {"local-iterations": 20, "C": 0.5, "imputation": "mean",
                       "strategy-config": '{"name": "fedprox"}', "mirror-client-updates": False}
    assert set(entries) <= set(app_defaults())  # `flwr run` accepts only declared keys
