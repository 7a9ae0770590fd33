"""engine.workers: ClientApp calls on forked worker processes give bit-identical runs."""

from __future__ import annotations

import numpy as np

from churn.rounds import RoundRecord
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from tests.fedchurn.comparisons import federated_results
from tests.strategy.test_privacy import Keep

# Uneven ownership (7 nodes over 3 workers), held-out local evaluation, simulated dropouts
# and single-class declines: every path a reply can take crosses the worker pipe.
COMMON = ["engine=inprocess", "data.num_rows=1400", "num_clients=7", "num_rounds=3",
          "client.local_eval_fraction=0.25", "client.dropout_rate=0.3",
          "partition=dirichlet", "partition.alpha=0.3", "client.single_class=decline",
          "reference.local_only=false"]


def _run(workers: int) -> tuple[dict, list[RoundRecord]]:
    keep = Keep()
    results = run_job(compose_config([*COMMON, f"engine.workers={workers}"]),
                      run_id=f"w{workers}", output_dir=None, observers=[keep])
    return results, keep.records


def test_worker_processes_give_bit_identical_rounds() -> None:
    one, one_records = _run(1)
    for workers in (2, 3):
        many, many_records = _run(workers)
        assert len(many_records) == len(one_records) == 3
        for a, b in zip(one_records, many_records, strict=True):
            assert a.sampled_nodes == b.sampled_nodes
            for x, y in zip(a.global_arrays, b.global_arrays, strict=True):
                assert np.array_equal(x, y)  # bit for bit, not approximately
            assert [(u.node_id, u.num_examples, u.metrics) for u in a.updates] == \
                   [(u.node_id, u.num_examples, u.metrics) for u in b.updates]
            for ua, ub in zip(a.updates, b.updates, strict=True):
                assert all(np.array_equal(p, q) for p, q in zip(ua.arrays, ub.arrays, strict=True))
            assert [(r.node_id, r.reason) for r in a.rejected + a.missing] == \
                   [(r.node_id, r.reason) for r in b.rejected + b.missing]
            assert a.evaluate_metrics == b.evaluate_metrics
            assert a.server_metrics == b.server_metrics
        assert federated_results(many) == federated_results(one)
    assert any(r.missing for r in one_records)  # dropouts really happened
    assert any(r.rejected for r in one_records)  # and single-class sites declined


def test_workers_default_to_the_machines_cores() -> None:
    from fedchurn.engines.node_workers import default_workers

    assert compose_config(["engine=inprocess"])["engine"]["workers"] is None
    assert default_workers() >= 1
