"""Federation-consistent preprocessing: aggregates equal pooled statistics, layouts never shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.feature_spec import FeatureSpec, UnknownCategoryWarning
from churn.preprocessing import (
    HISTOGRAM_BINS,
    build_feature_spec,
    client_histograms,
    client_summary,
    federated_feature_spec,
    histogram_counts,
    histogram_ranges,
)
from churn.schema import DatasetSchema

SCHEMA = DatasetSchema(name="t", target="y", positive="1", negative="0",
                       categorical=("plan",), numeric=("charges", "age"))


def _frame(plans: list[str], rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({"plan": rng.choice(plans, n),
                         "charges": rng.normal(5000.0, 2500.0, n),
                         "age": rng.integers(18, 90, n).astype(float)})


def test_global_mean_std_from_aggregates_equal_pooled(synthetic_small) -> None:
    frame = synthetic_small.features
    clients = [frame.iloc[i::3] for i in range(3)]
    spec = federated_feature_spec(clients, synthetic_small.schema, "mean")
    for column in synthetic_small.schema.numeric:
        pooled = frame[column].to_numpy(dtype=float)
        assert spec.means[column] == pytest.approx(pooled.mean(), rel=1e-9, abs=1e-9)
        assert spec.stds[column] == pytest.approx(pooled.std(ddof=0), rel=1e-9, abs=1e-9)


def test_clients_with_different_category_subsets_get_identical_layouts() -> None:
    rng = np.random.default_rng(1)
    a, b = _frame(["basic", "gold"], rng, 50), _frame(["gold", "premium"], rng, 50)
    spec = federated_feature_spec([a, b], SCHEMA, "mean")
    assert spec.feature_names == ["plan=basic", "plan=gold", "plan=premium", "charges", "age"]
    xa, xb = spec.transform(a), spec.transform(b)
    assert xa.shape[1] == xb.shape[1] == 5
    assert (xa[:, 2] == 0).all() and (xb[:, 0] == 0).all()
    assert np.array_equal(xa[:, :3].sum(axis=1), np.ones(50))


def test_unknown_category_warns_and_encodes_zeros() -> None:
    rng = np.random.default_rng(2)
    spec = federated_feature_spec([_frame(["basic", "gold"], rng, 40)], SCHEMA, "mean")
    stranger = _frame(["platinum"], rng, 5)
    with pytest.warns(UnknownCategoryWarning, match="platinum"):
        x = spec.transform(stranger, source="client 7")
    assert x.shape == (5, spec.num_features)
    assert (x[:, :2] == 0).all()


def test_median_imputation_from_histograms_is_close_to_pooled_median() -> None:
    rng = np.random.default_rng(3)
    frames = [_frame(["basic"], rng, 400) for _ in range(4)]
    frames[0].loc[:9, "charges"] = np.nan
    spec = federated_feature_spec(frames, SCHEMA, "median")
    pooled = pd.concat(frames)["charges"].dropna()
    width = (pooled.max() - pooled.min()) / 4096
    assert abs(spec.fills["charges"] - pooled.median()) <= 2 * width
    x = spec.transform(frames[0])
    expected = (spec.fills["charges"] - spec.means["charges"]) / spec.stds["charges"]
    assert np.allclose(x[:10, 1], expected)


def test_summaries_hold_no_rows_and_spec_round_trips() -> None:
    rng = np.random.default_rng(4)
    frame = _frame(["basic", "gold"], rng, 30)
    summary = client_summary(frame, SCHEMA)
    assert set(summary) == {"rows", "numeric", "categories"}
    assert set(summary["numeric"]["charges"]) == {"count", "sum", "sum_sq", "min", "max", "missing"}
    ranges = histogram_ranges([summary], SCHEMA)
    spec = build_feature_spec([summary], [client_histograms(frame, SCHEMA.numeric, ranges)], SCHEMA)
    again = FeatureSpec.from_json(spec.to_json())
    assert again == spec and again.fingerprint == spec.fingerprint
    assert again.feature_names == spec.feature_names
    other = federated_feature_spec([_frame(["basic", "silver"], rng, 30)], SCHEMA, "median")
    assert other.fingerprint != spec.fingerprint


def test_missing_columns_at_transform_are_named() -> None:
    rng = np.random.default_rng(5)
    spec = federated_feature_spec([_frame(["basic"], rng, 10)], SCHEMA, "mean")
    with pytest.raises(ValueError, match=r"site-3.csv: missing columns \['age'\]"):
        spec.transform(_frame(["basic"], rng, 3).drop(columns=["age"]), source="site-3.csv")


def test_phase_two_histograms_travel_sparse_and_expand_to_the_dense_counts() -> None:
    rng = np.random.default_rng(6)
    frame = _frame(["basic"], rng, 56)
    frame.loc[:4, "age"] = np.nan
    ranges = histogram_ranges([client_summary(frame, SCHEMA)], SCHEMA)
    answer = client_histograms(frame, SCHEMA.numeric, ranges)
    for column in SCHEMA.numeric:
        bins = answer[column]["bins"]
        assert bins == sorted(set(bins)) and len(bins) <= 56 and 0 not in answer[column]["counts"]
        low, high = ranges[column]
        dense, _ = np.histogram(frame[column].dropna(), bins=HISTOGRAM_BINS, range=(low, high))
        assert histogram_counts(answer, column).tolist() == dense.astype(float).tolist()
    assert sum(answer["age"]["counts"]) == 51  # blanks are not counted


@pytest.mark.parametrize("broken", [
    {"bins": [3, 2], "counts": [1, 1]},  # not ascending
    {"bins": [1, 1], "counts": [1, 1]},  # a bin twice
    {"bins": [HISTOGRAM_BINS], "counts": [1]},  # outside the grid
    {"bins": [1], "counts": [-1]},  # negative count
    {"bins": [1, 2], "counts": [1]},  # lengths differ
    {"bins": "x", "counts": [1]},  # not numbers
    {"counts": [1]},  # no bins
])
def test_a_malformed_sparse_histogram_is_one_error_naming_the_column(broken: dict) -> None:
    with pytest.raises(ValueError, match="histogram of 'age'"):
        histogram_counts({"age": broken}, "age")
