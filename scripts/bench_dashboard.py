"""Dashboard page-load benchmark: 100 runs x 50 rounds on a real local broker, cold and warm.

Fixed command (starts and stops its own broker on a free port):
    .venv/bin/python scripts/bench_dashboard.py
Options: --runs N --rounds N --clients N --repeats N --bootstrap HOST:PORT (use a running broker).
Page load = one full Streamlit script run of the page (AppTest, in-process): polling Kafka for
new events, building the page's tables and charts, and serialising every element.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from dashboard.demo_feed import feed_run  # noqa: E402
from kafka_bridge.events import Event  # noqa: E402
from kafka_bridge.observer import CollectingProducer, KafkaObserver  # noqa: E402
from kafka_bridge.topics import ensure_topics, topic_for  # noqa: E402

APP = REPO_ROOT / "dashboard" / "app.py"
PAGES = [("runs", None), ("run detail", "app_pages/run_detail.py"),
         ("kafka flow", "app_pages/kafka_flow.py"), ("sweeps", "app_pages/sweeps.py")]


def publish_runs(bootstrap: str, prefix: str, runs: int, rounds: int, clients: int) -> int:
    """Build `runs` synthetic runs (a fifth of them one sweep, every 10th failed) and send them."""
    from kafka import KafkaProducer

    events: list[Event] = []
    for i in range(runs):
        run_id = f"bench-sweep_{i}_n{clients + i % 3}" if i < runs // 5 else f"bench-run-{i:03d}"
        observer = KafkaObserver({}, producer_factory=lambda: CollectingProducer(events))
        feed_run(observer, run_id, num_clients=clients + (i % 3 if i < runs // 5 else 0),
                 num_rounds=rounds, seed=i, reject_node=1001 if i % 4 == 0 else None,
                 fail_at_round=rounds // 2 if i % 10 == 9 else None)
    ensure_topics({"bootstrap_servers": bootstrap}, prefix)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                             batch_size=512 * 1024, max_request_size=8 * 1024 * 1024)
    for event in events:
        producer.send(topic_for(event.type, prefix), key=event.run_id.encode(), value=event.to_bytes())
    producer.flush(timeout=120)
    producer.close()
    return len(events)


def timed_run(at) -> float:
    """Seconds for one full script run of the session's current page."""
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed


def open_session(page: str | None, query: dict[str, str]):
    """A new browser-like session on `page`, and the seconds its first page run took."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.query_params.update(query)
    if page is None:
        return at, timed_run(at)
    at.run()  # every session starts on the default page; time the page itself
    at.switch_page(page)
    return at, timed_run(at)


def audits_pending(at) -> int:
    """Runs whose audit verdict is still being computed (filled in over refreshes)."""
    frame = at.dataframe[0].value if at.dataframe else None
    return 0 if frame is None else int((frame["audit"] == "checking…").sum())


def bench(bootstrap: str, args: argparse.Namespace) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    count = publish_runs(bootstrap, prefix, args.runs, args.rounds, args.clients)
    print(f"published {count} events ({args.runs} runs x {args.rounds} rounds, {args.clients}+ clients)"
          f" to {bootstrap} prefix {prefix} in {time.perf_counter() - t0:.1f} s")
    os.environ.update({"FEDCHURN_KAFKA_BOOTSTRAP": bootstrap, "FEDCHURN_KAFKA_TOPIC_PREFIX": prefix})
    query = {"run": "bench-run-050"}
    runs_at, cold_first = open_session(None, query)  # reads every event from Kafka
    settle_started, refreshes = time.perf_counter(), 0
    while audits_pending(runs_at):  # what the 2 s auto-refresh does while the page is open
        timed_run(runs_at)
        refreshes += 1
    settle = time.perf_counter() - settle_started
    rows = []
    for name, page in PAGES:
        at, first = (runs_at, cold_first) if page is None else open_session(page, query)
        rerun = statistics.median(timed_run(at) for _ in range(args.repeats))
        fresh = statistics.median(open_session(page, query)[1] for _ in range(args.repeats))
        rows.append((name, first, rerun, fresh))
    print(f"\ncold start: first page {cold_first:.2f} s (reads all {count} events); audit column "
          f"complete after {refreshes} more refreshes ({settle:.1f} s)\n")
    header = f"{'page':<12} {'cold_s':>8} {'warm_rerun_s':>13} {'warm_new_session_s':>19}"
    print(header + f"   (warm: median of {args.repeats})")
    for name, first, rerun, fresh in rows:
        print(f"{name:<12} {first:>8.2f} {rerun:>13.3f} {fresh:>19.3f}")
    worst = max(max(r[2], r[3]) for r in rows)
    print(f"\nworst warm page load {worst:.3f} s: {'within' if worst < 2 else 'OVER'} the 2 s budget")
    from dashboard.settings import MonitorSettings
    from dashboard.ui import get_store

    get_store(MonitorSettings.load()).close()  # the shared reader, before the broker goes away


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    from kafka_bridge.broker import broker_for_benchmark

    with (tempfile.TemporaryDirectory(prefix="bench-kafka-") as state,
          broker_for_benchmark(args.bootstrap, Path(state)) as bootstrap):
        bench(bootstrap, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
