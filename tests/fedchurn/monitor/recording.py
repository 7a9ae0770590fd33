"""Unit-test helper: the real KafkaObserver's events, captured in a list instead of Kafka."""

from __future__ import annotations

from typing import Any

from fedchurn.monitor.demo_feed import feed_run
from kafka_bridge.events import Event
from kafka_bridge.observer import KafkaObserver


class _ListProducer:
    def __init__(self, sink: list[Event]) -> None:
        self.sink = sink

    def publish(self, event: Event) -> None:
        self.sink.append(event)

    def close(self, timeout: float | None = None) -> dict[str, int]:
        return {"delivered": 0, "spooled": len(self.sink), "pending": 0}


class RecordingObserver(KafkaObserver):
    """Builds events exactly as the bridge does; `events` holds them in emission order."""

    def __init__(self) -> None:
        super().__init__({})
        self.events: list[Event] = []

    def _open_producer(self) -> Any:
        return _ListProducer(self.events)


def recorded_run(run_id: str = "run-a", **kwargs: Any) -> list[Event]:
    """Events of one synthetic run (see fedchurn.monitor.demo_feed.feed_run for options)."""
    observer = RecordingObserver()
    feed_run(observer, run_id, **kwargs)
    return observer.events
