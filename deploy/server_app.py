"""Deployment ServerApp (`flwr run`): builds the run plan and Kafka mirror from the run config.

Flower's deployment engine gives the ServerApp only `context.run_config` (the kebab-case
`[tool.flwr.app.config]` keys of pyproject.toml, overridden by `flwr run --run-config`), so
this module builds its plan from that with `strategy.run_plan` (the builder the simulation
uses too, on its Hydra config converted to the same keys) and hands it to `run_federation`. Server-side paths (`test-path`, `output-dir`, TLS files of Kafka) are paths
on the machine or container that runs the ServerApp. Secrets never travel in the run config
(it is sent to every SuperNode): the Kafka SASL password comes from the ServerApp's
environment, `FEDCHURN_KAFKA_SASL_PASSWORD`. Empty Kafka settings fall back to
`FEDCHURN_KAFKA_<NAME>` environment variables (compose sets `FEDCHURN_KAFKA_BOOTSTRAP`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from churn.rounds import RoundObserver
from strategy import run_plan
from strategy.console_progress import ConsoleProgress
from strategy.observer_hub import ObserverHub
from strategy.server_app import ServerOutcome, ServerPlan, run_federation

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
    """The Kafka bridge settings, or None when no bootstrap address is configured."""
    cfg: dict[str, Any] = {}
    for key, field in KAFKA_KEYS.items():
        value = str(run_config.get(key, "") or env.get(f"FEDCHURN_{key.upper().replace('-', '_')}", ""))
        if value:
            cfg[field] = value
    if not cfg.get("bootstrap_servers"):
        return None
    cfg["bootstrap_servers"] = [s.strip() for s in cfg["bootstrap_servers"].split(",") if s.strip()]
    cfg.setdefault("spool_dir", str(Path(tempfile.gettempdir()) / "fedchurn-spool"))
    if password := env.get("FEDCHURN_KAFKA_SASL_PASSWORD"):
        cfg["sasl_plain_password"] = password
    if "mirror-client-updates" in run_config:
        cfg["mirror_client_updates"] = bool(run_config["mirror-client-updates"])
    return cfg


def server_plan(run_config: Mapping[str, Any], flower_run_id: int) -> ServerPlan:
    """The ServerPlan a deployment's run config describes; the test set is read from
    `test-path`, the run is named `run-name` or else after Flower's run id."""
    return run_plan.server_plan(run_config, default_run_id=f"flwr-{flower_run_id}",
                                config={**dict(run_config), "flower-run-id": str(flower_run_id)})


def build_observers(run_config: Mapping[str, Any], env: Mapping[str, str]) -> list[RoundObserver]:
    """Console progress, plus the Kafka mirror when a bootstrap address is configured."""
    observers: list[RoundObserver] = [ConsoleProgress()]
    cfg = bridge_config(run_config, env)
    if cfg is not None:
        from kafka_bridge.observer import KafkaObserver

        observers.append(KafkaObserver(cfg))
    return observers


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the federation the run config describes, mirrored to Kafka when configured."""
    run_config = dict(context.run_config)
    observers = build_observers(run_config, os.environ)
    hub = ObserverHub(observers)
    try:
        plan = server_plan(run_config, context.run_id)
        run_federation(grid, plan, hub, ServerOutcome())
    except Exception as ex:
        hub.run_failed(f"{type(ex).__name__}: {ex}")
        raise
    finally:
        for observer in observers:
            close = getattr(observer, "close", None)
            if callable(close):
                close()
