"""Tolerant look-ups into run_finished summaries and run_started references."""

from __future__ import annotations

import math
from typing import Any

# Where a final federated metric may sit in `run_finished.payload.summary`, most specific first.
_FINAL_METRIC_PATHS: tuple[tuple[str, ...], ...] = (
    ("final_server_metrics", "{m}"),  # what strategy/server_app.py sends today
    ("federated", "{m}"),
    ("final", "{m}"),
    ("final_metrics", "{m}"),
    ("server_metrics", "{m}"),
    ("federated_{m}",),
    ("final_{m}",),
)
# Curve points of the final model on the shared test set (aggregate numbers, no rows).
_CURVE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "roc": (("curves", "roc"), ("roc_curve",), ("roc",)),
    "pr": (("curves", "pr"), ("pr_curve",), ("pr",), ("curves", "precision_recall")),
}
_CURVE_AXES = {"roc": ("fpr", "tpr"), "pr": ("recall", "precision")}


def dig(tree: Any, path: tuple[str, ...]) -> Any:
    """`tree[path[0]][path[1]]...`, None where any step is missing or not a mapping."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def summary_final_metric(summary: dict[str, Any] | None, metric: str) -> float | None:
    """Final federated `metric` (auc, log_loss, ...) from a summary, None if absent."""
    for path in _FINAL_METRIC_PATHS:
        value = _finite(dig(summary, tuple(p.format(m=metric) for p in path)))
        if value is not None:
            return value
    return None


def summary_wall_time(summary: dict[str, Any] | None) -> float | None:
    """Wall time in seconds the run reported for itself, None if absent."""
    for key in ("wall_time_s", "wall_time", "elapsed_s", "duration_s"):
        value = _finite(dig(summary, (key,)))
        if value is not None:
            return value
    return None


def summary_curve(summary: dict[str, Any] | None, kind: str) -> dict[str, list[float]] | None:
    """{x_axis: [...], y_axis: [...]} for kind "roc" (fpr/tpr) or "pr" (recall/precision)."""
    x_key, y_key = _CURVE_AXES[kind]
    for path in _CURVE_PATHS[kind]:
        curve = dig(summary, path)
        if isinstance(curve, dict) and isinstance(curve.get(x_key), list) \
                and isinstance(curve.get(y_key), list) and len(curve[x_key]) == len(curve[y_key]):
            return {x_key: curve[x_key], y_key: curve[y_key]}
    return None


def reference_centralized(reference: dict[str, Any], metric: str = "auc") -> float | None:
    """Centralized (pooled-rows) reference `metric` on the shared test set."""
    for path in ((f"centralized_{metric}",), ("centralized", metric)):
        value = _finite(dig(reference, path))
        if value is not None:
            return value
    return None


def reference_local(reference: dict[str, Any], metric: str = "auc") -> dict[str, float | None]:
    """Local-only reference `metric` per partition id (None where a client could not train)."""
    for path in ((f"local_{metric}",), ("local", metric)):
        values = dig(reference, path)
        if isinstance(values, dict):
            return {str(k): _finite(v) for k, v in values.items()}
        if isinstance(values, list):
            return {str(i): _finite(v) for i, v in enumerate(values)}
    per_client = reference.get("local")
    if isinstance(per_client, list):  # baselines.py shape: [{"auc": ..}, None, ...]
        return {str(i): _finite(m.get(metric)) if isinstance(m, dict) else None
                for i, m in enumerate(per_client)}
    return {}


def summary_scores(summary: dict[str, Any] | None) -> tuple[dict[str, list], dict[str, Any]] | None:
    """(histogram, gains) of the final model's test-set scores (`summary.scores`), if sent."""
    histogram, gains = dig(summary, ("scores", "histogram")), dig(summary, ("scores", "gains"))
    if not isinstance(histogram, dict) or not isinstance(gains, dict):
        return None
    edges, churned, stayed = (histogram.get(k) for k in ("edges", "churned", "stayed"))
    fraction, captured = gains.get("fraction"), gains.get("captured")
    if not all(isinstance(v, list) for v in (edges, churned, stayed, fraction, captured)) \
            or not len(edges) == len(churned) + 1 == len(stayed) + 1 or len(fraction) != len(captured):
        return None
    return histogram, gains
