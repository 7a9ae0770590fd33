"""Partitioners: deterministic, every row exactly once, and the skews they promise."""

from __future__ import annotations

import numpy as np
import pytest

from churn.partitioning import describe_partitions, format_partition_report, partition_rows

CONFIGS = [
    {"name": "iid"},
    {"name": "dirichlet", "alpha": 0.1},
    {"name": "dirichlet", "alpha": 0.5},
    {"name": "quantity", "alpha": 0.5},
    {"name": "column", "column": "Contract"},
    {"name": "column", "column": "PaymentMethod"},
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("num_clients", [2, 3, 10])
def test_deterministic_and_cover_every_row_once(synthetic_small, cfg, num_clients) -> None:
    parts = partition_rows(synthetic_small, cfg, num_clients, seed=7)
    again = partition_rows(synthetic_small, cfg, num_clients, seed=7)
    assert len(parts) == num_clients
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    everything = np.concatenate(parts)
    assert np.array_equal(np.sort(everything), np.arange(len(synthetic_small)))


def test_dirichlet_low_alpha_skews_label_ratios(synthetic_small) -> None:
    def spread(cfg):
        parts = partition_rows(synthetic_small, cfg, 10, seed=1)
        rates = [r["churn_rate"] for r in describe_partitions(parts, synthetic_small.target)
                 if not r["empty"]]
        return float(np.std(rates))

    iid, skewed = spread({"name": "iid"}), spread({"name": "dirichlet", "alpha": 0.1})
    assert iid < 0.05
    assert skewed > 0.2 and skewed > 5 * iid


def test_quantity_skews_sizes(synthetic_small) -> None:
    parts = partition_rows(synthetic_small, {"name": "quantity", "alpha": 0.3}, 10, seed=2)
    sizes = [len(p) for p in parts]
    assert max(sizes) > 4 * min(sizes) and min(sizes) >= 2


def test_column_partition_keeps_one_value_per_client(synthetic_small) -> None:
    parts = partition_rows(synthetic_small, {"name": "column", "column": "Contract"}, 5, seed=0)
    values = synthetic_small.features["Contract"].to_numpy()
    assert all(len(set(values[p])) == 1 for p in parts)


def test_single_class_and_empty_clients_are_reported(synthetic_small) -> None:
    target = synthetic_small.target
    parts = [np.flatnonzero(target == 0)[:5], np.array([], dtype=int), np.arange(len(target))]
    report = describe_partitions(parts, target)
    assert report[0]["single_class"] and not report[0]["empty"]
    assert report[1]["empty"]
    assert not report[2]["single_class"]
    text = format_partition_report(report)
    assert "single class" in text and "EMPTY" in text


def test_bad_partition_configs_are_explained(synthetic_small) -> None:
    with pytest.raises(ValueError, match="unknown partition 'stripes'"):
        partition_rows(synthetic_small, {"name": "stripes"}, 3, 0)
    with pytest.raises(ValueError, match="partition.column='Region'"):
        partition_rows(synthetic_small, {"name": "column", "column": "Region"}, 3, 0)
    with pytest.raises(ValueError, match="alpha must be positive"):
        partition_rows(synthetic_small, {"name": "dirichlet", "alpha": 0}, 3, 0)
