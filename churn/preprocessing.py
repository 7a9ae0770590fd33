"""Preprocessing that is identical on every client, built from client aggregates, never pooled rows.

Protocol: each client sends `client_summary` (per numeric column: count, sum, sum of squares,
min, max, missing; per categorical column: the set of categories it holds). For median
imputation a second phase asks each client for `client_histograms` (sparse) on a shared bin
grid spanning the global min..max. `build_feature_spec` turns these aggregates into a FeatureSpec:
one-hot categories (schema-fixed or the union reported), numeric columns standardised with
the global mean and population standard deviation, blanks filled by the configured rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churn.feature_spec import FeatureSpec
from churn.schema import DatasetSchema

HISTOGRAM_BINS = 4096
IMPUTATIONS = ("mean", "median", "zero")


def client_summary(frame: pd.DataFrame, schema: DatasetSchema) -> dict[str, Any]:
    """Aggregate statistics of one client's rows: safe to send, holds no row."""
    numeric = {}
    # one float block for all numeric columns, and str() of each distinct category rather than
    # astype(str) of every row: 1.18 -> 0.42 ms a 70-row site (2,000 summaries in a
    # 1,000-site simulation: the in-process reference spec and the summary query)
    block = frame[list(schema.numeric)].to_numpy(dtype=float)
    for j, column in enumerate(schema.numeric):
        values = block[:, j]
        present = values[~np.isnan(values)]
        numeric[column] = {
            "count": int(present.size),
            "sum": math.fsum(present.tolist()),
            "sum_sq": math.fsum((present * present).tolist()),
            "min": float(present.min()) if present.size else None,
            "max": float(present.max()) if present.size else None,
            "missing": int(values.size - present.size),
        }
    categories = {c: sorted({str(v) for v in frame[c].unique()}) for c in schema.categorical}
    return {"rows": int(len(frame)), "numeric": numeric, "categories": categories}


def histogram_ranges(summaries: Sequence[Mapping[str, Any]], schema: DatasetSchema) -> dict:
    """Global [min, max] per numeric column: the shared grid for phase-2 histograms."""
    ranges = {}
    for column in schema.numeric:
        lows = [s["numeric"][column]["min"] for s in summaries if s["numeric"][column]["count"]]
        highs = [s["numeric"][column]["max"] for s in summaries if s["numeric"][column]["count"]]
        ranges[column] = [min(lows), max(highs)] if lows else [0.0, 0.0]
    return ranges


def client_histograms(frame: Mapping[str, Any], columns: Sequence[str], ranges: Mapping) -> dict:
    """One client's value counts in HISTOGRAM_BINS equal bins over the global range, sparse:
    per numeric column `{"bins": [...], "counts": [...]}`, occupied bins ascending (a 56-row
    site fills <= 56 of 4096 bins: the dense lists were 2 x 12k ints of JSON per node, 1.4 s
    of a 1,000-site run's 3.6 s of query overhead). `frame` maps each numeric column in
    `columns` to its values (a frame, or the node's cached numeric arrays)."""
    result = {}
    for column in columns:
        low, high = ranges[column]
        values = np.asarray(frame[column], dtype=float)
        values = values[~np.isnan(values)]
        counts, _ = np.histogram(values, bins=HISTOGRAM_BINS, range=(low, high if high > low else low + 1))
        occupied = np.flatnonzero(counts)
        result[column] = {"bins": occupied.tolist(), "counts": counts[occupied].tolist()}
    return result


