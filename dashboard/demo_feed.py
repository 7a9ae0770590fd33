"""Synthetic federated runs (kafka_bridge.synthetic) fed through the real KafkaObserver.

Run: python -m dashboard.demo_feed --bootstrap HOST:PORT [--runs 3 --rounds 5 --delay 1]
Every number is made up; no model is trained and no customer data exists.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from churn.rounds import RoundObserver
from kafka_bridge.synthetic import FIRST_NODE, play, synthetic_run


def feed_run(observer: RoundObserver, run_id: str, *, num_clients: int = 3, num_rounds: int = 3,
             seed: int = 0, delay_s: float = 0.0, fail_at_round: int | None = None,
             reject_node: int | None = None, config: dict[str, Any] | None = None) -> None:
    """Drive `observer` through one synthetic run (rounds `delay_s` apart). `reject_node`'s
    train reply is rejected in even rounds, its evaluate reply in the other multiples of 3."""
    train: dict[int, int] = {}
    evaluate: dict[int, int] = {}
    if reject_node is not None:
        partition = reject_node - FIRST_NODE
        train = {r: partition for r in range(2, num_rounds + 1, 2)}
        evaluate = {r: partition for r in range(3, num_rounds + 1, 3) if r % 2}
    play(observer, synthetic_run(run_id, num_clients=num_clients, num_rounds=num_rounds,
                                 seed=seed, train_rejections=train, evaluate_rejections=evaluate,
                                 fail_at_round=fail_at_round, config=config), delay_s)


def main(argv: list[str] | None = None) -> int:
    """Publish a few synthetic runs to a broker through the real bridge."""
    from kafka_bridge.observer import KafkaObserver

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic-prefix", default="fedchurn")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--spool-dir", default=".kafka/demo-spool")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    for i in range(args.runs):
        observer = KafkaObserver({"bootstrap_servers": args.bootstrap, "topic_prefix": args.topic_prefix,
                                  "spool_dir": args.spool_dir})
        feed_run(observer, f"demo_{stamp}_{i}", num_clients=args.clients, num_rounds=args.rounds,
                 seed=i, delay_s=args.delay, reject_node=1001 if i % 2 else None)
        print(f"published demo_{stamp}_{i}: {observer.last_stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
