"""Per-site values drawn as a band (min–max and inter-quartile) with the mean, each site on hover."""

from __future__ import annotations

import altair as alt
import pandas as pd

BAND_RANGE, BAND_IQR = "sites: min–max", "sites: middle 50%"
# The legend shows these colours as drawn (areas opaque, pale to dark): the old single red made
# "min–max", "middle 50%" and "mean" three identical legend swatches.
BAND_COLOR, RANGE_COLOR, IQR_COLOR = "#b71c1c", "#fbd5d5", "#ef9a9a"
# Faint enough that 50 overlapping site lines do not hide the band (checked in the 50-site
# screenshot), dark enough to see where sites cluster.
SITE_OPACITY, HOVER_OPACITY = 0.2, 0.9


def band_frame(sites: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    """(round, lo, q1, mean, q3, hi, sites) across sites for each round of a long frame."""
    grouped = sites.groupby("round")[value]
    frame = pd.DataFrame({
        "lo": grouped.min(), "q1": grouped.quantile(0.25), "mean": grouped.mean(),
        "q3": grouped.quantile(0.75), "hi": grouped.max(), "sites": grouped.size(),
    }).reset_index()
    return frame


def band_layers(data: alt.InlineData, band: alt.InlineData, scale: alt.Scale, legend: alt.Legend,
                x: alt.X, y_field: str, site_field: str) -> list[alt.Chart]:
    """Layers: min–max area, IQR area, faint per-site lines that light up on hover (with a
    tooltip naming the site). `scale` must have BAND_RANGE and BAND_IQR in its domain."""
    color = alt.Color("label:N", scale=scale, legend=legend)
    hover = alt.selection_point(fields=[site_field], on="pointerover", clear="pointerout",
                                nearest=True, empty=False, name="site_hover")
    spread = alt.Chart(band).transform_calculate(label=f"'{BAND_RANGE}'").mark_area(
        opacity=0.85).encode(x=x, y="lo:Q", y2="hi:Q", color=color,
                             tooltip=[alt.Tooltip("round:Q"), alt.Tooltip("sites:Q"),
                                      alt.Tooltip("lo:Q", format=".4f", title="min"),
                                      alt.Tooltip("hi:Q", format=".4f", title="max")])
    middle = alt.Chart(band).transform_calculate(label=f"'{BAND_IQR}'").mark_area(
        opacity=0.85).encode(x=x, y="q1:Q", y2="q3:Q", color=color,
                             tooltip=[alt.Tooltip("round:Q"),
                                      alt.Tooltip("q1:Q", format=".4f", title="25th percentile"),
                                      alt.Tooltip("q3:Q", format=".4f", title="75th percentile")])
    site_base = alt.Chart(data).encode(
        x=x, y=alt.Y(f"{y_field}:Q"), detail=f"{site_field}:N",
        tooltip=[alt.Tooltip(f"{site_field}:N", title="site"), "round:Q",
                 alt.Tooltip(f"{y_field}:Q", format=".4f")])
    lines = site_base.mark_line(color="#555555", strokeWidth=1).encode(
        opacity=alt.condition(hover, alt.value(HOVER_OPACITY), alt.value(SITE_OPACITY)))
    points = site_base.mark_point(size=60, opacity=0).add_params(hover)
    return [spread, middle, lines, points]
