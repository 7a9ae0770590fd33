"""Benchmark: publish() → EventReader.poll_new() latency of the Kafka bridge on loopback."""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka_bridge.broker import broker_for_benchmark  # noqa: E402
from kafka_bridge.events import encode_arrays, make_event  # noqa: E402
from kafka_bridge.producer import EventProducer  # noqa: E402
from kafka_bridge.reader import EventReader  # noqa: E402
from kafka_bridge.report import table  # noqa: E402


def _events(run_id: str, n: int, dim: int) -> list:
    rng = np.random.default_rng(0)
    return [make_event(run_id, i, "client_update", {
        "round": i // 10, "node_id": i % 10, "partition_id": i % 10, "num_examples": 100,
        "metrics": {"train_loss": 0.5}, **encode_arrays([rng.normal(size=(1, dim)),
                                                        rng.normal(size=(1,))])})
            for i in range(n)]


def _tail(bootstrap: str, prefix: str, n: int, ready, out) -> None:  # noqa: ANN001 - mp objects
    """Reader process (like the dashboard): poll_new() until n events arrived."""
    logging.basicConfig(level=logging.ERROR)
    seen: dict[str, float] = {}
    with EventReader(bootstrap, prefix) as reader:
        reader.poll_new()
        ready.set()
        deadline = time.monotonic() + 120
        while len(seen) < n and time.monotonic() < deadline:
            got = reader.poll_new()
            now = time.monotonic()
            for e in got:
                seen.setdefault(e.event_id, now)
            if not got:
                time.sleep(0.002)
    out.put(seen)


def scenario(bootstrap: str, spool: Path, n: int, rate: float | None, dim: int) -> list:
    """Publish n events (paced at `rate`/s, or a burst) while another process tails them."""
    prefix, run_id = f"bench{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    events = _events(run_id, n, dim)
    producer = EventProducer({"bootstrap_servers": bootstrap, "topic_prefix": prefix,
                              "spool_dir": str(spool / prefix)})
    warm = run_id + "-warmup"  # one event per topic: new partitions get their leaders first
    for event in _events(warm, 20, dim):
        producer.publish(event)
    producer.publish(make_event(warm, 20, "round_started", {"round": 1, "sampled_nodes": [1]}))
    producer.publish(make_event(warm, 21, "run_failed", {"error": "warm-up"}))
    assert producer.flush(60), "broker unreachable"
    ctx = mp.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_tail, args=(bootstrap, prefix, n, ready, out), daemon=True)
    proc.start()
    assert ready.wait(120), "reader process did not start"
    sent_at: dict[str, float] = {}
    costs = []
    t_start = time.monotonic()
    for i, event in enumerate(events):
        if rate:
            delay = t_start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        t0 = time.monotonic()
        sent_at[event.event_id] = t0
        producer.publish(event)
        costs.append(time.monotonic() - t0)
    publish_s = time.monotonic() - t_start
    seen = out.get(timeout=180)
    proc.join(timeout=10)
    stats = producer.close()
    lat = np.array([seen[k] - v for k, v in sent_at.items() if k in seen]) * 1e3
    pub = np.array(costs) * 1e3
    name = f"paced {rate:g}/s" if rate else "burst"
    return [name, n, f"{len(lat)}/{n}", f"{np.percentile(pub, 50):.2f}",
            f"{np.percentile(pub, 99):.2f}", f"{np.percentile(lat, 50):.1f}",
            f"{np.percentile(lat, 99):.1f}", f"{lat.max():.1f}", f"{n / publish_s:.0f}",
            stats["pending"]]


def main() -> int:
    """Fixed command: `python scripts/bench_kafka_latency.py` (starts its own broker)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", help="use this broker instead of a temporary one")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="paced scenario, events/s")
    parser.add_argument("--dim", type=int, default=30, help="features per mirrored update")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with (tempfile.TemporaryDirectory(prefix="bench-kafka-") as tmp,
          broker_for_benchmark(args.bootstrap, Path(tmp) / "broker") as bootstrap):
        rows = [scenario(bootstrap, Path(tmp), args.events, args.rate, args.dim),
                scenario(bootstrap, Path(tmp), args.events, None, args.dim)]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) during the run")
    print(table(["scenario", "events", "read", "publish p50 ms", "publish p99 ms",
                 "e2e p50 ms", "e2e p99 ms", "e2e max ms", "publish/s", "pending"], rows))
    print("e2e = publish() in this process → EventReader.poll_new() in a reader process "
          "(like the dashboard); target p99 < 200 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
