"""The Kafka mirror from the Hydra `bridge` group or a deployment's run config + environment."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fedchurn.config import compose_config
from kafka_bridge.config import BridgeConfig
from kafka_bridge.mirror_setup import bridge_config, build_observers
from kafka_bridge.observer import KafkaObserver

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
    BridgeConfig.from_dict(bridge)  # every key is one the bridge knows



def test_hydra_group_and_run_config_build_the_same_mirror(tmp_path: Path) -> None:
    assert build_observers(None) == []
    assert build_observers(compose_config([])["bridge"]) == []  # bridge=off
    hydra = compose_config(["bridge=kafka", "bridge.bootstrap_servers=h:1",
                            "bridge.topic_prefix=p", f"bridge.spool_dir={tmp_path}"])["bridge"]
    deployed = bridge_config({**app_defaults(), "kafka-bootstrap": "h:1",
                              "kafka-topic-prefix": "p", "kafka-spool-dir": str(tmp_path)}, {})
    (from_hydra,), (from_run_config,) = build_observers(hydra), build_observers(deployed)
    assert isinstance(from_hydra, KafkaObserver) and isinstance(from_run_config, KafkaObserver)
    for name in ("topic_prefix", "spool_path", "mirror_client_updates", "security_protocol"):
        assert getattr(from_hydra.config, name) == getattr(from_run_config.config, name), name
    with pytest.raises(ValueError, match="unknown bridge"):
        build_observers({"name": "kinesis"})
