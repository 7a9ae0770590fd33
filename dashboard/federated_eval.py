"""Federated-evaluation data and charts of one run: pooled AUC, certificate, per-site gain, gains curve.

Everything comes from `round_aggregated.federated_eval` (pooled at the sites, no row ever
pooled), so a deployed run without a server test set shows all of it; the server-test AUC
line appears beside the pooled one only when the run has one (simulation).
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from dashboard.charts import inline, spec
from dashboard.memo import per_run_version
from dashboard.run_state import RunState, finite

POOLED = "pooled at the sites (federated evaluation)"
SERVER_TEST = "server test set (simulation only)"


def as_number(value: Any) -> float | None:
    """A finite float; NaN arrives as a tagged {"$float": "NaN"} from in-process producers."""
    return finite(value) if not isinstance(value, dict) else None


def per_round(run: RunState) -> list[tuple[int, dict[str, Any]]]:
    """(round, federated_eval) of every aggregated round that has one."""
    return [(r.number, r.aggregated["federated_eval"]) for r in run.aggregated_rounds()
            if isinstance((r.aggregated or {}).get("federated_eval"), dict)]


def final(run: RunState) -> dict[str, Any] | None:
    """The latest round's federated evaluation (the final model's once the run finished)."""
    rounds = per_round(run)
    return rounds[-1][1] if rounds else None


def auc_frame(run: RunState) -> pd.DataFrame:
    """round, series, value: pooled AUC per round, and the server-test AUC where there is one."""
    rows = []
    for number, fe in per_round(run):
        rows.append({"round": number, "series": POOLED, "value": as_number(fe.get("pooled_auc"))})
    for r in run.aggregated_rounds():
        auc = as_number(r.server_metrics.get("auc"))
        if auc is not None:
            rows.append({"round": r.number, "series": SERVER_TEST, "value": auc})
    return pd.DataFrame(rows, columns=["round", "series", "value"])


def certificate_frame(run: RunState) -> pd.DataFrame:
    """round, series, value: gradient norm and objective gap bound (positive values only)."""
    rows = []
    for number, fe in per_round(run):
        for key, label in (("gradient_norm", "gradient norm"),
                           ("objective_gap_bound", "objective gap bound")):
            value = as_number(fe.get(key))
            if value is not None and value > 0:
                rows.append({"round": number, "series": label, "value": value})
    return pd.DataFrame(rows, columns=["round", "series", "value"])


def sites_frame(run: RunState) -> pd.DataFrame:
    """Per site of the latest round: local-only vs federated AUC, gain and flags (none hidden)."""
    fe = final(run) or {}
    rows = []
    for s in fe.get("sites") or []:
        local, federated = as_number(s.get("local_auc")), as_number(s.get("federated_auc"))
        flags = ", ".join(s.get("flags") or [])
        rows.append({"site": f"site {s.get('partition_id')}", "rows": s.get("rows"),
                     "local-only AUC": local, "federated AUC": federated,
                     "gain": None if local is None or federated is None else federated - local,
                     "flags": flags or "-"})
    return pd.DataFrame(rows, columns=["site", "rows", "local-only AUC", "federated AUC",
                                       "gain", "flags"])


@per_run_version
def pooled_auc_spec(run: RunState) -> dict | None:
    """Pooled federated AUC per round beside the server-test AUC (simulation)."""
    frame = auc_frame(run).dropna(subset=["value"])
    if frame.empty:
        return None
    chart = alt.Chart(inline(frame)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title="ROC-AUC", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["series:N", "round:Q", alt.Tooltip("value:Q", format=".4f")])
    return spec(chart.properties(title="ROC-AUC of the global model per round", height=300))


@per_run_version
def certificate_spec(run: RunState) -> dict | None:
    """Gradient norm and objective gap bound per round on a log scale."""
    frame = certificate_frame(run)
    if frame.empty:
        return None
    chart = alt.Chart(inline(frame)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title="log scale", scale=alt.Scale(type="log")),
        color=alt.Color("series:N", legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["series:N", "round:Q", alt.Tooltip("value:Q", format=".3g")])
    return spec(chart.properties(
        title="Certificate: distance to the centralized optimum (sklearn's objective)", height=300))


@per_run_version
def sites_spec(run: RunState) -> dict | None:
    """Did joining pay off: local-only vs federated AUC per site; flagged sites marked."""
    frame = sites_frame(run)
    if frame.empty:
        return None
    long = frame.melt(id_vars=["site", "flags"], value_vars=["local-only AUC", "federated AUC"],
                      var_name="model", value_name="auc")
    long["site"] = [f"{s} ({f})" if f != "-" else s for s, f in zip(long["site"], long["flags"],
                                                                       strict=True)]
    chart = alt.Chart(inline(long)).mark_point(filled=True, size=90).encode(
        y=alt.Y("site:N", sort=None, title=None),
        x=alt.X("auc:Q", title="ROC-AUC on the site's own evaluation rows",
                scale=alt.Scale(zero=False)),
        color=alt.Color("model:N", legend=alt.Legend(title=None, orient="bottom")),
        shape=alt.Shape("model:N", legend=None),
        tooltip=["site:N", "model:N", alt.Tooltip("auc:Q", format=".4f"), "flags:N"])
    return spec(chart.properties(title="Did joining pay off? Local-only vs federated, per site",
                                 height=max(120, 28 * len(frame))))


@per_run_version
def pooled_gains_spec(run: RunState) -> dict | None:
    """Cumulative gains of the final model over all sites' evaluation rows, with the diagonal."""
    fe = final(run) or {}
    points = [(float(q), as_number(c)) for q, c in fe.get("gains") or []]
    points = [(q, c) for q, c in points if c is not None and math.isfinite(q)]
    if not points:
        return None
    frame = pd.DataFrame(points, columns=["customers", "churners"])
    curve = alt.Chart(inline(frame)).mark_line(point=True).encode(
        x=alt.X("customers:Q", title="share of customers contacted (highest score first)",
                axis=alt.Axis(format="%")),
        y=alt.Y("churners:Q", title="share of churners reached", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("customers:Q", format=".0%"), alt.Tooltip("churners:Q", format=".1%")])
    diagonal = alt.Chart(inline(pd.DataFrame({"customers": [0, 1], "churners": [0, 1]}))).mark_line(
        strokeDash=[4, 4], color="grey").encode(x="customers:Q", y="churners:Q")
    lift = as_number(fe.get("lift_top10"))
    title = "Gains curve of the final model" + (f" (lift in the top 10%: {lift:.2f})" if lift else "")
    return spec((curve + diagonal).properties(title=title, height=300))
