"""Unit-test helper: the real KafkaObserver's events, captured in a list instead of Kafka."""

from __future__ import annotations

from typing import Any

from dashboard.demo_feed import feed_run
from kafka_bridge.events import Event
from kafka_bridge.observer import CollectingProducer, KafkaObserver


class RecordingObserver(KafkaObserver):
    """Builds events exactly as the bridge does; `events` holds them in emission order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        super().__init__({}, producer_factory=lambda: CollectingProducer(self.events))


def recorded_run(run_id: str = "run-a", **kwargs: Any) -> list[Event]:
    """Events of one synthetic run (see dashboard.demo_feed.feed_run for options)."""
    observer = RecordingObserver()
    feed_run(observer, run_id, **kwargs)
    return observer.events
