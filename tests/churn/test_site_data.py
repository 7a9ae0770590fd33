"""The encoded pool: a node's matrices equal encoding its own rows, bit for bit, as views."""

from __future__ import annotations

import numpy as np
import pytest

from churn.site_data import ClientSettings, encoded_node_data, encoded_pool, load_node_data
from fedchurn.config import compose_config
from fedchurn.simulate import client_settings


def _settings(**changes: object) -> ClientSettings:
    cfg = compose_config(["data.num_rows=900", "num_clients=6", "partition=dirichlet",
                          "partition.alpha=0.5"])
    return ClientSettings(**{**vars(client_settings(cfg)), **changes})


@pytest.mark.parametrize("fraction", [0.0, 0.3])
def test_pool_rows_equal_per_node_encoding(fraction: float) -> None:
    from churn.site_data import load_experiment

    settings = _settings(local_eval_fraction=fraction)
    spec_json = load_experiment(settings).feature_spec("median").to_json()
    for partition in range(settings.num_clients):
        node = load_node_data(settings, partition)
        spec = load_experiment(settings).feature_spec("median")
        x_train, y_train, x_eval, y_eval = encoded_node_data(settings, partition, "", spec_json)
        assert np.array_equal(x_train, spec.transform(node.train.features))
        assert np.array_equal(y_train, node.train.target)
        assert np.array_equal(x_eval, spec.transform(node.evaluation.features))
        assert np.array_equal(y_eval, node.evaluation.target)
    pool = encoded_pool(settings, spec_json)
    for matrix in encoded_node_data(settings, 2, "", spec_json)[::2]:  # views, never copies
        assert np.shares_memory(matrix, pool.features)
    assert max(stop for _, _, stop in pool.ranges.values()) == len(pool.target)


def test_a_worker_encodes_only_the_partitions_it_serves() -> None:
    from churn.site_data import load_experiment, serve_partitions

    settings = _settings(local_eval_fraction=0.0)  # the node's matrix is its whole pool slice
    spec_json = load_experiment(settings).feature_spec("median").to_json()
    full = encoded_pool(settings, spec_json)
    try:
        serve_partitions([1, 4])
        share = encoded_pool(settings, spec_json)
        assert sorted(share.ranges) == [1, 4]
        for k in (1, 4):
            assert np.array_equal(share.rows_of(k)[0], full.rows_of(k)[0])
        # a partition outside the declared share still answers (the whole pool is encoded)
        assert np.array_equal(encoded_node_data(settings, 2, "", spec_json)[0], full.rows_of(2)[0])
    finally:
        serve_partitions(None)


def test_unknown_partition_is_a_readable_error() -> None:
    settings = _settings()
    with pytest.raises(ValueError, match="partition-id 9 outside 0..5"):
        encoded_node_data(settings, 9, "", "{}")
