"""Run comparison: per-round federated metrics of several runs, configs side by side."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts import inline, scale_note, value_domain
from dashboard.run_state import RunState, finite
from dashboard.sweeps import IGNORED_KEYS, flatten

METRICS = {"auc": ("ROC-AUC", 0.05), "log_loss": ("log-loss", 0.05)}  # label, least axis span


def metric_rounds(runs: list[RunState], metric: str) -> pd.DataFrame:
    """Long frame (run_id, round, value): each run's global model on its test set per round."""
    rows = [{"run_id": run.run_id, "round": r.number, "value": finite(r.server_metrics.get(metric))}
            for run in runs for r in run.aggregated_rounds()]
    frame = pd.DataFrame(rows, columns=["run_id", "round", "value"])
    return frame.dropna(subset=["value"]).reset_index(drop=True)


def config_table(runs: list[RunState]) -> pd.DataFrame:
    """One row per flattened config key, one column per run, and `differs` (True where the
    runs disagree); keys that differ come first. Bookkeeping keys (output dir...) are left out."""
    flats = {run.run_id: flatten(run.config) for run in runs}
    keys = sorted({k for flat in flats.values() for k in flat if not k.startswith(IGNORED_KEYS)})
    rows = []
    for key in keys:
        values = {rid: flat.get(key) for rid, flat in flats.items()}
        rows.append({"setting": key, **{rid: _show(v) for rid, v in values.items()},
                     "differs": len({repr(v) for v in values.values()}) > 1})
    frame = pd.DataFrame(rows, columns=["setting", *flats, "differs"])
    return frame.sort_values(["differs", "setting"], ascending=[False, True]).reset_index(drop=True)


def _show(value: object) -> str:
    """Config values as text, so one column may hold numbers, names and lists."""
    return "–" if value is None else str(list(value) if isinstance(value, tuple) else value)


def compare_chart(frame: pd.DataFrame, metric: str) -> alt.LayerChart:
    """One line per run of `metric` per round (hover a line for its run id)."""
    label, min_span = METRICS[metric]
    domain = value_domain(frame["value"], min_span, (0.0, 1.0) if metric == "auc" else None)
    base = alt.Chart(inline(frame)).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=f"{label} ({scale_note(domain)})",
                scale=alt.Scale(domain=domain, zero=False, nice=False, clamp=True)),
        color=alt.Color("run_id:N", legend=alt.Legend(title=None, orient="bottom", columns=2,
                                                      labelLimit=420)),
        tooltip=["run_id:N", "round:Q", alt.Tooltip("value:Q", format=".4f")])
    better = "higher is better" if metric == "auc" else "lower is better"
    return alt.layer(base.mark_line(strokeWidth=2.5), base.mark_point(filled=True, size=50)).properties(
        title=f"federated {label} per round ({better})", height=320)
