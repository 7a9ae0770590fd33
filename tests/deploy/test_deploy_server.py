"""The deployment ServerApp's plan and Kafka settings come from the run config (and env)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from deploy.server_app import bridge_config, server_plan
from fedchurn.split_sites import compose_config, split_sites

REPO = Path(__file__).resolve().parents[2]


def app_defaults() -> dict:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["flwr"]["app"]["config"]


def test_kafka_settings_from_run_config_then_env() -> None:
    cfg = app_defaults()
    assert bridge_config(cfg, {}) is None  # no bootstrap anywhere: no mirror
    env = {"FEDCHURN_KAFKA_BOOTSTRAP": "kafka:19092", "FEDCHURN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "FEDCHURN_KAFKA_SASL_MECHANISM": "PLAIN", "FEDCHURN_KAFKA_SASL_USERNAME": "fed",
           "FEDCHURN_KAFKA_SASL_PASSWORD": "s3cret"}
    bridge = bridge_config(cfg, env)
    assert bridge["bootstrap_servers"] == ["kafka:19092"]
    assert bridge["security_protocol"] == "SASL_SSL" and bridge["sasl_plain_password"] == "s3cret"
    override = bridge_config({**cfg, "kafka-bootstrap": "a:1, b:2"}, env)
    assert override["bootstrap_servers"] == ["a:1", "b:2"]
    from kafka_bridge.config import BridgeConfig

    BridgeConfig.from_dict(bridge)  # every key is one the bridge knows


def test_server_plan_reads_test_csv_and_sampling(tmp_path: Path) -> None:
    manifest = split_sites(compose_config(["data=synthetic", "data.num_rows=300"], None, 3), tmp_path)
    cfg = {**app_defaults(), "test-path": str(tmp_path / "test.csv"), "num-server-rounds": 4,
           "min-available-nodes": 3, "run-name": "r1"}
    plan = server_plan(cfg, 123)
    assert plan.run_id == "r1" and plan.num_rounds == 4 and plan.num_nodes == 3
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
