"""Benchmark: engine=flower on a two-node Ray cluster started on this machine, fractional CPUs.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_ray_cluster.py \
      [--sites 1000 --rows 70000 --rounds 2 --client-cpus 0.25 --cpus-per-node 2]

Starts the nodes with `fedchurn.engines.local_ray_cluster` (own temp dirs, stopped by their
pids), runs `fedchurn.simulate.run_job` with `engine.ray_address` set, and prints wall time,
seconds per site-round and the load average; the cluster start-up is timed apart.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fedchurn.config import compose_config  # noqa: E402
from fedchurn.engines.local_ray_cluster import local_ray_cluster  # noqa: E402
from fedchurn.simulate import run_job  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=70000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client-cpus", type=float, default=0.25)
    parser.add_argument("--cpus-per-node", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.perf_counter()
    with local_ray_cluster(nodes=2, cpus_per_node=args.cpus_per_node) as cluster:
        up_s = time.perf_counter() - started
        # README numbers: sites train on all their rows (client.local_eval_fraction=0)
        cfg = compose_config(["engine=flower", f"engine.ray_address={cluster.address}",
                              f"engine.client_cpus={args.client_cpus}", "data=synthetic",
                              f"data.num_rows={args.rows}", f"num_clients={args.sites}",
                              f"num_rounds={args.rounds}", "reference.local_only=false",
                              "client.local_eval_fraction=0"])
        with contextlib.redirect_stdout(io.StringIO()):
            results = run_job(cfg, run_id="bench-ray-cluster", output_dir=None, observers=[])
    timing = results["timing"]
    actors = int(2 * args.cpus_per_node / args.client_cpus)
    print(f"two-node Ray cluster on 127.0.0.1 ({args.cpus_per_node} CPUs each, client_cpus "
          f"{args.client_cpus} -> {actors} ClientApp actors), up in {up_s:.1f} s")
    print(f"{'N':>5} {'rows':>7} {'rounds':>6} {'federation s':>12} {'s/round':>8} "
          f"{'ms/site-round':>13} {'final AUC':>9}")
    per_round = timing["federation_s"] / args.rounds
    print(f"{args.sites:>5} {args.rows:>7} {args.rounds:>6} {timing['federation_s']:12.1f} "
          f"{per_round:8.1f} {1000 * per_round / args.sites:13.2f} "
          f"{results['final']['federated_auc']:9.4f}")
    print(f"load average before {'/'.join(f'{x:.1f}' for x in load_before)}, after "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
