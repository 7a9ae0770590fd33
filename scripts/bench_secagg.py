"""Cost of secure=secagg (with dropout recovery) against plain FedAvg: round time, bytes per site.

Fixed command (in-process engine, one process; about 5 min on 2 busy cores):

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_secagg.py

For N = 10, 50, 200 synthetic IID sites (100 rows each), 2 rounds, client.dropout_rate 0 and
0.1 (seeded), every site sampled: the mean round time (server + all sites, which run one after
another in this process, so it is the sum of all sites' work) and the bytes per site and round,
i.e. the Flower protobuf size (`message_to_proto(...).ByteSize()`) of every message a site
receives plus every reply it sends (keys, shares, train, unmask and evaluate queries).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flwr.common.serde import message_to_proto  # noqa: E402

from fedchurn.config import compose_config  # noqa: E402
from fedchurn.simulate import run_job  # noqa: E402


class ByteCounter:
    """A ClientApp wrapper adding up the protobuf bytes each node receives and sends."""

    def __init__(self) -> None:
        self.by_node: dict[int, int] = defaultdict(int)

    def wrap(self, inner):
        def app(message, context):
            self.by_node[context.node_id] += message_to_proto(message).ByteSize()
            reply = inner(message=message, context=context)
            self.by_node[context.node_id] += message_to_proto(reply).ByteSize()
            return reply
        return app


def _run(sites: int, rounds: int, dropout: float, secure: bool) -> tuple[float, float, int]:
    """(mean round seconds, bytes per site and round, sites summed in the last round)."""
    overrides = ["engine=inprocess", f"num_clients={sites}", f"num_rounds={rounds}",
                 f"data.num_rows={100 * sites}", f"client.dropout_rate={dropout}",
                 "client.local_eval_fraction=0"]  # README numbers: sites train on all their rows
    if secure:
        overrides.append("secure=secagg")
    counter = ByteCounter()
    with contextlib.redirect_stdout(io.StringIO()):
        result = run_job(compose_config(overrides), run_id="bench-secagg", output_dir=None,
                         observers=[], wrap_client_app=counter.wrap)
    seconds = result["timing"]["rounds_s"]
    per_site = sum(counter.by_node.values()) / sites / rounds
    return sum(seconds) / len(seconds), per_site, result["rounds"][-1]["participants"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--dropouts", type=float, nargs="+", default=[0.0, 0.1])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # dropped-site notices would break up the table
    started = time.perf_counter()
    print(f"in-process engine, synthetic IID, 100 rows/site, {args.rounds} rounds, all sites "
          f"sampled; secagg: min_sites 3, t = max(3, ceil(0.5 n)), F = 32; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    print(f"{'N':>4} {'drop':>5} {'plain s/round':>13} {'secagg s/round':>14} {'time x':>7} "
          f"{'plain B/site':>12} {'secagg B/site':>13} {'bytes x':>8} {'summed':>7} {'load':>5}")
    for sites in args.sites:
        for dropout in args.dropouts:
            plain_s, plain_b, _ = _run(sites, args.rounds, dropout, secure=False)
            secure_s, secure_b, summed = _run(sites, args.rounds, dropout, secure=True)
            print(f"{sites:>4} {dropout:>5.2f} {plain_s:>13.3f} {secure_s:>14.3f} "
                  f"{secure_s / plain_s:>7.1f} {plain_b:>12,.0f} {secure_b:>13,.0f} "
                  f"{secure_b / plain_b:>8.1f} {summed:>7} {os.getloadavg()[0]:>5.2f}",
                  flush=True)
    print(f"wall {time.perf_counter() - started:.0f} s; load average at end "
          f"{os.getloadavg()[0]:.2f} (2 cores shared with other jobs)")


if __name__ == "__main__":
    main()
