"""The per-round rows and the strict-JSON writer of results.json (simulation and deployment)."""

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
            "participants": (len(record.secure["participants"]) if record.secure
                             else len(record.updates)),
            "rejected": len(record.rejected),
            "rejections": [{"node_id": r.node_id, "partition_id": r.partition_id,
                            "reason": r.reason} for r in record.rejected],
            "missing": [{"node_id": r.node_id, "partition_id": r.partition_id,
                         "reason": r.reason} for r in record.missing],
            "evaluate_rejected": len(record.evaluate_rejected),
            "train_metrics": record.train_metrics,
            "evaluate_metrics": record.evaluate_metrics,
            "seconds": record.durations.get("round"),
            **({"privacy": record.privacy} if record.privacy else {}),
            # secure=secagg: sites summed, dropped, threshold, and why a round was aborted
            **({"secure": record.secure} if record.secure else {}),
            **({"federated_eval": record.federated_eval} if record.federated_eval else {}),
        })
    return rows


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
