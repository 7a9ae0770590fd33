"""Privacy of a run for the dashboard: ε spent per round (privacy=dp) and a one-line badge."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dashboard import charts
from dashboard.memo import per_run_version
from dashboard.run_state import RunState, finite


def _config_group(run: RunState, key: str) -> dict[str, Any]:
    group = run.config.get(key) if isinstance(run.config, dict) else None
    return group if isinstance(group, dict) else {}


def epsilon_frame(run: RunState) -> pd.DataFrame:
    """round, value (ε spent after that round's release), series; empty without DP figures."""
    rows = []
    for rnd in run.aggregated_rounds():
        info = (rnd.aggregated or {}).get("privacy")
        if isinstance(info, dict) and finite(info.get("epsilon")) is not None:
            rows.append({"round": rnd.number, "value": float(info["epsilon"]),
                         "series": "ε spent"})
    target = finite(_config_group(run, "privacy").get("target_epsilon"))
    if rows and target is not None:
        rows += [{"round": r["round"], "value": target, "series": "target ε"} for r in rows]
    return pd.DataFrame(rows, columns=["round", "value", "series"])


@per_run_version
def epsilon_spec(run: RunState) -> dict | None:
    """Vega-Lite line of ε per round (and the target), None for runs without DP."""
    frame = epsilon_frame(run)
    return None if frame.empty else charts.spec(charts.series_chart(
        frame, "privacy spent: ε per round (client-level DP)", "ε"))


def privacy_badge(run: RunState) -> str | None:
    """E.g. "DP ε = 2.31 at δ = 1e-05 · z 2.0 · S 1.0 · q 1.0 · secure aggregation", or None."""
    parts = []
    privacy = _config_group(run, "privacy")
    if privacy.get("name") == "dp":
        latest = None
        for rnd in run.aggregated_rounds():
            info = (rnd.aggregated or {}).get("privacy")
            if isinstance(info, dict):
                latest = info
        source = latest or privacy
        epsilon = (latest or {}).get("epsilon", 0.0)
        eps_text = "∞" if epsilon is None or (isinstance(epsilon, float) and math.isinf(epsilon)) \
            else f"{float(epsilon):.3g}"
        parts.append(f"client-level DP: ε = {eps_text} at δ = {float(source.get('delta') or 0):g} "
                     f"after {(latest or {}).get('releases', 0)} round(s)"
                     f" · noise multiplier {float(source.get('noise_multiplier', 0)):.3g}"
                     f" · clipping norm {float(source.get('clipping_norm', 0)):.3g}"
                     f" · sampling rate {float(source.get('sampling_rate', 0)):.3g}")
    if _config_group(run, "secure").get("name") == "secagg":
        parts.append("secure aggregation: the server saw only sums (no per-client updates)")
    return " · ".join(parts) if parts else None
