"""Vega-Lite specs (built with Altair) of run metrics, curves, coefficients, sweeps and Kafka flow."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.tables import CENTRALIZED, FEDERATED, LOCAL_MEAN


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    """The frame as inline JSON records (no global Altair data transformer involved)."""
    data = frame.copy()
    for column in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[column]):
            data[column] = data[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
    records = data.astype(object).where(pd.notna(data), None).to_dict("records")
    return alt.InlineData(values=records)


def spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec, unvalidated: Altair's schema validation costs ~50-300 ms per
    chart on every rerun (the unit tests validate every builder once instead)."""
    return chart.to_dict(validate=False)


_KIND_DASH = {"federated": [1, 0], "reference": [6, 3], "local mean": [3, 2], "local": [2, 2],
              "clients": [1, 0]}
_KIND_WIDTH = {"federated": 3.5, "reference": 2.5, "local mean": 2.5, "local": 1.2, "clients": 1.5}


def metric_chart(frame: pd.DataFrame, title: str, y_title: str) -> alt.Chart:
    """Per-round lines: federated (bold, points) against centralized and local-only references."""
    models = list(dict.fromkeys(frame["model"]))
    order = [m for m in (FEDERATED, CENTRALIZED, LOCAL_MEAN) if m in models] + sorted(
        m for m in models if m not in (FEDERATED, CENTRALIZED, LOCAL_MEAN))
    palette = {FEDERATED: "#1f77b4", CENTRALIZED: "#2ca02c", LOCAL_MEAN: "#d62728"}
    greys = ["#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"]
    colors = [palette.get(m) or greys[i % len(greys)] for i, m in enumerate(order)]
    base = alt.Chart(_inline(frame)).encode(
        x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("model:N", scale=alt.Scale(domain=order, range=colors),
                        legend=alt.Legend(title=None, orient="bottom", columns=3)),
        strokeDash=alt.StrokeDash("kind:N", scale=alt.Scale(domain=list(_KIND_DASH),
                                                            range=list(_KIND_DASH.values())), legend=None),
        strokeWidth=alt.StrokeWidth("kind:N", scale=alt.Scale(domain=list(_KIND_WIDTH),
                                                              range=list(_KIND_WIDTH.values())), legend=None),
        tooltip=["model:N", "round:Q", alt.Tooltip("value:Q", format=".4f")],
    )
    lines = base.mark_line()
    points = base.transform_filter(alt.datum.kind == "federated").mark_point(filled=True, size=60)
    return (lines + points).properties(title=title, height=320)


def series_chart(frame: pd.DataFrame, title: str, y_title: str, color: str = "series") -> alt.Chart:
    """Simple per-round lines with points, one per `color` value."""
    return alt.Chart(_inline(frame)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color(f"{color}:N", legend=alt.Legend(title=None, orient="bottom", columns=2)),
        tooltip=[f"{color}:N", "round:Q", alt.Tooltip("value:Q", format=".4f")],
    ).properties(title=title, height=300)


def curve_chart(x: list[float], y: list[float], kind: str, auc: float | None = None) -> alt.Chart:
    """ROC (fpr→tpr, with the chance diagonal) or precision-recall curve of the final model."""
    x_title, y_title = ("false positive rate", "true positive rate") if kind == "roc" else (
        "recall", "precision")
    frame = pd.DataFrame({"x": x, "y": y})
    title = "ROC curve" if kind == "roc" else "precision-recall curve"
    if auc is not None:
        title += f" (AUC {auc:.3f})"
    interpolate = "step-after" if kind == "pr" else "linear"
    curve = alt.Chart(_inline(frame)).mark_line(interpolate=interpolate).encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")])
    if kind == "roc":
        diagonal = alt.Chart(_inline(pd.DataFrame({"x": [0, 1], "y": [0, 1]}))).mark_line(
            strokeDash=[4, 4], color="grey").encode(x="x:Q", y="y:Q")
        return (diagonal + curve).properties(title=title, height=300)
    return curve.properties(title=title, height=300)


def coefficient_chart(frame: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of the largest coefficients, coloured by sign (raises / lowers churn)."""
    effect = frame["coefficient"].map(lambda c: "raises churn" if c > 0 else "lowers churn")
    data = frame.assign(effect=effect)
    return alt.Chart(_inline(data)).mark_bar().encode(
        x=alt.X("coefficient:Q", title="coefficient (standardized features)"),
        y=alt.Y("feature:N", sort=alt.EncodingSortField("magnitude", order="descending"), title=None,
                axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        color=alt.Color("effect:N", scale=alt.Scale(domain=["raises churn", "lowers churn"],
                                                    range=["#d62728", "#1f77b4"]),
                        legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["feature:N", alt.Tooltip("coefficient:Q", format=".4f")],
    ).properties(title="largest coefficients of the final global model", height=alt.Step(22))


def sweep_chart(frame: pd.DataFrame, x: str, y: str, y_title: str) -> alt.Chart:
    """A swept key against a result (points + line), one colour per sweep."""
    safe = x.replace(".", "_").replace("[", "_").replace("]", "_")  # dots mean nesting in Vega
    data = frame.rename(columns={x: safe}).dropna(subset=[y])
    data[safe] = data[safe].map(lambda v: str(v) if isinstance(v, tuple | list) else v)
    numeric = pd.api.types.is_numeric_dtype(data[safe])
    integer = pd.api.types.is_integer_dtype(data[safe])
    axis = alt.Axis(tickMinStep=1, format="d") if integer else alt.Axis()
    base = alt.Chart(_inline(data)).encode(
        x=alt.X(f"{safe}:{'Q' if numeric else 'N'}", title=x, axis=axis),
        y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("sweep:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["run_id:N", alt.Tooltip(f"{safe}:{'Q' if numeric else 'N'}", title=x),
                 alt.Tooltip(f"{y}:Q", format=".4f")])
    return (base.mark_line() + base.mark_point(filled=True, size=70)).properties(
        title=f"{y_title} vs {x}", height=280)


def flow_bars(frame: pd.DataFrame, value: str, title: str) -> alt.Chart:
    """Stacked bars per round (0 = run lifecycle) of messages or bytes, one colour per topic."""
    return alt.Chart(_inline(frame)).mark_bar().encode(
        x=alt.X("round:O", title="round (0 = run start/finish)"),
        y=alt.Y(f"sum({value}):Q", title=value),
        color=alt.Color("topic:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["topic:N", "round:O", alt.Tooltip(f"sum({value}):Q", title=value)],
    ).properties(title=title, height=260)


def latency_chart(frame: pd.DataFrame) -> alt.Chart:
    """Distribution of Kafka publish → dashboard read latency per topic."""
    return alt.Chart(_inline(frame)).mark_boxplot(extent="min-max").encode(
        x=alt.X("read_latency_s:Q", title="publish → read latency (s)"),
        y=alt.Y("topic:N", title=None),
        color=alt.Color("topic:N", legend=None),
    ).properties(title="publish → read latency (live events)", height=160)


def lag_chart(frame: pd.DataFrame) -> alt.Chart:
    """The reader's lag (messages not yet read) at each refresh, per topic."""
    return alt.Chart(_inline(frame)).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("time:T", title=None), y=alt.Y("lag:Q", title="messages behind"),
        color=alt.Color("topic:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["topic:N", "time:T", "lag:Q"],
    ).properties(title="consumer lag at each refresh", height=220)