def histogram_counts(answer: Mapping[str, Any], column: str) -> np.ndarray:
    """The dense HISTOGRAM_BINS counts of one client's sparse answer for `column`; ValueError
    naming what is wrong when the answer is not a valid sparse histogram."""
    try:
        bins = np.asarray(answer[column]["bins"], dtype=np.int64)
        counts = np.asarray(answer[column]["counts"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"histogram of {column!r} unreadable: {exc!r}") from None
    if (bins.ndim != 1 or bins.shape != counts.shape or (bins < 0).any()
            or (bins >= HISTOGRAM_BINS).any() or (np.diff(bins) <= 0).any()
            or not np.isfinite(counts).all() or (counts < 0).any()):
        raise ValueError(f"histogram of {column!r}: bins must be ascending in "
                         f"[0, {HISTOGRAM_BINS}) with one count >= 0 each")
    dense = np.zeros(HISTOGRAM_BINS)
    dense[bins] = counts
    return dense


def needs_histograms(imputation: str) -> bool:
    """Whether `build_feature_spec` needs the phase-2 histograms for this imputation rule."""
    _check_imputation(imputation)
    return imputation == "median"


def build_feature_spec(
    summaries: Sequence[Mapping[str, Any]],
    histograms: Sequence[Mapping[str, Any]] | None,
    schema: DatasetSchema,
    imputation: str = "median",
) -> FeatureSpec:
    """Combine client aggregates into the global FeatureSpec."""
    _check_imputation(imputation)
    if not summaries:
        raise ValueError("no client summaries: cannot build a feature spec")
    categories: dict[str, list[str]] = {}
    for column in schema.categorical:
        fixed = schema.categories.get(column)
        reported = set().union(*(s["categories"][column] for s in summaries))
        categories[column] = sorted(set(fixed) | ({"(missing)"} & reported)) if fixed else sorted(reported)
    ranges = histogram_ranges(summaries, schema)
    means, stds, fills = {}, {}, {}
    for column in schema.numeric:
        parts = [s["numeric"][column] for s in summaries]
        count = sum(p["count"] for p in parts)
        if count == 0:
            raise ValueError(f"numeric column {column!r} has no values at any client")
        mean = math.fsum(p["sum"] for p in parts) / count
        variance = max(math.fsum(p["sum_sq"] for p in parts) / count - mean * mean, 0.0)
        means[column] = mean
        stds[column] = math.sqrt(variance) if variance > 0 else 1.0
        if imputation == "mean":
            fills[column] = mean
        elif imputation == "zero":
            fills[column] = 0.0
        else:
            if histograms is None:
                raise ValueError("median imputation needs client histograms (phase 2)")
            counts = np.zeros(HISTOGRAM_BINS)
            for answer in histograms:
                counts += histogram_counts(answer, column)
            fills[column] = _histogram_median(counts, ranges[column])
    return FeatureSpec(categories=categories, numeric=list(schema.numeric), means=means,
                       stds=stds, fills=fills, imputation=imputation)


def federated_feature_spec(
    frames: Iterable[pd.DataFrame], schema: DatasetSchema, imputation: str = "median"
) -> FeatureSpec:
    """Run the two-phase protocol in process (baselines, tests): same result as over Flower."""
    frames = list(frames)
    summaries = [client_summary(f, schema) for f in frames]
    histograms = None
    if needs_histograms(imputation):
        ranges = histogram_ranges(summaries, schema)
        histograms = [client_histograms(f, schema.numeric, ranges) for f in frames]
    return build_feature_spec(summaries, histograms, schema, imputation)


def _histogram_median(counts: np.ndarray, value_range: Sequence[float]) -> float:
    """The median interpolated inside its bin of the clients' summed `counts`."""
    low, high = value_range
    if high <= low:
        return float(low)
    cumulative = np.cumsum(counts)
    half = cumulative[-1] / 2.0
    b = int(np.searchsorted(cumulative, half))
    before = cumulative[b - 1] if b > 0 else 0.0
    width = (high - low) / len(counts)
    inside = (half - before) / counts[b] if counts[b] else 0.5
    return float(low + width * (b + inside))


def _check_imputation(imputation: str) -> None:
    if imputation not in IMPUTATIONS:
        raise ValueError(f"imputation={imputation!r}; use one of {IMPUTATIONS}")


