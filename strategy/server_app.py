"""The fedchurn ServerApp: agree the feature spec, run ChurnFedAvg, evaluate, save the model.

`build_server_app(plan, observers, outcome)` closes over everything a run needs (Flower's
`run_simulation` passes no run config) and fills `outcome` for the caller to report.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp

from churn import protocol as P
from churn.loading import ChurnData
from churn.metrics import binary_metrics, curve_points, score_summary
from churn.model import predict_proba, zero_params
from churn.model_artifact import MODEL_FILE, save_model
from churn.ndarrays import ndarrays
from churn.rounds import RoundObserver, RoundRecord, RunInfo
from churn.schema import DatasetSchema
from churn.schema_inference import SchemaDecision
from strategy.factory import StrategyContext, build_strategy
from strategy.feature_queries import FeatureAgreement, agree_feature_spec, agree_schema
from strategy.federated_eval import FederatedEvalSettings
from strategy.observer_hub import ObserverHub
from strategy.privacy_setup import private_strategy  # noqa: F401 - registers its wrapper

log = logging.getLogger(__name__)


@dataclass
class ServerPlan:
    """Everything the ServerApp needs, decided before the run starts."""

    run_id: str
    num_nodes: int
    num_rounds: int
    test: ChurnData | None  # the shared held-out test set; None: federated evaluation only
    local_iterations: int
    C: float
    schema: DatasetSchema | None = None  # column roles; from `test` when it is given
    imputation: str = "median"
    regularisation: str = "global"  # "global": C scaled per site to the centralized objective
    strategy: dict[str, Any] = field(default_factory=dict)  # FedAvg sampling arguments
    seed: int = 0
    timeout: float = 600.0
    output_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)  # resolved run config, for observers
    reference: dict[str, Any] = field(default_factory=dict)
    code_version: str = "unknown"  # e.g. the git commit, for observers
    privacy: dict[str, Any] = field(default_factory=dict)  # `privacy` group (strategy.privacy)
    secure: dict[str, Any] = field(default_factory=dict)  # `secure` group (strategy.secure)
    # data=csv: the data config whose unnamed columns the nodes' evidence decides (phase 0);
    # None: the test set's schema is the run's schema.
    schema_inference: dict[str, Any] | None = None


@dataclass
class ServerOutcome:
    """What the ServerApp produced; filled while it runs."""

    agreement: FeatureAgreement | None = None
    schema_decision: SchemaDecision | None = None
    initial_metrics: dict[str, float] = field(default_factory=dict)
    records: list[RoundRecord] = field(default_factory=list)
    final_arrays: list[np.ndarray] | None = None
    model_path: Path | None = None
    observer_failures: list[str] = field(default_factory=list)
    stop_reason: str | None = None  # why the run ended before num_rounds (None: it did not)


def build_server_app(plan: ServerPlan, observers: Sequence[RoundObserver] = (),
                     outcome: ServerOutcome | None = None) -> ServerApp:
    """A ServerApp running `plan`; observers get every run and round event."""
    outcome = outcome if outcome is not None else ServerOutcome()
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        run_observed(grid, lambda: plan, observers, outcome)

    return app


def run_observed(grid: Grid, make_plan: Callable[[], ServerPlan],
                 observers: Sequence[RoundObserver], outcome: ServerOutcome) -> None:
    """Build the plan and run it; any failure (also while building the plan) reaches every
    observer as `run_failed` and is re-raised. Observer failures end up in `outcome`."""
    hub = ObserverHub(observers)
    try:
        run_federation(grid, make_plan(), hub, outcome)
    except Exception as ex:
        hub.run_failed(f"{type(ex).__name__}: {ex}")
        raise
    finally:
        outcome.observer_failures = hub.failures


def run_federation(grid: Grid, plan: ServerPlan, hub: ObserverHub, outcome: ServerOutcome) -> None:
    """The server's steps: spec -> observers -> rounds -> final model."""
    started = time.perf_counter()
    test = plan.test
    schema = test.schema if test is not None else plan.schema
    if plan.schema_inference is not None:
        outcome.schema_decision = agree_schema(grid, plan.num_nodes, plan.schema_inference,
                                               plan.timeout)
        schema = outcome.schema_decision.schema
        if test is not None and schema != test.schema:
            log.info("schema agreed by the nodes differs from the test file's own; applying it")
            test = test.with_schema(schema)
    if schema is None:
        raise ValueError("ServerPlan needs a test set, a schema or schema inference")
    agreement = agree_feature_spec(grid, plan.num_nodes, schema, plan.imputation, plan.timeout)
    outcome.agreement = agreement
    spec = agreement.spec
    hub.run_started(RunInfo(
        run_id=plan.run_id, config=plan.config,
        dataset_fingerprint=test.fingerprint if test is not None else "",
        code_version=plan.code_version, feature_names=spec.feature_names,
        spec_fingerprint=spec.fingerprint, num_clients=plan.num_nodes, reference=plan.reference,
    ))
    context = StrategyContext(
        options=plan.strategy, num_features=spec.num_features,
        spec_fingerprint=spec.fingerprint, hub=hub, node_partitions=agreement.node_partitions,
        sampling_seed=plan.seed, C=plan.C, num_nodes=plan.num_nodes, num_rounds=plan.num_rounds,
        sampling=_sampling_arguments(plan.strategy, plan.num_nodes), plan=plan,
        federated_eval=FederatedEvalSettings.from_options(plan.strategy, plan.C),
    )
    # privacy=dp / secure=secagg: the wrapper strategy.privacy_setup registers swaps them in
    strategy = build_strategy(context)
    test_x = spec.transform(test.features, source="server test set") if test is not None else None

    def evaluate_global(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        if test is None or test_x is None:
            return None
        metrics = binary_metrics(test.target, predict_proba(ndarrays(arrays), test_x))
        if server_round == 0:
            outcome.initial_metrics = metrics
        return MetricRecord(metrics)

    total = agreement.total_examples if plan.regularisation == "global" else 0
    shared = {P.FEATURE_SPEC: spec.to_json(), P.SPEC_FINGERPRINT: spec.fingerprint,
              P.SCHEMA: json.dumps(schema.to_dict(), sort_keys=True)}
    train_config = ConfigRecord({P.LOCAL_ITERATIONS: plan.local_iterations, P.C: plan.C,
                                 P.TOTAL_EXAMPLES: total, **shared})
    initial = ArrayRecord(zero_params(spec.num_features))
    result = strategy.start(grid, initial, num_rounds=plan.num_rounds, timeout=plan.timeout,
                            train_config=train_config, evaluate_config=ConfigRecord(shared),
                            evaluate_fn=evaluate_global)
    outcome.records = strategy.records
    outcome.stop_reason = strategy.stop_reason
    final = ndarrays(result.arrays or initial)
    outcome.final_arrays = final
    if plan.output_dir is not None:
        outcome.model_path = save_model(Path(plan.output_dir) / MODEL_FILE, spec, schema,
                                        final, plan.C)
    last = strategy.records[-1].server_metrics if strategy.records else outcome.initial_metrics
    evaluated = [r.federated_eval for r in strategy.records if r.federated_eval]
    final_proba = predict_proba(final, test_x) if test is not None and test_x is not None else None
    hub.run_finished({"run_id": plan.run_id, "rounds": len(strategy.records),
                      "final_server_metrics": last,
                      "curves": (curve_points(test.target, final_proba)
                                 if test is not None and final_proba is not None else {}),
                      "scores": (score_summary(test.target, final_proba)
                                 if test is not None and final_proba is not None else {}),
                      "federated_eval": evaluated[-1] if evaluated else None,
                      "stop_reason": strategy.stop_reason,
                      "wall_time_s": time.perf_counter() - started,
                      "model_path": str(outcome.model_path or "")})


def _sampling_arguments(cfg: dict[str, Any], num_nodes: int) -> dict[str, Any]:
    """FedAvg's sampling arguments; minimums capped at the number of nodes so a small
    federation never waits for nodes that do not exist."""
    args = {"fraction_train": float(cfg.get("fraction_train", 1.0)),
            "fraction_evaluate": float(cfg.get("fraction_evaluate", 1.0))}
    for key in ("min_train_nodes", "min_evaluate_nodes", "min_available_nodes"):
        args[key] = min(int(cfg.get(key, 2)), num_nodes)
    return args

