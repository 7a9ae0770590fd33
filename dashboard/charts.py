"""Vega-Lite specs (built with Altair) of run metrics, curves, coefficients, sweeps and Kafka flow."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.site_bands import (
    BAND_COLOR,
    BAND_IQR,
    BAND_RANGE,
    IQR_COLOR,
    RANGE_COLOR,
    band_frame,
    band_layers,
)
from dashboard.tables import CENTRALIZED, FEDERATED, LOCAL_MEAN


def inline(frame: pd.DataFrame) -> alt.InlineData:
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
    chart_spec = chart.to_dict(validate=False)
    # Streamlit's default autosize "fit" squeezes legend and title into the chart's height:
    # a 10-site legend left a 20 px plot. fit-x keeps `height` for the plot alone.
    chart_spec.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    return chart_spec


_KIND_DASH = {"federated": [1, 0], "reference": [6, 3], "local mean": [3, 2], "clients": [1, 0]}
_KIND_WIDTH = {"federated": 3.5, "reference": 2.5, "local mean": 2.5, "clients": 1.5}
_PALETTE = {FEDERATED: "#1f77b4", CENTRALIZED: "#2ca02c", LOCAL_MEAN: BAND_COLOR,
            BAND_RANGE: RANGE_COLOR, BAND_IQR: IQR_COLOR}
_OTHERS = ["#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"]
# Legends sit below the plot and are never sized into its height (spec() uses fit-x): at most
# the 3 named lines, 2 band entries and the clients' own losses, whatever the number of sites.
_LEGEND = alt.Legend(title=None, orient="bottom", columns=3, labelLimit=320, symbolOpacity=1,
                     symbolType="square")


def value_domain(values: pd.Series, min_span: float, clamp: tuple[float, float] | None = None
                 ) -> list[float]:
    """Axis range around the data, at least `min_span` wide: a 0.0006 wiggle stays flat
    instead of filling the plot, and a real gap between lines still shows."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < min_span:
        centre = (lo + hi) / 2
        lo, hi = centre - min_span / 2, centre + min_span / 2
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    if clamp is not None:
        lo, hi = max(clamp[0], lo), min(clamp[1], hi)
    return [round(lo, 4), round(hi, 4)]


def scale_note(domain: list[float]) -> str:
    """How much of the metric the y-axis spans, for the axis title."""
    return f"axis {domain[0]:.3f} to {domain[1]:.3f}, span {domain[1] - domain[0]:.3f}"


def metric_chart(frame: pd.DataFrame, title: str, y_title: str, min_span: float = 0.05,
                 clamp: tuple[float, float] | None = None) -> alt.LayerChart:
    """Per-round lines (federated bold with points, centralized and local-only mean dashed)
    over the band of local-only sites (min–max, middle 50%); each site on hover."""
    sites = frame[frame["kind"] == "local"]
    lines = frame[frame["kind"] != "local"]
    models = list(dict.fromkeys(lines["model"]))
    order = [m for m in (FEDERATED, CENTRALIZED, LOCAL_MEAN) if m in models] + sorted(
        m for m in models if m not in (FEDERATED, CENTRALIZED, LOCAL_MEAN))
    if not sites.empty:
        order += [BAND_RANGE, BAND_IQR]
    colors = [_PALETTE.get(m) or _OTHERS[i % len(_OTHERS)] for i, m in enumerate(order)]
    scale = alt.Scale(domain=order, range=colors)
    domain = value_domain(frame["value"], min_span, clamp)
    x = alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1, format="d"))
    y = alt.Y("value:Q", title=f"{y_title} ({scale_note(domain)})",
              scale=alt.Scale(domain=domain, zero=False, nice=False, clamp=True))
    layers: list[alt.Chart] = []
    if not sites.empty:
        band = band_frame(sites)
        layers += band_layers(inline(sites), inline(band), scale, _LEGEND, x, "value", "model")
    base = alt.Chart(inline(lines)).encode(
        x=x, y=y, color=alt.Color("model:N", scale=scale, legend=_LEGEND),
        strokeDash=alt.StrokeDash("kind:N", scale=alt.Scale(domain=list(_KIND_DASH),
                                                            range=list(_KIND_DASH.values())), legend=None),
        strokeWidth=alt.StrokeWidth("kind:N", scale=alt.Scale(domain=list(_KIND_WIDTH),
                                                              range=list(_KIND_WIDTH.values())), legend=None),
        tooltip=["model:N", "round:Q", alt.Tooltip("value:Q", format=".4f")],
    )
    layers += [base.mark_line(),
               base.transform_filter(alt.datum.kind == "federated").mark_point(filled=True, size=60)]
    return alt.layer(*layers).properties(title=title, height=320)


