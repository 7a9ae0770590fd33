"""The bridge's EventReader plus per-record transport facts: topic, bytes, Kafka time, lag."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboard.run_state import parse_ts
from dashboard.settings import MonitorSettings
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


def _kafka_time(timestamp_ms: int | None) -> datetime | None:
    """A record's Kafka timestamp as UTC, None when absent or out of range (any writer may set
    it: a year-30000 stamp must not stop the feed)."""
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_ms else None
    except (OverflowError, OSError, ValueError):
        return None


class TrackingReader(EventReader):
    """`EventReader` whose `poll_received()` also reports each record's transport metadata."""

    def __init__(self, settings: MonitorSettings, kinds: tuple[str, ...] | None = None) -> None:
        super().__init__(include_updates=True, config=settings.bridge_config(),
                         timeout_s=settings.catch_up_timeout_seconds, kinds=kinds)

    def poll_received(self) -> list[ReceivedEvent]:
        """`poll_new_records()` as ReceivedEvents; without facts, values derive from the event."""
        records = self.poll_new_records()
        read_at = datetime.now(UTC)
        received = []
        for event, facts in records:
            created = parse_ts(event.ts)
            if facts is None:
                topic, size, published = (topic_for(event.type, self.topic_prefix),
                                          len(event.to_bytes()), created)
            else:
                topic, size = facts.topic, facts.size_bytes
                published = _kafka_time(facts.timestamp_ms) or created
            received.append(ReceivedEvent(event, topic, size, created, published, read_at))
        return received

    def lag(self) -> dict[str, int] | None:
        """Messages on each topic this reader has not read yet; None if it cannot tell."""
        try:
            return super().lag()
        except Exception as exc:  # noqa: BLE001 - lag is informative only
            log.debug("lag unavailable: %s", exc)
            return None
