"""Deployment ServerApp (`flwr run`): builds the run plan and Kafka mirror from the run config.

Flower's deployment engine gives the ServerApp only `context.run_config` (the kebab-case
`[tool.flwr.app.config]` keys of pyproject.toml, overridden by `flwr run --run-config`), so
this module builds its plan with `strategy.run_plan` (the builder the simulation uses too,
on its Hydra config converted to the same keys) and its Kafka mirror with
`kafka_bridge.mirror_setup`. Server-side paths (`test-path`, `output-dir`, TLS files of
Kafka) are paths on the machine or container that runs the ServerApp; `test-path` is optional
(without it the metrics come from the sites' federated evaluation, and with `output-dir` the
ServerApp writes results.json there). Secrets never travel
in the run config (it is sent to every SuperNode): the Kafka SASL password comes from the
ServerApp's environment, `FEDCHURN_KAFKA_SASL_PASSWORD`. Empty Kafka settings fall back to
`FEDCHURN_KAFKA_<NAME>` environment variables (compose sets `FEDCHURN_KAFKA_BOOTSTRAP`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from churn.run_results import round_rows, write_results
from deploy.submit import deployment_run_id
from kafka_bridge.mirror_setup import bridge_config, build_observers
from strategy import run_plan
from strategy.console_progress import ConsoleProgress
from strategy.server_app import ServerOutcome, ServerPlan, run_observed

log = logging.getLogger(__name__)


def server_plan(run_config: Mapping[str, Any], flower_run_id: int) -> ServerPlan:
    """The ServerPlan a deployment's run config describes; the test set is read from
    `test-path`; the run id is `<run-name>-<Flower run id's last 6 hex>` (a rerun under the same
    name gets its own id), or `flwr-<Flower run id>` without a name."""
    run_id = deployment_run_id(str(run_config.get("run-name", "")), flower_run_id)
    return run_plan.server_plan({**dict(run_config), "run-name": run_id}, default_run_id=run_id,
                                config={**dict(run_config), "flower-run-id": str(flower_run_id)})


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


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the federation the run config describes, mirrored to Kafka when configured."""
    run_config = dict(context.run_config)
    observers = [ConsoleProgress(), *build_observers(bridge_config(run_config, os.environ))]
    plans: list[ServerPlan] = []

    def make_plan() -> ServerPlan:
        plans.append(server_plan(run_config, context.run_id))
        return plans[-1]

    outcome = ServerOutcome()
    try:
        run_observed(grid, make_plan, observers, outcome)
        if plans[-1].output_dir is not None:
            write_results(plans[-1].output_dir / "results.json",
                          deployment_results(plans[-1], outcome))
    finally:
        for observer in observers:
            close = getattr(observer, "close", None)
            if callable(close):
                close()
