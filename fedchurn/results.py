"""A federated run's results.json and its console tables (rounds, federated vs references)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from churn.metrics import METRIC_NAMES
from churn.rounds import RoundRecord


def round_rows(initial_metrics: dict[str, float], records: list[RoundRecord]) -> list[dict]:
    """One entry per round, round 0 being the initial (all-zero) model."""
    rows = [{"round": 0, **{k: initial_metrics.get(k) for k in METRIC_NAMES},
             "participants": 0, "rejected": 0, "rejections": [], "missing": [], "seconds": 0.0}]
    for record in records:
        rows.append({
            "round": record.server_round,
            **{k: record.server_metrics.get(k) for k in METRIC_NAMES},
            "participants": (len(record.secure["participants"]) if getattr(record, "secure", None)
                             else len(record.updates)),
            "rejected": len(record.rejected),
            "rejections": [{"node_id": r.node_id, "partition_id": r.partition_id,
                            "reason": r.reason} for r in record.rejected],
            "missing": [{"node_id": r.node_id, "partition_id": r.partition_id,
                         "reason": r.reason} for r in getattr(record, "missing", [])],
            "evaluate_rejected": len(record.evaluate_rejected),
            "train_metrics": record.train_metrics,
            "evaluate_metrics": record.evaluate_metrics,
            "seconds": record.durations.get("round"),
            **({"privacy": record.privacy} if getattr(record, "privacy", None) else {}),
            # secure=secagg: sites summed, dropped, threshold, and why a round was aborted
            **({"secure": record.secure} if getattr(record, "secure", None) else {}),
        })
    return rows


def final_comparison(rounds: list[dict], reference: dict[str, Any]) -> dict[str, Any]:
    """Federated (last round) next to centralized and local-only references."""
    last = rounds[-1]
    central = reference.get("centralized") or {}
    final = {f"federated_{k}": last.get(k) for k in METRIC_NAMES}
    final.update({f"centralized_{k}": central.get(k) for k in METRIC_NAMES})
    final.update({k: reference.get(k) for k in ("local_mean_auc", "local_min_auc",
                                                 "local_trained", "local_untrainable")})
    if last.get("auc") is not None and central.get("auc") is not None:
        final["auc_gap"] = central["auc"] - last["auc"]
    return final


def observer_reference(reference: dict[str, Any]) -> dict[str, Any]:
    """The reference numbers in the shape `RunInfo.reference` documents."""
    local = reference.get("local") or []
    return {
        "centralized_auc": (reference.get("centralized") or {}).get("auc"),
        "centralized": reference.get("centralized"),
        "local_auc": {str(i): (m or {}).get("auc") for i, m in enumerate(local)},
        "local_mean_auc": reference.get("local_mean_auc"),
        "local_min_auc": reference.get("local_min_auc"),
    }


def comparison_table(final: dict[str, Any]) -> str:
    """Federated / centralized / local-only on the shared test set."""
    lines = [f"{'model':<22} {'AUC':>7} {'PR-AUC':>7} {'logloss':>8} {'acc':>6}"]
    for label, prefix in (("federated (final)", "federated"), ("centralized", "centralized")):
        values = [final.get(f"{prefix}_{k}") for k in METRIC_NAMES]
        lines.append(f"{label:<22} " + " ".join(
            _fmt(v, w) for v, w in zip(values, (7, 7, 8, 6), strict=True)))
    if final.get("local_trained") or final.get("local_untrainable"):
        lines.append(f"{'local-only mean':<22} {_fmt(final.get('local_mean_auc'), 7)}")
        lines.append(f"{'local-only min':<22} {_fmt(final.get('local_min_auc'), 7)}"
                     f"   ({final.get('local_untrainable') or 0} site(s) cannot train alone)")
    else:
        lines.append(f"{'local-only':<22} not fitted (reference.local_only=false)")
    if final.get("auc_gap") is not None:
        lines.append(f"AUC gap centralized - federated: {final['auc_gap']:+.4f}")
    return "\n".join(lines)


def write_results(path: Path, results: dict[str, Any]) -> Path:
    """results.json, strict JSON (non-finite numbers become null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(results), indent=2, default=str, allow_nan=False))
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return _finite(value.item())
    return value


def _fmt(value: Any, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.4f}"
