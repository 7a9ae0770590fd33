"""Reference models on the shared test set: centralized LR (pooled rows) and local-only LR per client.

Both train on exactly the rows the sites train on (`Experiment.training_rows`: each site's
partition less its `client.local_eval_fraction` held out), so federated vs centralized compares
like with like.

Run: fedchurn baselines [hydra overrides], e.g.
  fedchurn baselines data=telco data.path=../shared/data/telco_customer_churn.csv \
      partition=iid num_clients=10
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from churn.experiment import Experiment, prepare_experiment
from churn.feature_spec import FeatureSpec
from churn.loading import ChurnData
from churn.metrics import binary_metrics
from churn.model import fit_classifier
from fedchurn import CONF_DIR
from fedchurn.user_errors import run_reporting_bad_input, take_debug_flag

log = logging.getLogger(__name__)


def centralized_metrics(train_x: np.ndarray, train: ChurnData, test_x: np.ndarray,
                        test: ChurnData, C: float, rows: np.ndarray | None = None) -> dict:
    """LR fitted on training rows `rows` (default all) pooled (a reference only: federation
    never pools)."""
    x, y = (train_x, train.target) if rows is None else (train_x[rows], train.target[rows])
    model = fit_classifier(x, y, C=C)
    return binary_metrics(test.target, model.predict_proba(test_x)[:, 1])


def pooled_training_rows(experiment: Experiment) -> np.ndarray:
    """The union of the sites' training rows (indices into `experiment.train`), sorted."""
    parts = [experiment.training_rows(k) for k in range(len(experiment.parts))]
    return np.sort(np.concatenate(parts)).astype(int) if parts else np.zeros(0, dtype=int)


def local_only_metrics(
    train_x: np.ndarray, train: ChurnData, parts: list[np.ndarray], test_x: np.ndarray,
    test: ChurnData, C: float
) -> list[dict[str, float] | None]:
    """Each client's own LR on the shared test set; None where a client cannot train alone.

    `train_x` is the whole training table encoded once; a site's rows are sliced from it
    (encoding each site's frame separately cost 12 ms a site, more than its fit).
    """
    results: list[dict[str, float] | None] = []
    for rows in parts:
        labels = train.target[rows]
        if len(rows) == 0 or np.unique(labels).size < 2:
            results.append(None)
            continue
        model = fit_classifier(train_x[rows], labels, C=C)
        results.append(binary_metrics(test.target, model.predict_proba(test_x)[:, 1]))
    return results


def summarize_local(local: list[dict[str, float] | None]) -> dict[str, float | int]:
    """Mean and minimum local-only AUC over clients that could train alone."""
    aucs = [m["auc"] for m in local if m is not None and not math.isnan(m["auc"])]
    return {
        "local_mean_auc": float(np.mean(aucs)) if aucs else float("nan"),
        "local_min_auc": float(np.min(aucs)) if aucs else float("nan"),
        "local_trained": len(aucs),
        "local_untrainable": len(local) - len(aucs),
    }


def compute_baselines(experiment: Experiment, spec: FeatureSpec, C: float,
                      local_only: bool = True) -> dict[str, Any]:
    """Centralized and (unless `local_only` is False) local-only references for one experiment.

    Without local-only models `local` is empty and the local summary NaN / 0 (`reference`
    config group: one fit per site is the part of set-up that grows with N).
    """
    train_x = spec.transform(experiment.train.features, source="training rows")
    test_x = spec.transform(experiment.test.features, source="test rows")
    pooled = pooled_training_rows(experiment)
    central = centralized_metrics(train_x, experiment.train, test_x, experiment.test, C, pooled)
    site_rows = [experiment.training_rows(k) for k in range(len(experiment.parts))]
    local = (local_only_metrics(train_x, experiment.train, site_rows, test_x,
                                experiment.test, C) if local_only else [])
    return {"centralized": central, "centralized_rows": int(len(pooled)), "local": local,
            **summarize_local(local), "local_only": local_only}


def format_baselines(result: dict[str, Any], report: list[dict[str, Any]]) -> str:
    """The printed table: one row for centralized, one per client, one for the local mean."""
    lines = [f"{'model':<16} {'rows':>6} {'churn%':>7} {'AUC':>7} {'PR-AUC':>7} {'logloss':>8} {'acc':>6}"]

    def row(name: str, rows: str, churn: str, m: dict[str, float] | None) -> str:
        if m is None:
            return f"{name:<16} {rows:>6} {churn:>7} {'cannot train alone (one class or empty)':>40}"
        return (f"{name:<16} {rows:>6} {churn:>7} {m['auc']:>7.4f} {m['pr_auc']:>7.4f} "
                f"{m['log_loss']:>8.4f} {m['accuracy']:>6.3f}")

    lines.append(row("centralized", str(result["centralized_rows"]), "", result["centralized"]))
    for entry, metrics in zip(report, result["local"], strict=True):
        churn = "-" if entry["empty"] else f"{100 * entry['churn_rate']:.1f}"
        lines.append(row(f"local client {entry['client']}", str(entry["rows"]), churn, metrics))
    lines.append(f"{'local mean':<16} {'':>6} {'':>7} {result['local_mean_auc']:>7.4f}   "
                 f"(min {result['local_min_auc']:.4f}, {result['local_untrainable']} untrainable)")
    return "\n".join(lines)


def run_baselines(cfg: Any) -> dict[str, Any]:
    """Config -> data -> partitions -> spec -> references -> baselines.json in the run dir."""
    experiment = prepare_experiment(cfg)
    spec = experiment.feature_spec(str(cfg["imputation"]))
    result = compute_baselines(experiment, spec, float(cfg["C"]))
    print(f"data: {experiment.data.source}  train={len(experiment.train)} test={len(experiment.test)}"
          f"  features={spec.num_features}  spec={spec.fingerprint}")
    print(format_baselines(result, experiment.partition_report))
    out = Path(str(cfg["output_dir"])) / "baselines.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {**result, "partitions": experiment.partition_report,
               "spec_fingerprint": spec.fingerprint, "data_fingerprint": experiment.data.fingerprint}
    out.write_text(json.dumps(payload, indent=2, default=float))
    print(f"wrote {out}")
    return payload


def main() -> None:
    """Hydra entry point; bad data ends it with one paragraph and exit code 2."""
    import hydra
    from omegaconf import DictConfig, OmegaConf

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def _entry(cfg: DictConfig) -> None:
        resolved = OmegaConf.to_container(cfg, resolve=True)
        run_reporting_bad_input(lambda: run_baselines(resolved), argv)

    argv = take_debug_flag()
    _entry()


if __name__ == "__main__":
    main()
