"""`python -m kafka_bridge replay|spool-status|demo|topics`: operate the bridge's spool/topics."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from kafka_bridge.config import BridgeConfig
from kafka_bridge.producer import EventProducer
from kafka_bridge.spool import Spool, SpoolBusyError
from kafka_bridge.topics import ensure_topics


def replay(spool_dir: str | Path, bootstrap: str, topic_prefix: str = "fedchurn",
           timeout_s: float = 60.0) -> dict[str, int]:
    """Deliver every undelivered event of a spool directory; returns the delivery counts."""
    cfg = BridgeConfig(bootstrap_servers=bootstrap, topic_prefix=topic_prefix,
                       spool_dir=str(spool_dir), flush_timeout_s=timeout_s)
    return EventProducer(cfg).close()


def main(argv: list[str] | None = None) -> int:
    """CLI; exit 1 if events remain undelivered or the spool is busy."""
    parser = argparse.ArgumentParser(prog="python -m kafka_bridge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("replay", help="deliver a spool's pending events to Kafka")
    p.add_argument("--spool", required=True, type=Path)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic-prefix", default="fedchurn")
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("spool-status", help="count pending events in a spool")
    p.add_argument("--spool", required=True, type=Path)
    p = sub.add_parser("demo", help="publish a synthetic consistent run (dashboard testing)")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic-prefix", default="fedchurn")
    p.add_argument("--spool", type=Path, default=Path(".kafka/spool"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--clients", type=int, default=4)
    p = sub.add_parser("topics", help="create the bridge topics (idempotent)")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic-prefix", default="fedchurn")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    try:
        if args.command == "replay":
            dirs = [args.spool, *sorted(args.spool.glob("proc-*"))]
            totals = {"delivered": 0, "spooled": 0, "pending": 0}
            for d in dirs:
                for k, n in replay(d, args.bootstrap, args.topic_prefix, args.timeout).items():
                    totals[k] += n
            print(json.dumps(totals))
            return 0 if totals["pending"] == 0 else 1
        if args.command == "spool-status":
            spool = Spool(args.spool)
            print(json.dumps({"spool": str(spool.directory), "pending": spool.pending_count}))
            spool.close()
            return 0
        if args.command == "demo":
            from kafka_bridge.observer import KafkaObserver
            from kafka_bridge.synthetic import every_event_kind, play, synthetic_run

            observer = KafkaObserver({"bootstrap_servers": args.bootstrap, "spool_dir":
                                      str(args.spool), "topic_prefix": args.topic_prefix})
            run = synthetic_run(num_rounds=args.rounds, num_clients=args.clients,
                                **every_event_kind(args.clients))
            play(observer, run)
            print(json.dumps({"run_id": run.info.run_id, **(observer.last_stats or {})}))
            return 0
        created = ensure_topics({"bootstrap_servers": args.bootstrap}, args.topic_prefix)
        print(json.dumps({"created": created}))
        return 0
    except SpoolBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
