"""One environment variable name per Kafka setting: ServerApp, replay, dashboard and compose agree."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path

import pytest

from dashboard.settings import MonitorSettings
from kafka_bridge.__main__ import replay_config
from kafka_bridge.config import ENV_VARS, SECURITY_KEYS, BridgeConfig, settings_from_env
from kafka_bridge.mirror_setup import bridge_config

REPO = Path(__file__).resolve().parents[2]
ENV = {
    "FEDCHURN_KAFKA_BOOTSTRAP": "broker-a:9093", "FEDCHURN_KAFKA_TOPIC_PREFIX": "acme",
    "FEDCHURN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FEDCHURN_KAFKA_SASL_MECHANISM": "PLAIN",
    "FEDCHURN_KAFKA_SASL_USERNAME": "fed", "FEDCHURN_KAFKA_SASL_PASSWORD": "pw-1",
    "FEDCHURN_KAFKA_SSL_CAFILE": "/certs/ca.pem", "FEDCHURN_KAFKA_SSL_CERTFILE": "/certs/c.pem",
    "FEDCHURN_KAFKA_SSL_KEYFILE": "/certs/c.key", "FEDCHURN_KAFKA_SSL_PASSWORD": "pw-2",
}


def _server_app_config() -> BridgeConfig:
    with (REPO / "pyproject.toml").open("rb") as file:
        run_config = tomllib.load(file)["tool"]["flwr"]["app"]["config"]
    return BridgeConfig.from_dict(bridge_config(run_config, ENV))


def _seen(cfg: BridgeConfig) -> dict[str, object]:
    servers = cfg.bootstrap_servers
    return {"bootstrap": servers if isinstance(servers, str) else ",".join(servers),
            "topic_prefix": cfg.topic_prefix,
            **{key: getattr(cfg, key) for key in SECURITY_KEYS}}


def test_the_same_environment_gives_the_same_kafka_settings_everywhere(tmp_path: Path) -> None:
    server = _seen(_server_app_config())
    replay = _seen(replay_config(tmp_path / "spool", env=ENV))
    dashboard = _seen(MonitorSettings.load(None, env=ENV).bridge_config())
    assert server == replay == dashboard
    assert server["bootstrap"] == "broker-a:9093" and server["topic_prefix"] == "acme"
    assert (server["security_protocol"], server["sasl_plain_password"],
            server["ssl_password"]) == ("SASL_SSL", "pw-1", "pw-2")
    assert set(ENV) == set(ENV_VARS.values()) - {"FEDCHURN_KAFKA_SPOOL_DIR"}


def test_replay_without_an_address_says_which_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FEDCHURN_KAFKA_BOOTSTRAP"):
        replay_config(tmp_path, env={})


def test_compose_and_configs_use_only_the_defined_names() -> None:
    files = [REPO / "docker-compose.yml", REPO / "docker" / "Dockerfile",
             *sorted((REPO / "conf").rglob("*.yaml"))]
    used = {name: path.relative_to(REPO).as_posix() for path in files
            for name in re.findall(r"FEDCHURN_KAFKA_[A-Z_]*[A-Z]", path.read_text())}
    assert "FEDCHURN_KAFKA_SASL_PASSWORD" in used and "FEDCHURN_KAFKA_TOPIC_PREFIX" in used
    unknown = {name: where for name, where in used.items() if name not in ENV_VARS.values()}
    assert unknown == {}


def test_an_old_name_alone_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kafka_bridge.config"):
        assert settings_from_env({"FEDCHURN_TOPIC_PREFIX": "old"}) == {}
    assert "set FEDCHURN_KAFKA_TOPIC_PREFIX instead" in caplog.text
