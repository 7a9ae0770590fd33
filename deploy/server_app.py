"""Deployment ServerApp (`flwr run`): builds the run plan and Kafka mirror from the run config.

Flower's deployment engine gives the ServerApp only `context.run_config` (the kebab-case
`[tool.flwr.app.config]` keys of pyproject.toml, overridden by `flwr run --run-config`), so
this module reads that instead of Hydra and hands the plan to `strategy.server_app`'s
`run_federation`. Server-side paths (`test-path`, `output-dir`, TLS files of Kafka) are paths
on the machine or container that runs the ServerApp; `test-path` is optional (without it the
metrics come from the sites' federated evaluation). Secrets never travel in the run config
(it is sent to every SuperNode): the Kafka SASL password comes from the ServerApp's
environment, `FEDCHURN_KAFKA_SASL_PASSWORD`. Empty Kafka settings fall back to
`FEDCHURN_KAFKA_<NAME>` environment variables (compose sets `FEDCHURN_KAFKA_BOOTSTRAP`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from churn import protocol as P
from churn.datasets import dataset_schema, load_dataset
from churn.rounds import RoundObserver
from churn.run_results import round_rows, write_results
from churn.site_data import ClientSettings
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
STRATEGY_KEYS = ("fraction-train", "fraction-evaluate", "min-train-nodes", "min-evaluate-nodes",
                 "min-available-nodes")


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
    """The ServerPlan a run config describes; the test set is read from `test-path` when given.

    Without `test-path` (or with "") the server holds no customer rows at all: every metric
    comes from the sites' federated evaluation (`strategy.federated_eval`)."""
    settings = ClientSettings.from_run_config(run_config)  # same keys the ClientApp reads
    test_path = str(run_config.get("test-path", ""))
    data_config = json.loads(settings.data_config)
    test = load_dataset({**data_config, "path": test_path}) if test_path else None
    # conf/strategy/* as JSON (name and its options), then the sampling keys of the run config
    strategy = dict(json.loads(str(run_config.get("strategy-config", "") or "{}")))
    strategy.update({key.replace("-", "_"): run_config[key] for key in STRATEGY_KEYS
                     if key in run_config})
    output_dir = str(run_config.get("output-dir", ""))
    return ServerPlan(
        run_id=str(run_config.get("run-name", "")) or f"flwr-{flower_run_id}",
        num_nodes=settings.num_clients,
        num_rounds=int(run_config.get("num-server-rounds", 5)),
        test=test,
        schema=dataset_schema(data_config),
        local_iterations=int(run_config.get(P.LOCAL_ITERATIONS, 10)),
        C=float(run_config.get(P.C, 1.0)),
        imputation=str(run_config.get("imputation", "median")),
        regularisation=str(run_config.get("regularisation", "global")),
        strategy=strategy,
        seed=settings.seed,
        timeout=float(run_config.get("round-timeout", 600.0)),
        output_dir=Path(output_dir) if output_dir else None,
        config={**dict(run_config), "flower-run-id": str(flower_run_id)},
        code_version=str(run_config.get("code-version", "") or "unknown"),
    )


def deployment_results(plan: ServerPlan, outcome: ServerOutcome) -> dict[str, Any]:
    """results.json of a deployed run: rounds (server-test metrics only with `test-path`) and
    `final.federated_eval`, the numbers the sites computed without pooling any row."""
    rounds = round_rows(outcome.initial_metrics, outcome.records)
    evaluated = [r["federated_eval"] for r in rounds if r.get("federated_eval")]
    return {"run_id": plan.run_id, "engine": "deployment", "config": plan.config,
            "server_test_set": plan.test is not None, "rounds": rounds,
            "final": {"federated_eval": evaluated[-1] if evaluated else None},
            "stop_reason": outcome.stop_reason,
            "model_path": str(outcome.model_path) if outcome.model_path else None}


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
        outcome = ServerOutcome()
        run_federation(grid, plan, hub, outcome)
        if plan.output_dir is not None:
            write_results(plan.output_dir / "results.json", deployment_results(plan, outcome))
    except Exception as ex:
        hub.run_failed(f"{type(ex).__name__}: {ex}")
        raise
    finally:
        for observer in observers:
            close = getattr(observer, "close", None)
            if callable(close):
                close()
