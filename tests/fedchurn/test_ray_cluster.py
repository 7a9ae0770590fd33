"""engine=flower joins an existing two-node Ray cluster (engine.ray_address) on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fedchurn.config import compose_config
from fedchurn.engines.local_ray_cluster import LocalRayCluster, alive_nodes, local_ray_cluster
from fedchurn.simulate import run_job
from tests.fedchurn.comparisons import federated_results

pytestmark = pytest.mark.flower

COMMON = ["data.num_rows=1200", "num_clients=6", "num_rounds=2", "seed=7",
          "reference.local_only=false"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRayCluster]:
    # two nodes with 2 CPUs each, own temp dirs, stopped by their pids (never `ray stop`)
    with local_ray_cluster(nodes=2, cpus_per_node=2) as running:
        yield running


def test_flower_engine_runs_on_a_two_node_cluster(cluster: LocalRayCluster) -> None:
    assert alive_nodes(cluster.address) == 2
    on_cluster = run_job(compose_config(["engine=flower", f"engine.ray_address={cluster.address}",
                                         "engine.client_cpus=0.5", *COMMON]),
                         run_id="ray-cluster", output_dir=None, observers=[])
    local = run_job(compose_config(["engine=inprocess", "engine.workers=1", *COMMON]),
                    run_id="local", output_dir=None, observers=[])
    assert len(on_cluster["rounds"]) == 3 and on_cluster["rounds"][-1]["participants"] == 6
    assert federated_results(on_cluster) == federated_results(local)
    # the second node hosted ClientApp actors: its raylet started Python workers
    second = list(Path(cluster.temp_dirs[1]).glob("session_*/logs/worker-*.out"))
    assert second, f"no worker logs on the second node under {cluster.temp_dirs[1]}"
    # the run only disconnected its driver: the cluster is still up for the next job
    assert alive_nodes(cluster.address) == 2
