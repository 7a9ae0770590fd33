"""The bridge's EventReader plus per-record transport facts: topic, bytes, Kafka time, lag."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fedchurn.monitor.run_state import parse_ts
from fedchurn.monitor.settings import MonitorSettings
from kafka_bridge.events import Event
from kafka_bridge.reader import EventReader
from kafka_bridge.topics import topic_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedEvent:
    """An event as the dashboard received it."""

    event: Event
    topic: str
    size_bytes: int
    created_at: datetime  # the event's own ts (when the observer built it)
    published_at: datetime  # Kafka record timestamp (producer send time), else created_at
    read_at: datetime  # when this dashboard's reader returned it

    @property
    def read_latency_s(self) -> float:
        """Kafka publish → dashboard read, in seconds."""
        return (self.read_at - self.published_at).total_seconds()


class TrackingReader(EventReader):
    """`EventReader` whose `poll_received()` also reports each record's transport metadata.

    The record facts come from the reader's per-record hook; if that hook ever stops being
    called, they fall back to values derived from the event (topic routing, re-encoded size).
    """

    def __init__(self, settings: MonitorSettings) -> None:
        connect_ms = int(settings.connect_timeout_seconds * 1000)
        super().__init__(settings.bootstrap_servers, settings.topic_prefix, include_updates=True,
                         config={"client_options": {"bootstrap_timeout_ms": connect_ms}},
                         timeout_s=settings.catch_up_timeout_seconds)
        self._record_facts: dict[str, tuple[str, int, int | None]] = {}

    def _parse(self, rec: Any, out: list[Event]) -> None:
        before = len(out)
        super()._parse(rec, out)
        if len(out) > before:
            timestamp = rec.timestamp if getattr(rec, "timestamp", -1) not in (None, -1) else None
            size = rec.serialized_value_size if rec.serialized_value_size >= 0 else len(rec.value)
            self._record_facts[out[-1].event_id] = (rec.topic, size, timestamp)

    def poll_received(self) -> list[ReceivedEvent]:
        """`poll_new()` with transport facts attached (see class doc)."""
        events = self.poll_new()
        read_at = datetime.now(UTC)
        received = []
        for event in events:
            created = parse_ts(event.ts)
            facts = self._record_facts.pop(event.event_id, None)
            if facts is None:
                topic, size, published = topic_for(event.type, self.topic_prefix), len(
                    event.to_bytes()), created
            else:
                topic, size, stamp = facts
                published = datetime.fromtimestamp(stamp / 1000, UTC) if stamp else created
            received.append(ReceivedEvent(event, topic, size, created, published, read_at))
        self._record_facts.clear()  # duplicates dropped by poll_new leave nothing behind
        return received

    def lag(self) -> dict[str, int] | None:
        """Messages on each topic this reader has not read yet; None if it cannot tell."""
        try:
            consumer = self._get_consumer()
            tps = self._partitions()
            if not tps:
                return {}
            end = consumer.end_offsets(tps)
            begin = consumer.beginning_offsets(tps)
            behind: dict[str, int] = {topic: 0 for topic in self.topics}
            for tp in tps:
                position = max(self._positions.get(tp, 0), begin[tp])
                behind[tp.topic] += max(0, end[tp] - position)
            return behind
        except Exception as exc:  # noqa: BLE001 - lag is informative only
            log.debug("lag unavailable: %s", exc)
            return None
