"""The churn team's view of the final model: cumulative gains / lift and the score distribution."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.charts import inline

TOP_SHARES = (0.1, 0.2)  # the retention team's budgets: call the top 10% / 20% of customers


def gains_frame(gains: dict) -> pd.DataFrame:
    """(fraction, captured, lift) from 0 (nobody contacted) to 1 (everybody)."""
    frame = pd.DataFrame({"fraction": [0.0, *gains["fraction"]], "captured": [0.0, *gains["captured"]]})
    frame["lift"] = (frame["captured"] / frame["fraction"]).where(frame["fraction"] > 0)
    return frame


def top_share(gains: dict, share: float) -> tuple[float, float] | None:
    """(share of churners found, lift) when contacting the top `share` of customers."""
    frame = gains_frame(gains)
    hit = frame[(frame["fraction"] - share).abs() < 1e-6]
    return None if hit.empty else (float(hit["captured"].iloc[0]), float(hit["lift"].iloc[0]))


def gains_chart(gains: dict) -> alt.LayerChart:
    """Cumulative gains of the final model against random contact, top 10% / 20% marked."""
    frame = gains_frame(gains)
    x = alt.X("fraction:Q", title="share of customers contacted (highest score first)",
              axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("captured:Q", title="share of churners reached", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 1]))
    tooltip = [alt.Tooltip("fraction:Q", format=".0%", title="contacted"),
               alt.Tooltip("captured:Q", format=".1%", title="churners reached"),
               alt.Tooltip("lift:Q", format=".2f")]
    curve = alt.Chart(inline(frame)).mark_line(point=True, color="#1f77b4").encode(
        x=x, y=y, tooltip=tooltip)
    random = alt.Chart(inline(pd.DataFrame({"fraction": [0, 1], "captured": [0, 1]}))).mark_line(
        strokeDash=[4, 4], color="grey").encode(x="fraction:Q", y="captured:Q")
    marks = frame[frame["fraction"].round(6).isin(TOP_SHARES)].assign(
        label=lambda f: [f"top {p:.0%}: {c:.0%} of churners, lift {lift:.1f}"
                         for p, c, lift in zip(f["fraction"], f["captured"], f["lift"], strict=True)])
    rules = alt.Chart(inline(marks)).mark_rule(color="#d62728").encode(x="fraction:Q", tooltip=tooltip)
    labels = alt.Chart(inline(marks)).mark_text(align="left", dx=4, dy=-8, color="#d62728").encode(
        x="fraction:Q", y="captured:Q", text="label:N")
    return alt.layer(random, curve, rules, labels).properties(
        title="cumulative gains (dashed: contacting at random)", height=300)


def score_histogram_chart(histogram: dict) -> alt.Chart:
    """Predicted churn probability on the test set, stacked by what the customer really did."""
    edges = histogram["edges"]
    rows = [{"lo": edges[i], "hi": edges[i + 1], "outcome": outcome, "customers": count}
            for outcome in ("churned", "stayed") for i, count in enumerate(histogram[outcome])]
    return alt.Chart(inline(pd.DataFrame(rows))).mark_bar(binSpacing=1).encode(
        x=alt.X("lo:Q", bin="binned", title="predicted churn probability", scale=alt.Scale(domain=[0, 1])),
        x2="hi:Q",
        y=alt.Y("customers:Q", stack=True, title="test-set customers"),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=["churned", "stayed"],
                                                     range=["#d62728", "#9ecae1"]),
                        legend=alt.Legend(title="actually", orient="bottom")),
        tooltip=[alt.Tooltip("lo:Q", format=".2f", title="from"),
                 alt.Tooltip("hi:Q", format=".2f", title="to"), "outcome:N", "customers:Q"],
    ).properties(title="predicted churn probability, final model on the test set", height=300)
