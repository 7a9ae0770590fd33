"""From a bridge config (the Hydra `bridge` group, or a deployment's run config + environment)
to the Kafka mirror observers it asks for."""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from churn.rounds import RoundObserver
from kafka_bridge.config import settings_from_env

log = logging.getLogger(__name__)

# run-config key -> BridgeConfig field; values "" mean "not set" (TOML has no null).
KAFKA_KEYS = {
    "kafka-bootstrap": "bootstrap_servers",
    "kafka-topic-prefix": "topic_prefix",
    "kafka-spool-dir": "spool_dir",
    "kafka-security-protocol": "security_protocol",
    "kafka-sasl-mechanism": "sasl_mechanism",
    "kafka-sasl-username": "sasl_plain_username",
    "kafka-ssl-cafile": "ssl_cafile",
    "kafka-ssl-certfile": "ssl_certfile",
    "kafka-ssl-keyfile": "ssl_keyfile",
}


def bridge_config(run_config: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any] | None:
    """A deployment's bridge settings: run-config `kafka-*` keys, else the environment
    (`kafka_bridge.config.ENV_VARS`); passwords only from the environment. None when no
    bootstrap address is configured."""
    cfg: dict[str, Any] = settings_from_env(env)
    for key, name in KAFKA_KEYS.items():
        if value := str(run_config.get(key, "") or ""):
            cfg[name] = value
    if not cfg.get("bootstrap_servers"):
        return None
    cfg["bootstrap_servers"] = [s.strip() for s in cfg["bootstrap_servers"].split(",") if s.strip()]
    cfg.setdefault("spool_dir", str(Path(tempfile.gettempdir()) / "fedchurn-spool"))
    if "mirror-client-updates" in run_config:
        cfg["mirror_client_updates"] = bool(run_config["mirror-client-updates"])
    return cfg


def build_observers(bridge: Mapping[str, Any] | None) -> list[RoundObserver]:
    """The Kafka mirror `bridge` asks for: none for None or `name: off`, else one KafkaObserver.

    `bridge` is the Hydra `bridge` group (`name` off | kafka, then BridgeConfig fields) or the
    BridgeConfig fields `bridge_config` reads from a deployment (no `name`: kafka).
    """
    if bridge is None:
        return []
    settings = dict(bridge)
    name = settings.pop("name", "kafka")
    if name in ("off", False, None):
        return []
    if name != "kafka":
        raise ValueError(f"unknown bridge {name!r}; use bridge=off or bridge=kafka")
    from kafka_bridge.observer import KafkaObserver

    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO
    warnings.filterwarnings("ignore", message=r".*(read_text|open_text) is deprecated",
                            category=DeprecationWarning)  # kafka-python's importlib.resources use

    observer = KafkaObserver(settings)
    log.info("mirroring to Kafka at %s (topic prefix %s)", observer.config.bootstrap_servers,
             observer.config.topic_prefix)
    return [observer]


def audit_public_keys(observers: Sequence[RoundObserver]) -> list[str]:
    """Hex public keys the Kafka mirrors among `observers` sign events with (for results.json:
    an auditor pins them with `fedchurn audit verify --public-key`)."""
    from kafka_bridge.observer import KafkaObserver

    return [o.public_key for o in observers if isinstance(o, KafkaObserver)]
