"""One entry point for federated runs: `fedchurn simulate [overrides]` (or `python -m fedchurn.simulate`).

Examples:
  fedchurn simulate engine=inprocess
  fedchurn simulate data=telco data.path=../shared/data/telco_customer_churn.csv \
      partition=dirichlet partition.alpha=0.5 num_clients=10 num_rounds=5 engine=inprocess
  fedchurn simulate -m num_clients=2,5,10,20      # a sweep, summarised at the end

Each run writes results.json and model.json into its Hydra run directory, whose name is
the run id (in a sweep: "<sweep dir name>_<job subdir>").
"""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flwr.clientapp import ClientApp

from churn.model_artifact import stored_sha256
from churn.partitioning import format_partition_report
from churn.provenance import code_version
from churn.redaction import redact
from churn.rounds import RoundObserver, unique_run_id
from churn.schema_file import write_schema_file
from churn.schema_inference import format_schema_table
from churn.secure_protocol import site_run_config
from churn.site_data import ClientSettings, load_experiment
from clients.behaviour import ClientBehaviour
from clients.client_app import build_client_app
from fedchurn import CONF_DIR
from fedchurn.baselines import compute_baselines
from fedchurn.config import with_absolute_path
from fedchurn.engines import run_engine
from fedchurn.results import (
    comparison_table,
    final_comparison,
    observer_reference,
    round_rows,
    write_results,
)
from fedchurn.user_errors import run_reporting_bad_input, take_debug_flag
from kafka_bridge.mirror_setup import audit_public_keys, build_observers
from strategy.console_progress import ConsoleProgress
from strategy.privacy_setup import privacy_summary, with_resolved_privacy
from strategy.run_plan import server_plan, server_run_config
from strategy.server_app import ServerOutcome, build_server_app

log = logging.getLogger(__name__)


def client_settings(cfg: Mapping[str, Any]) -> ClientSettings:
    """The ClientApp's data settings (its kebab-case run config) from the Hydra config."""
    client = cfg["client"]
    return ClientSettings(
        data_config=json.dumps(with_absolute_path(cfg["data"]), sort_keys=True),
        partition_config=json.dumps(dict(cfg["partition"]), sort_keys=True),
        num_clients=int(cfg["num_clients"]), seed=int(cfg["seed"]),
        test_size=float(cfg["test_size"]),
        local_eval_fraction=float(client["local_eval_fraction"]),
        min_rows=int(client.get("min_rows", 1)),
        single_class=str(client.get("single_class", "train")),
    )


