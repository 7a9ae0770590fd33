"""Shared helpers for the bridge tests: unique prefixes, spool-only runs, raw Kafka clients."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from kafka_bridge.events import Event, dumps
from kafka_bridge.jsonl import read_jsonl
from kafka_bridge.observer import KafkaObserver
from kafka_bridge.processes import free_port
from kafka_bridge.spool import EVENTS_FILE
from kafka_bridge.synthetic import every_event_kind, play, synthetic_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def unique_prefix() -> str:
    """A topic prefix no other test uses (tests share one broker)."""
    return f"t{uuid.uuid4().hex[:10]}"


def dead_bootstrap() -> str:
    """A loopback address where nothing listens."""
    return f"127.0.0.1:{free_port('127.0.0.1')}"


def observer_config(spool: Path, bootstrap: str, prefix: str, **extra: Any) -> dict[str, Any]:
    """A KafkaObserver config dict for tests."""
    return {"bootstrap_servers": bootstrap, "topic_prefix": prefix, "spool_dir": str(spool),
            **extra}


def run_synthetic(spool: Path, bootstrap: str, prefix: str, *, rounds: int = 3,
                  clients: int = 4, seed: int = 0, **extra: Any) -> tuple[str, KafkaObserver]:
    """Play a synthetic consistent run through a KafkaObserver; returns (run_id, observer)."""
    observer = KafkaObserver(observer_config(spool, bootstrap, prefix, **extra))
    run = synthetic_run(num_rounds=rounds, num_clients=clients, seed=seed,
                        **every_event_kind(clients))
    play(observer, run)
    return run.info.run_id, observer


def spooled_events(spool: Path) -> list[Event]:
    """Every event ever appended to a spool directory, in append order."""
    return read_jsonl(spool / EVENTS_FILE)


def offline_run(tmp_path: Path, **kwargs: Any) -> list[Event]:
    """A synthetic run's events captured by the spool alone (no broker reachable)."""
    spool = tmp_path / f"spool-{uuid.uuid4().hex[:6]}"
    run_synthetic(spool, dead_bootstrap(), "offline", flush_timeout_s=0.0,
                  connect_timeout_s=0.2, **kwargs)
    return spooled_events(spool)


def cli(module: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run `python -m module args...` from the repo root."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def raw_send(bootstrap: str, topic: str, values: list[bytes | None], key: bytes = b"x") -> None:
    """Produce raw bytes (bypassing the bridge) and wait for the acks."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, allow_auto_create_topics=False)
    try:
        for value in values:
            producer.send(topic, key=key, value=value).get(timeout=10)
    finally:
        producer.close()


def raw_messages(bootstrap: str, prefix: str) -> list[tuple[str, bytes, bytes, list]]:
    """(topic, key, value, headers) of every message on every topic named `<prefix>.*`."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        topics = sorted(t for t in consumer.topics() if t.startswith(prefix + "."))
        assert topics == [f"{prefix}.{k}" for k in ("rounds", "runs", "updates")], topics
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[tuple[str, bytes, bytes, list]] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read the topics to their end"
            for records in consumer.poll(timeout_ms=200).values():
                out += [(r.topic, r.key or b"", r.value or b"", list(r.headers or []))
                        for r in records]
        return out
    finally:
        consumer.close()


def tampered(event: Event, **payload_changes: Any) -> bytes:
    """Wire bytes of a copy of `event` with some payload fields replaced (same event_id)."""
    d = event.to_dict()
    d["payload"] = {**d["payload"], **payload_changes}
    return dumps(d)