def series_chart(frame: pd.DataFrame, title: str, y_title: str, color: str = "series") -> alt.Chart:
    """A few named per-round lines with points, one per `color` value (e.g. ε spent and target)."""
    return alt.Chart(inline(frame)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color(f"{color}:N", legend=alt.Legend(title=None, orient="bottom", columns=2)),
        tooltip=[f"{color}:N", "round:Q", alt.Tooltip("value:Q", format=".4f")],
    ).properties(title=title, height=300)


def site_series_chart(frame: pd.DataFrame, title: str, y_title: str, color: str = "client"
                      ) -> alt.LayerChart:
    """A per-site metric per round: band (min–max, middle 50%) with the mean, each site on hover."""
    band = band_frame(frame)
    mean = band.assign(model=f"mean over {color}s", value=band["mean"])
    order = [f"mean over {color}s", BAND_RANGE, BAND_IQR]
    scale = alt.Scale(domain=order, range=["#1f77b4", RANGE_COLOR, IQR_COLOR])
    x = alt.X("round:Q", axis=alt.Axis(tickMinStep=1, format="d"))
    layers = band_layers(inline(frame), inline(band), scale, _LEGEND, x, "value", color)
    line = alt.Chart(inline(mean)).mark_line(point=True, strokeWidth=3).encode(
        x=x, y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("model:N", scale=scale, legend=_LEGEND),
        tooltip=["round:Q", alt.Tooltip("value:Q", format=".4f", title="mean")])
    return alt.layer(*layers, line).properties(title=title, height=300)


def curve_chart(x: list[float], y: list[float], kind: str, auc: float | None = None) -> alt.Chart:
    """ROC (fpr→tpr, with the chance diagonal) or precision-recall curve of the final model."""
    x_title, y_title = ("false positive rate", "true positive rate") if kind == "roc" else (
        "recall", "precision")
    frame = pd.DataFrame({"x": x, "y": y})
    title = "ROC curve" if kind == "roc" else "precision-recall curve"
    if auc is not None:
        title += f" (AUC {auc:.3f})"
    interpolate = "step-after" if kind == "pr" else "linear"
    curve = alt.Chart(inline(frame)).mark_line(interpolate=interpolate).encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")])
    if kind == "roc":
        diagonal = alt.Chart(inline(pd.DataFrame({"x": [0, 1], "y": [0, 1]}))).mark_line(
            strokeDash=[4, 4], color="grey").encode(x="x:Q", y="y:Q")
        return (diagonal + curve).properties(title=title, height=300)
    return curve.properties(title=title, height=300)


