"""Long-lived readers plus accumulated run states, refreshed incrementally and thread-safely."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from dashboard.flow import FlowStats
from dashboard.run_state import RunState
from dashboard.settings import MonitorSettings
from dashboard.source import TrackingReader
from kafka_bridge.reader import paused_gc

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 15.0
RUN_LEVEL, CLIENT_LEVEL = ("runs", "rounds"), ("updates",)
# A client-update backlog above this many messages is folded in a background thread after the
# run-level topics: 100 runs x 50 rounds of 10 sites are 48k of 58k events (82%), and reading
# them first kept the first page blank for 10 s (scripts/bench_dashboard.py). Smaller backlogs
# (~0.3 s) are read in the same refresh, so every page is complete on its first run.
SYNC_BACKLOG = 5000
FOLD_CHUNK = 2000  # events folded per lock hold: pages rendering meanwhile wait ~20 ms at most


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
                 reader_factory: Callable[[MonitorSettings], TrackingReader] | None = None,
                 updates_factory: Callable[[MonitorSettings], TrackingReader] | None = None,
                 sync_backlog: int | None = None) -> None:
        """Without factories: one reader for the run-level topics and one for client updates
        (see SYNC_BACKLOG). A `reader_factory` alone reads every topic through one reader."""
        self.settings = settings
        self.lock = threading.RLock()
        self.runs: dict[str, RunState] = {}
        self.flow = FlowStats()
        self.status = FeedStatus(settings.bootstrap_servers, settings.topic_prefix)
        self.version = 0  # bumps whenever new events were folded in
        if reader_factory is None:
            reader_factory = partial(TrackingReader, kinds=RUN_LEVEL)
            updates_factory = updates_factory or partial(TrackingReader, kinds=CLIENT_LEVEL)
        self._reader_factory, self._updates_factory = reader_factory, updates_factory
        self._reader: TrackingReader | None = None
        self._updates: TrackingReader | None = None
        self._catch_up: threading.Thread | None = None  # owns `_updates` while alive
        self._sync_backlog = SYNC_BACKLOG if sync_backlog is None else sync_backlog
        self._updates_lag: dict[str, int] = {}
        self._updates_poll_at: datetime | None = None
        self._last_poll = 0.0
        self._previous_poll_at: datetime | None = None  # events published after it are live

    @property
    def updates_ready(self) -> bool:
        """False while a client-update backlog is still being read in the background (per-client
        tables and the audit are incomplete until then)."""
        return self._updates_factory is None or (self._updates is not None and self._catch_up is None)

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
            self.flow.record_lag(datetime.now(UTC), {**lag, **self._updates_lag})
        elif first:
            self.flow.record_lag(datetime.now(UTC), self._counts_by_topic(received))
        fresh = self._fold(received, live_since=None if first else self._previous_poll_at)
        self._previous_poll_at = poll_at
        if self._updates_factory is not None and self._catch_up is None:
            fresh += self._poll_updates()
        status = self.status
        status.connected, status.error, status.failures, status.next_retry_at = True, None, 0, 0.0
        status.last_ok_at = datetime.now(UTC)
        status.last_poll_s = time.monotonic() - started
        status.events_read += fresh
        status.refreshes += 1
        self._count_malformed()

    def _fold(self, received: list, live_since: datetime | None) -> int:
        """Apply events to their runs and count them in `flow`; the number that were new."""
        fresh = []  # a reconnected reader starts over: runs and flow count each event once
        with paused_gc():  # folding allocates as reading does (kafka_bridge.reader.paused_gc)
            for rec in received:
                run = self.runs.get(rec.event.run_id)
                if run is None:
                    run = self.runs[rec.event.run_id] = RunState(rec.event.run_id)
                if run.apply(rec.event):
                    fresh.append(rec)
            self.flow.add(fresh, live_since=live_since)
        if fresh:
            self.version += 1
        return len(fresh)

    def _count_malformed(self) -> None:
        self.status.malformed = sum(r.malformed_count for r in (self._reader, self._updates) if r)

    def _poll_updates(self) -> int:
        """Client updates (lock held): in this refresh when few, else start the catch-up thread."""
        first = self._updates is None
        if first:
            self._updates = self._updates_factory(self.settings)
            backlog = sum((self._updates.lag() or {}).values())
            if backlog > self._sync_backlog:
                self._catch_up = threading.Thread(target=self._read_backlog, daemon=True,
                                                  name="dashboard-updates-backlog")
                self._catch_up.start()
                return 0
        poll_at = datetime.now(UTC)
        received = self._updates.poll_received()
        self._updates_lag = self._updates.lag() or {}
        fresh = self._fold(received, live_since=None if first else self._updates_poll_at)
        self._updates_poll_at = poll_at
        return fresh

    def _read_backlog(self) -> None:
        """Catch-up thread: read the whole client-update backlog without the lock, then fold it
        in chunks so pages keep rendering; afterwards `refresh()` polls updates itself."""
        reader = self._updates
        try:
            poll_at = datetime.now(UTC)
            received = reader.poll_received()
            lag = reader.lag() or {}
            for i in range(0, len(received), FOLD_CHUNK):
                with self.lock:
                    self.status.events_read += self._fold(received[i:i + FOLD_CHUNK], None)
            with self.lock:
                self._updates_lag, self._updates_poll_at = lag, poll_at
                self._count_malformed()
                self._catch_up = None
        except Exception as exc:  # noqa: BLE001 - the next refresh starts a new catch-up
            log.warning("reading the client-update backlog failed: %s", exc)
            with self.lock:
                self._close_updates()
                self._catch_up = None

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
        """Drop the readers; the next refresh starts fresh ones (offsets start over, dedup keeps
        run states exact because `RunState.apply` ignores event ids it has seen)."""
        if self._reader is not None:
            _close_quietly(self._reader)
            self._reader = None
        if self._catch_up is None:  # a running catch-up owns its reader and ends by itself
            self._close_updates()

    def _close_updates(self) -> None:
        if self._updates is not None:
            _close_quietly(self._updates)
            self._updates = None

    def close(self, timeout_s: float = 30.0) -> None:
        """Release the Kafka connections (after a running catch-up has finished)."""
        thread = self._catch_up
        if thread is not None:
            thread.join(timeout_s)
        with self.lock:
            self._close_reader()
            self._close_updates()


def _close_quietly(reader: TrackingReader) -> None:
    try:
        reader.close()
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass
