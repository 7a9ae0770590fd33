"""Reads bridge events back from Kafka: whole runs, all runs, or incrementally (dashboard)."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka_bridge.config import BridgeConfig
from kafka_bridge.events import Event, MalformedEventError, parse_event
from kafka_bridge.topics import KINDS, topic_names

log = logging.getLogger(__name__)


_gc_lock = threading.Lock()
_gc_state = {"pausers": 0, "restore": False}  # threads inside paused_gc(); enable on the last exit


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (reference counting still frees).

    Decoding a topic allocates millions of young containers that all stay alive, so the
    collector's repeated passes over them were 30-40% of a 58k-event read (4.9 vs 8.0 s CPU,
    scripts/bench_dashboard.py's data). Nestable and thread-safe; the previous state returns."""
    with _gc_lock:
        if _gc_state["pausers"] == 0:
            _gc_state["restore"] = gc.isenabled()
            gc.disable()
        _gc_state["pausers"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pausers"] -= 1
            if _gc_state["pausers"] == 0 and _gc_state["restore"]:
                gc.enable()


def order_events(events: list[Event]) -> list[Event]:
    """Drop redelivered duplicates (same event_id), then sort by (run_id, seq)."""
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    return sorted(unique.values(), key=lambda e: (e.run_id, e.seq))


def _by_seq(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.run_id, e.seq))


@dataclass(frozen=True)
class RecordFacts:
    """Where and when Kafka held an event: for flow and latency displays."""

    topic: str
    partition: int
    offset: int
    size_bytes: int
    timestamp_ms: int | None  # the record's Kafka timestamp (producer send time), if any


