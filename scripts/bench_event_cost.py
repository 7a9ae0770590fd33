"""Benchmark: the training thread's cost per mirrored event for the chain and signature choices.

`python scripts/bench_event_cost.py [--clients 10 --rounds 200]` plays a synthetic run through
KafkaObserver with an in-memory producer (no Kafka, no disk: only what `_emit` costs the
caller) with three signing policies, interleaved, and prints µs per event: chained only (no
signature), checkpoints signed (what the bridge does: run_started, round_aggregated, terminal)
and every event signed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka_bridge import observer as obs  # noqa: E402
from kafka_bridge.events import EVENT_TYPES  # noqa: E402
from kafka_bridge.report import table  # noqa: E402
from kafka_bridge.synthetic import every_event_kind, play, synthetic_run  # noqa: E402

POLICIES = {"chained, unsigned": frozenset(), "checkpoints signed (bridge)": obs.SIGNED_TYPES,
            "every event signed": frozenset(EVENT_TYPES)}


def per_event_us(policy: frozenset[str], run: object) -> float:
    """µs per event of one played run under a signing policy."""
    obs.SIGNED_TYPES = policy
    sink: list = []
    observer = obs.KafkaObserver({}, producer_factory=lambda: obs.CollectingProducer(sink))
    t0 = time.perf_counter()
    play(observer, run)
    return (time.perf_counter() - t0) / len(sink) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run = synthetic_run(num_clients=args.clients, num_rounds=args.rounds,
                        **every_event_kind(args.clients))
    times: dict[str, list[float]] = {name: [] for name in POLICIES}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for name, policy in POLICIES.items():
            times[name].append(per_event_us(policy, run))
    base = statistics.median(times["chained, unsigned"])
    rows = [[name, f"{min(t):.0f}", f"{statistics.median(t):.0f}",
             f"{statistics.median(t) / base:.2f}"] for name, t in times.items()]
    print(f"{args.clients} clients x {args.rounds} rounds, {args.repeats} interleaved repeats")
    print(table(["signing policy", "best us/event", "median us/event", "ratio"], rows))
    before, after = ("/".join(f"{x:.1f}" for x in load) for load in (load_before, os.getloadavg()))
    print(f"load average (1/5/15 min) before {before}, after {after}; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
