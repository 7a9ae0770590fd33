"""The one ServerPlan builder: a flat kebab-case run config -> the plan the ServerApp runs.

The deployment hands over Flower's `context.run_config` (the `[tool.flwr.app.config]` keys of
pyproject.toml); the simulation converts its Hydra config to the same keys with
`server_run_config` (the ClientApp's half is `churn.site_data.ClientSettings.to_run_config`),
so both build their plan here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from churn import protocol as P
from churn.datasets import dataset_schema, load_dataset, needs_inference
from churn.loading import ChurnData
from churn.site_data import ClientSettings
from strategy.server_app import ServerPlan

# Sampling keys of the run config; they override the same options of `strategy-config`.
STRATEGY_KEYS = ("fraction-train", "fraction-evaluate", "min-train-nodes", "min-evaluate-nodes",
                 "min-available-nodes")


def server_run_config(cfg: Mapping[str, Any], *, run_id: str, code_version: str,
                      output_dir: Path | None) -> dict[str, str | int | float]:
    """The server's run-config entries of a (resolved) Hydra config."""
    strategy = dict(cfg["strategy"])
    return {
        "run-name": run_id,
        "code-version": code_version,
        "output-dir": str(output_dir) if output_dir is not None else "",
        "num-server-rounds": int(cfg["num_rounds"]),
        "strategy-config": json.dumps(strategy),
        P.LOCAL_ITERATIONS: int(cfg["client"]["local_iterations"]),
        P.C: float(cfg["C"]),
        "imputation": str(cfg["imputation"]),
        "regularisation": str(strategy.get("regularisation", "global")),
        "round-timeout": float(strategy.get("timeout", 600.0)),
    }


def server_plan(
    run_config: Mapping[str, Any],
    *,
    default_run_id: str = "",
    test: ChurnData | None = None,
    config: Mapping[str, Any] | None = None,
    reference: Mapping[str, Any] | None = None,
    privacy: Mapping[str, Any] | None = None,
    secure: Mapping[str, Any] | None = None,
) -> ServerPlan:
    """The ServerPlan `run_config` describes.

    `test` is the held-out test set; without it, it is read from the run config's `test-path`,
    and with `test-path` empty too the server holds no customer rows: every metric then comes
    from the sites' federated evaluation (`strategy.federated_eval`).
    `config` is what observers are shown (default: the run config itself). The `privacy` /
    `secure` groups are arguments, not run-config keys: a deployment's run config is sent to
    every SuperNode, and the DP group holds the secret noise seed.
    """
    settings = ClientSettings.from_run_config(run_config)  # same keys the ClientApp reads
    data_config = json.loads(settings.data_config)
    test_path = str(run_config.get("test-path", "") or "")
    if test is None and test_path:
        test = load_dataset({**data_config, "path": test_path})
    # conf/strategy/* as JSON (name and its options), then the sampling keys of the run config
    strategy = dict(json.loads(str(run_config.get("strategy-config", "") or "{}")))
    strategy.update({key.replace("-", "_"): run_config[key] for key in STRATEGY_KEYS
                     if key in run_config})
    output_dir = str(run_config.get("output-dir", "") or "")
    return ServerPlan(
        run_id=str(run_config.get("run-name", "")) or default_run_id,
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
        config=dict(config if config is not None else run_config),
        reference=dict(reference or {}),
        code_version=str(run_config.get("code-version", "") or "unknown"),
        privacy=dict(privacy or {}),
        secure=dict(secure or {}),
        # data=csv: the nodes' evidence decides the schema (their files, not the test file's)
        schema_inference=data_config if needs_inference(data_config) else None,
    )