def run_job(
    cfg: Mapping[str, Any],
    *,
    run_id: str,
    output_dir: Path | None,
    overrides: Sequence[str] = (),
    observers: Sequence[RoundObserver] | None = None,
    wrap_client_app: Callable[[ClientApp], ClientApp] | None = None,
) -> dict[str, Any]:
    """Run one federation as `cfg` describes; returns (and writes) its results."""
    started = time.perf_counter()
    # 1. config: what every site and the server are told
    settings = client_settings(cfg)
    engine_cfg = dict(cfg["engine"])
    # 2. data and the shared held-out test set, 3. the sites' partitions
    experiment = load_experiment(settings)
    print(f"data {experiment.data.source}: train {len(experiment.train)}, "
          f"test {len(experiment.test)}; {len(experiment.parts)} sites "
          f"({cfg['partition']['name']}), engine {engine_cfg['name']}")
    print(format_partition_report(experiment.partition_report))
    decision = experiment.schema_decision
    if decision is not None:
        print(format_schema_table(decision))
        if output_dir is not None:
            print(f"schema -> {write_schema_file(Path(output_dir) / 'schema.yaml', decision)}")
    # 4. reference numbers (centralized and local-only) on the same spec the sites will agree
    spec = experiment.feature_spec(str(cfg["imputation"]))
    reference = compute_baselines(experiment, spec, float(cfg["C"]),
                                  local_only=bool((cfg.get("reference") or {}).get("local_only",
                                                                                    True)))
    cfg = with_resolved_privacy(cfg, len(experiment.parts))  # privacy=dp: z calibrated to ε
    # 5. the apps
    outcome = ServerOutcome()
    run_config = {**settings.to_run_config(),
                  **server_run_config(cfg, run_id=run_id, code_version=code_version(),
                                      output_dir=output_dir)}
    plan = server_plan(run_config, test=experiment.test, config=public_config(cfg),
                       reference=observer_reference(reference), privacy=cfg.get("privacy"),
                       secure=cfg.get("secure"))
    if observers is None:
        observers = build_observers(cfg.get("bridge"))
    server_app = build_server_app(plan, [ConsoleProgress(), *observers], outcome)
    behaviour = ClientBehaviour.from_client_config(cfg["client"], int(cfg["seed"]))
    client_app = build_client_app({**settings.to_run_config(), **behaviour.to_run_config(),
                                   **site_run_config(cfg.get("secure") or {})})
    if wrap_client_app is not None:
        client_app = wrap_client_app(client_app)
    # 6. the run
    setup_s = time.perf_counter() - started
    cpu_before = time.process_time()
    run_engine(engine_cfg, server_app, client_app, len(experiment.parts), seed=int(cfg["seed"]))
    federation_s = time.perf_counter() - started - setup_s
    federation_cpu_s = time.process_time() - cpu_before  # this process only (not Ray actors)
    # 7. results
    if outcome.schema_decision is not None and decision is not None \
            and outcome.schema_decision.schema != decision.schema:
        log.warning("the nodes' schema %s differs from the in-process one %s",
                    outcome.schema_decision.schema, decision.schema)
    agreed = outcome.agreement.spec.fingerprint if outcome.agreement else None
    if agreed != spec.fingerprint:
        log.warning("federated spec %s differs from the reference spec %s", agreed,
                    spec.fingerprint)
    rounds = round_rows(outcome.initial_metrics, outcome.records)
    final = final_comparison(rounds, reference)
    results = {
        "run_id": run_id,
        "engine": engine_cfg["name"],
        "overrides": redact(list(overrides)),
        "config": public_config(cfg),
        "data": {"source": experiment.data.source, "fingerprint": experiment.data.fingerprint,
                 "train_rows": len(experiment.train), "test_rows": len(experiment.test)},
        "partitions": experiment.partition_report,
        "schema": experiment.data.schema.to_dict(),
        "leak_warnings": decision.leaks if decision is not None else [],
        "schema_agreed_by_sites": (outcome.schema_decision.sites
                                   if outcome.schema_decision is not None else None),
        "spec_fingerprint": agreed,
        "num_features": spec.num_features,
        "preprocessing_rejected": [vars(r) for r in
                                   (outcome.agreement.rejected if outcome.agreement else [])],
        "rounds": rounds,
        "final": final,
        "stop_reason": outcome.stop_reason,
        "privacy": privacy_summary(cfg.get("privacy"), outcome.records),
        "reference": reference,
        "timing": {"wall_s": time.perf_counter() - started, "setup_s": setup_s,
                   "federation_s": federation_s, "federation_cpu_s": federation_cpu_s,
                   "rounds_s": [r["seconds"] for r in rounds[1:]],
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024},
        "model_path": str(outcome.model_path) if outcome.model_path else None,
        "model_sha256": stored_sha256(outcome.model_path) if outcome.model_path else None,
        "observer_failures": outcome.observer_failures,
        # the Ed25519 key(s) the Kafka mirror signed this run's events with (`fedchurn audit
        # verify --public-key`); [] without a mirror
        "audit_public_keys": audit_public_keys(observers),
    }
    if output_dir is not None:
        write_results(Path(output_dir) / "results.json", results)
    print(comparison_table(final))
    print(f"wall {results['timing']['wall_s']:.1f} s; results in {output_dir}")
    return results


def public_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config as results.json and observers see it: secrets (e.g. a Kafka password from
    the environment) replaced by "***" (churn.redaction)."""
    return redact(dict(cfg))


def run_id_of(hydra_cfg: Any) -> str:
    """`<run dir name>-<6 hex>`, new for every run (a rerun into the same `hydra.run.dir` gets
    its own id); in a sweep `<sweep dir name>-<6 hex>_<job subdir>`, the suffix shared by the
    sweep's jobs (derived from the sweep's multirun.yaml, rewritten by every new sweep)."""
    from hydra.types import RunMode

    if hydra_cfg.mode == RunMode.MULTIRUN:
        sweep = Path(hydra_cfg.sweep.dir)
        return unique_run_id(sweep.name, _sweep_suffix(sweep)) + f"_{hydra_cfg.sweep.subdir}"
    return unique_run_id(Path(hydra_cfg.runtime.output_dir).name)


def _sweep_suffix(sweep_dir: Path) -> str | None:
    """6 hex from the identity of the multirun.yaml Hydra writes when a sweep starts (None if
    absent: each job then gets its own random suffix)."""
    try:
        stat = (sweep_dir / "multirun.yaml").stat()
    except OSError:
        return None
    return hashlib.sha256(f"{stat.st_ino}:{stat.st_mtime_ns}".encode()).hexdigest()[:6]


def main() -> None:
    """Hydra entry point (`conf/config.yaml`); bad data ends it with one paragraph, exit 2."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def _entry(cfg: DictConfig) -> float | None:
        hydra_cfg = HydraConfig.get()
        resolved = OmegaConf.to_container(cfg, resolve=True)
        results = run_reporting_bad_input(
            lambda: run_job(resolved, run_id=run_id_of(hydra_cfg),
                            output_dir=Path(hydra_cfg.runtime.output_dir),
                            overrides=list(hydra_cfg.overrides.task)), argv)
        return results["final"].get("federated_auc")

    argv = take_debug_flag()
    _entry()


if __name__ == "__main__":
    main()