def coefficient_chart(frame: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of the largest coefficients, coloured by sign (raises / lowers churn)."""
    effect = frame["coefficient"].map(lambda c: "raises churn" if c > 0 else "lowers churn")
    data = frame.assign(effect=effect)
    return alt.Chart(inline(data)).mark_bar().encode(
        x=alt.X("coefficient:Q", title="coefficient (standardized features)"),
        y=alt.Y("feature:N", sort=alt.EncodingSortField("magnitude", order="descending"), title=None,
                axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        color=alt.Color("effect:N", scale=alt.Scale(domain=["raises churn", "lowers churn"],
                                                    range=["#d62728", "#1f77b4"]),
                        legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["feature:N", alt.Tooltip("coefficient:Q", format=".4f")],
    ).properties(title="largest coefficients of the final global model", height=alt.Step(22))


def sweep_chart(frame: pd.DataFrame, x: str, y: str, y_title: str, reference: str | None = None,
                min_span: float | None = None) -> alt.LayerChart:
    """A swept key against a result (points + line), one colour per sweep; `reference` is a
    column drawn dashed (e.g. the centralized AUC), `min_span` the least y-range shown."""
    safe = x.replace(".", "_").replace("[", "_").replace("]", "_")  # dots mean nesting in Vega
    data = frame.rename(columns={x: safe}).dropna(subset=[y])
    data[safe] = data[safe].map(lambda v: str(v) if isinstance(v, tuple | list) else v)
    numeric = pd.api.types.is_numeric_dtype(data[safe])
    integer = pd.api.types.is_integer_dtype(data[safe])
    axis = alt.Axis(tickMinStep=1, format="d") if integer else alt.Axis()
    x_enc = alt.X(f"{safe}:{'Q' if numeric else 'N'}", title=x, axis=axis)
    has_ref = reference is not None and reference in data and data[reference].notna().any()
    values = pd.concat([data[y], data[reference]]) if has_ref else data[y]
    title = y_title
    y_scale = alt.Scale(zero=False)
    if min_span is not None and not values.dropna().empty:
        domain = value_domain(values.dropna(), min_span)
        y_scale = alt.Scale(domain=domain, zero=False, nice=False)
        title = f"{y_title} ({scale_note(domain)})"
    base = alt.Chart(inline(data)).encode(
        x=x_enc, y=alt.Y(f"{y}:Q", title=title, scale=y_scale),
        color=alt.Color("sweep:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["run_id:N", alt.Tooltip(f"{safe}:{'Q' if numeric else 'N'}", title=x),
                 alt.Tooltip(f"{y}:Q", format=".4f")])
    layers = [base.mark_line(), base.mark_point(filled=True, size=70)]
    if has_ref:
        ref = alt.Chart(inline(data.assign(ref_label="centralized (pooled rows)"))).mark_line(
            strokeDash=[6, 3], color="#2ca02c", point=alt.OverlayMarkDef(color="#2ca02c")).encode(
            x=x_enc, y=alt.Y(f"{reference}:Q", scale=y_scale),
            tooltip=["run_id:N", alt.Tooltip(f"{reference}:Q", format=".4f", title="centralized")])
        layers.insert(0, ref)
        title_text = f"{y_title} vs {x} (dashed green: centralized reference)"
    else:
        title_text = f"{y_title} vs {x}"
    return alt.layer(*layers).properties(title=title_text, height=280)


def flow_bars(frame: pd.DataFrame, value: str, title: str) -> alt.Chart:
    """Stacked bars per round (0 = run lifecycle) of messages or bytes, one colour per topic."""
    return alt.Chart(inline(frame)).mark_bar().encode(
        x=alt.X("round:O", title="round (0 = run start/finish)"),
        y=alt.Y(f"sum({value}):Q", title=value),
        color=alt.Color("topic:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["topic:N", "round:O", alt.Tooltip(f"sum({value}):Q", title=value)],
    ).properties(title=title, height=260)


def latency_chart(frame: pd.DataFrame) -> alt.Chart:
    """Distribution of Kafka publish → dashboard read latency per topic."""
    return alt.Chart(inline(frame)).mark_boxplot(extent="min-max").encode(
        x=alt.X("read_latency_s:Q", title="publish → read latency (s)"),
        y=alt.Y("topic:N", title=None),
        color=alt.Color("topic:N", legend=None),
    ).properties(title="publish → read latency, live events only (backlog not timed)", height=160)


def lag_chart(frame: pd.DataFrame) -> alt.Chart:
    """The reader's lag (messages on the topic not yet read) at each poll, per topic, against
    seconds before the latest poll: a time axis printed ":15 :30 03:44 :15" in Chromium
    (Vega's multi-format, even with an explicit format), numbers print once each."""
    times = pd.to_datetime(frame["time"], utc=True)
    last = times.max()
    data = frame.assign(seconds=(times - last).dt.total_seconds())
    stamp = last.strftime("%H:%M:%S") if pd.notna(last) else "?"
    return alt.Chart(inline(data)).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("seconds:Q", title=f"seconds before the latest poll ({stamp} UTC)"),
        y=alt.Y("lag:Q", title="messages not yet read"),
        color=alt.Color("topic:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["topic:N", "time:T", "lag:Q"],
    ).properties(title="reader lag over time (messages behind, at each poll)", height=220)