class EventReader:
    """Manual-assignment consumer (no consumer group, nothing committed).

    * `read_all()` / `read_run(run_id)`: scan the topics from the beginning up to the end
      offsets taken at call time; events are deduplicated by event_id and sorted by seq.
    * `poll_new()`: only events that arrived since the previous `poll_new()` (the reader keeps
      its own offsets; the first call returns everything so far).
    * Malformed messages are skipped with a warning; `malformed_count` counts distinct ones.
    * `include_updates=False` skips the bulky `<prefix>.updates` topic; `kinds` names the
      topics to read outright (e.g. `("updates",)`).
    """

    def __init__(self, bootstrap_servers: str | list[str] | None = None,
                 topic_prefix: str | None = None, *, include_updates: bool = True,
                 config: BridgeConfig | dict[str, Any] | None = None,
                 timeout_s: float = 15.0, kinds: tuple[str, ...] | None = None) -> None:
        cfg = BridgeConfig.from_dict(config)
        self.bootstrap_servers = bootstrap_servers or cfg.bootstrap_servers
        self.topic_prefix = topic_prefix or cfg.topic_prefix
        if kinds is None:
            kinds = KINDS if include_updates else tuple(k for k in KINDS if k != "updates")
        self.topics = topic_names(self.topic_prefix, kinds)
        self.timeout_s = timeout_s
        self._config = cfg
        self._malformed: set[tuple[str, int, int]] = set()
        self._positions: dict[Any, int] = {}  # TopicPartition -> next offset for poll_new
        self._seen: set[str] = set()  # event ids already returned by poll_new
        self._consumer = None
        self._facts: dict[str, RecordFacts] = {}  # event id -> record facts of the last scan

    @property
    def malformed_count(self) -> int:
        """Distinct (topic, partition, offset) messages that were not valid events."""
        return len(self._malformed)

    def _get_consumer(self) -> Any:
        if self._consumer is None:
            from kafka import KafkaConsumer

            ms = int(self.timeout_s * 1000)
            kwargs = {**self._config.client_kwargs(KafkaConsumer),
                      "bootstrap_servers": self.bootstrap_servers}
            self._consumer = KafkaConsumer(**{
                "request_timeout_ms": min(ms, 10000), "bootstrap_timeout_ms": ms,
                "fetch_max_wait_ms": 100, "max_partition_fetch_bytes": 16 * 1024 * 1024,
                "client_id": "fedchurn-event-reader", **kwargs,
                # no consumer group: partitions are assigned and offsets tracked by hand
                "group_id": None, "enable_auto_commit": False,
                "allow_auto_create_topics": False, "auto_offset_reset": "earliest"})
        return self._consumer

    def _partitions(self) -> list[Any]:
        from kafka import TopicPartition

        consumer = self._get_consumer()
        return [TopicPartition(t, p) for t in self.topics
                for p in sorted(consumer.partitions_for_topic(t) or ())]

    def _scan(self, start: dict[Any, int] | None) -> tuple[list[Event], dict[Any, int]]:
        """Read from `start` offsets (None: the beginning) up to the end offsets of now."""
        consumer = self._get_consumer()
        tps = self._partitions()
        if not tps:
            return [], {}
        if set(consumer.assignment()) != set(tps):
            consumer.assign(tps)
            start = dict(start or {}) if start is not None else None
            for tp in tps:
                if start is not None and tp in start:
                    consumer.seek(tp, start[tp])
                else:
                    consumer.seek_to_beginning(tp)
        elif start is None:
            consumer.seek_to_beginning(*tps)
        else:  # keep the fetcher's read-ahead when we are already where we want to be
            for tp in tps:
                if tp not in start:
                    consumer.seek_to_beginning(tp)
                elif consumer.position(tp) != start[tp]:
                    consumer.seek(tp, start[tp])
        end = consumer.end_offsets(tps)
        events: list[Event] = []
        self._facts = {}
        deadline = time.monotonic() + self.timeout_s
        todo = {tp for tp in tps if consumer.position(tp) < end[tp]}
        with paused_gc():
            while todo:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {self.topics}: no progress for {self.timeout_s}s")
                for records in consumer.poll(timeout_ms=200).values():
                    deadline = time.monotonic() + self.timeout_s  # progress: big topics are fine
                    for rec in records:  # may run past `end`: newer events are fine to return
                        self._parse(rec, events)
                todo = {tp for tp in todo if consumer.position(tp) < end[tp]}
        return events, {tp: consumer.position(tp) for tp in tps}

    def _parse(self, rec: Any, out: list[Event]) -> None:
        try:
            if rec.value is None:
                raise MalformedEventError("empty message")
            event = parse_event(rec.value)
            out.append(event)
            stamp = getattr(rec, "timestamp", None)
            size = getattr(rec, "serialized_value_size", -1)
            self._facts[event.event_id] = RecordFacts(
                rec.topic, rec.partition, rec.offset, size if size >= 0 else len(rec.value),
                stamp if stamp not in (None, -1) else None)
        except MalformedEventError as exc:
            where = (rec.topic, rec.partition, rec.offset)
            if where not in self._malformed:
                self._malformed.add(where)
                log.warning("skipping malformed message at %s[%d]@%d: %s", *where, exc)

    def read_all(self, dedupe: bool = True) -> dict[str, list[Event]]:
        """Every run on the topics: {run_id: events ordered by seq, duplicates dropped}.

        `dedupe=False` keeps every copy (auditors check that copies are identical).
        """
        events, _ = self._scan(None)
        runs: dict[str, list[Event]] = {}
        for event in order_events(events) if dedupe else _by_seq(events):
            runs.setdefault(event.run_id, []).append(event)
        return runs

    def read_run(self, run_id: str, dedupe: bool = True) -> list[Event]:
        """All events of one run, ordered by seq, duplicates dropped ([] if unknown)."""
        events, _ = self._scan(None)
        mine = [e for e in events if e.run_id == run_id]
        return order_events(mine) if dedupe else _by_seq(mine)

    def poll_new(self) -> list[Event]:
        """Events not returned by earlier calls, sorted by (run_id, seq); returns when caught up."""
        events, positions = self._scan(self._positions)
        self._positions.update(positions)
        fresh = [e for e in order_events(events) if e.event_id not in self._seen]
        self._seen.update(e.event_id for e in fresh)
        return fresh

    def poll_new_records(self) -> list[tuple[Event, RecordFacts | None]]:
        """`poll_new()` with each event's record facts (topic, offset, size, Kafka timestamp)."""
        events = self.poll_new()
        facts = self._facts
        self._facts = {}
        return [(event, facts.get(event.event_id)) for event in events]

    def lag(self) -> dict[str, int]:
        """Messages on each topic that `poll_new` has not returned yet (end offset - position)."""
        consumer = self._get_consumer()
        tps = self._partitions()
        behind: dict[str, int] = {topic: 0 for topic in self.topics}
        if not tps:
            return behind
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        for tp in tps:
            behind[tp.topic] += max(0, end[tp] - max(self._positions.get(tp, 0), begin[tp]))
        return behind

    def close(self) -> None:
        """Close the underlying consumer (idempotent)."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
