"""One long-lived reader plus accumulated run states, refreshed incrementally and thread-safely."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboard.flow import FlowStats
from dashboard.run_state import RunState
from dashboard.settings import MonitorSettings
from dashboard.source import TrackingReader

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 15.0


@dataclass
class FeedStatus:
    """What the banner says about the event feed."""

    bootstrap: str
    topic_prefix: str
    connected: bool = False
    error: str | None = None
    failures: int = 0
    next_retry_at: float = 0.0  # time.monotonic() of the next attempt after a failure
    last_ok_at: datetime | None = None
    last_poll_s: float | None = None
    events_read: int = 0
    malformed: int = 0
    refreshes: int = 0

    @property
    def retry_in_s(self) -> float:
        """Seconds until the next connection attempt (0 when connected)."""
        return max(0.0, self.next_retry_at - time.monotonic())


class MonitorStore:
    """Everything the pages show, kept across reruns and sessions (one per broker + prefix).

    `refresh()` asks the reader only for events new since the previous call and folds them
    into `runs`; failures are recorded in `status` and retried with backoff, never raised.
    Hold `lock` while reading `runs`/`flow` so a concurrent refresh cannot change them.
    """

    def __init__(self, settings: MonitorSettings,
                 reader_factory: Callable[[MonitorSettings], TrackingReader] = TrackingReader) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.runs: dict[str, RunState] = {}
        self.flow = FlowStats()
        self.status = FeedStatus(settings.bootstrap_servers, settings.topic_prefix)
        self.version = 0  # bumps whenever new events were folded in
        self._reader_factory = reader_factory
        self._reader: TrackingReader | None = None
        self._last_poll = 0.0
        self._previous_poll_at: datetime | None = None  # events published after it are live

    def refresh(self, min_interval_s: float = 0.5) -> FeedStatus:
        """Fold in new events unless polled less than `min_interval_s` ago or backing off."""
        with self.lock:
            now = time.monotonic()
            if now - self._last_poll < min_interval_s or now < self.status.next_retry_at:
                return self.status
            self._last_poll = now
            try:
                self._poll_once()
            except Exception as exc:  # noqa: BLE001 - shown as a banner, retried with backoff
                self._on_failure(exc)
            return self.status

    def _poll_once(self) -> None:
        started = time.monotonic()
        first = self._reader is None
        if first:
            self._reader = self._reader_factory(self.settings)
        reader = self._reader
        lag = None if first else reader.lag()
        poll_at = datetime.now(UTC)
        received = reader.poll_received()
        if lag is not None:
            self.flow.record_lag(datetime.now(UTC), lag)
        elif first:
            self.flow.record_lag(datetime.now(UTC), self._counts_by_topic(received))
        fresh = []  # a reconnected reader starts over: runs and flow count each event once
        for rec in received:
            run = self.runs.get(rec.event.run_id)
            if run is None:
                run = self.runs[rec.event.run_id] = RunState(rec.event.run_id)
            if run.apply(rec.event):
                fresh.append(rec)
        self.flow.add(fresh, live_since=None if first else self._previous_poll_at)
        self._previous_poll_at = poll_at
        if fresh:
            self.version += 1
        status = self.status
        status.connected, status.error, status.failures, status.next_retry_at = True, None, 0, 0.0
        status.last_ok_at = datetime.now(UTC)
        status.last_poll_s = time.monotonic() - started
        status.events_read += len(fresh)
        status.malformed = reader.malformed_count
        status.refreshes += 1

    @staticmethod
    def _counts_by_topic(received: list) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rec in received:
            counts[rec.topic] = counts.get(rec.topic, 0) + 1
        return counts

    def _on_failure(self, exc: BaseException) -> None:
        status = self.status
        status.connected = False
        status.failures += 1
        status.error = f"{type(exc).__name__}: {exc}".strip()
        backoff = min(MAX_BACKOFF_S, 1.0 * 2 ** (status.failures - 1))
        status.next_retry_at = time.monotonic() + backoff
        log.warning("event feed failed (%s); retrying in %.0fs", status.error, backoff)
        self._close_reader()

    def _close_reader(self) -> None:
        """Drop the reader; the next refresh starts a fresh one (offsets start over, dedup keeps
        run states exact because `RunState.apply` ignores event ids it has seen)."""
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception:  # noqa: BLE001
                pass
            self._reader = None

    def close(self) -> None:
        """Release the Kafka connection."""
        with self.lock:
            self._close_reader()
