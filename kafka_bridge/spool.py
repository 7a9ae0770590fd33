"""Durable local spool: fsync'd append-only JSONL of events plus a log of delivered event ids."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from kafka_bridge.events import Event, MalformedEventError, parse_event
from kafka_bridge.processes import FileLock

log = logging.getLogger(__name__)

EVENTS_FILE = "events.jsonl"  # one event per line, exactly the bytes sent to Kafka
DELIVERED_FILE = "delivered.ids"  # one event_id per line, appended when Kafka acked it
LOCK_FILE = "spool.lock"


class SpoolBusyError(RuntimeError):
    """Another process (a live run or a replay) holds this spool directory."""


@dataclass(frozen=True)
class SpooledEvent:
    """A spooled event not yet acknowledged by Kafka."""

    event_id: str
    run_id: str
    type: str
    data: bytes


def _read_lines(path: Path) -> list[bytes]:
    """Complete lines of a file; a torn last line (crash mid-append) is cut off the file."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1
    if end < len(raw):
        log.warning("%s: dropping a torn last line (%d bytes)", path, len(raw) - end)
        with open(path, "r+b") as fh:
            fh.truncate(end)
    return [line for line in raw[:end].split(b"\n") if line]


class Spool:
    """Events are appended before any send; pending = appended − delivered.

    Durability: `append` writes the line to the OS before returning, so a crash of the
    process loses nothing; the producer's fsync thread calls `sync()` right after each append
    burst (group commit), so an OS crash can only lose the last few milliseconds of events.
    `fsync_each=True` fsyncs inside `append` instead (the caller then pays one disk flush per
    event: 0.3 ms idle, 4-15 ms on this busy 2-core box).
    """

    def __init__(self, directory: str | Path, *, fsync_each: bool = False) -> None:
        self.directory = Path(directory).expanduser().resolve()
        self.fsync_each = fsync_each
        self._dirty = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = FileLock(self.directory / LOCK_FILE, blocking=False)
        if not self._lock_file.acquire():
            raise SpoolBusyError(f"spool {self.directory} is in use by another process")
        self._mutex = threading.Lock()
        self._delivered: set[str] = set()
        self._pending: dict[str, SpooledEvent] = {}
        self.corrupt_lines = 0
        try:
            self._load()
            self._events_fh = open(self.directory / EVENTS_FILE, "ab")
            self._acked_fh = open(self.directory / DELIVERED_FILE, "ab")
        except BaseException:
            self._lock_file.release()
            raise

    def _load(self) -> None:
        self._delivered = {ln.decode().strip() for ln in _read_lines(self.directory / DELIVERED_FILE)}
        for line in _read_lines(self.directory / EVENTS_FILE):
            try:
                event = parse_event(line)
            except MalformedEventError as exc:
                self.corrupt_lines += 1
                log.error("%s: skipping a corrupt spool line: %s", self.directory, exc)
                continue
            if event.event_id not in self._delivered:
                self._pending[event.event_id] = SpooledEvent(
                    event.event_id, event.run_id, event.type, line)

    def append(self, event: Event) -> None:
        """Record an event: in the OS on return (fsync'd too if `fsync_each`)."""
        data = event.to_bytes()
        with self._mutex:
            self._events_fh.write(data + b"\n")
            self._events_fh.flush()
            self._pending[event.event_id] = SpooledEvent(event.event_id, event.run_id,
                                                         event.type, data)
            self._dirty = True
            fd = self._events_fh.fileno()
        if self.fsync_each:
            os.fsync(fd)

    def sync(self) -> None:
        """fsync every line appended so far (the disk flush runs outside the append lock)."""
        with self._mutex:
            if not self._dirty:
                return
            self._dirty = False
            fd = self._events_fh.fileno()
        os.fsync(fd)

    def mark_delivered(self, event_ids: list[str]) -> None:
        """Record Kafka acks (called by one sender thread). Not fsync'd: a lost ack record
        only means a redelivery after an OS crash, and readers drop duplicates."""
        if not event_ids:
            return
        self._acked_fh.write("".join(f"{i}\n" for i in event_ids).encode())
        self._acked_fh.flush()
        with self._mutex:
            for event_id in event_ids:
                self._delivered.add(event_id)
                self._pending.pop(event_id, None)

    def pending(self, limit: int | None = None) -> list[SpooledEvent]:
        """Undelivered events in spool (emission) order."""
        with self._mutex:
            items = iter(self._pending.values())
            return [e for _, e in zip(range(limit), items, strict=False)] if limit else list(items)

    @property
    def pending_count(self) -> int:
        """Number of events not yet acknowledged by Kafka."""
        return len(self._pending)

    def compact(self) -> None:
        """Rewrite the spool keeping only pending events (atomic rename); drops delivered ids."""
        with self._mutex:
            tmp = self.directory / (EVENTS_FILE + ".tmp")
            with open(tmp, "wb") as fh:
                fh.write(b"".join(e.data + b"\n" for e in self._pending.values()))
                fh.flush()
                os.fsync(fh.fileno())
            self._events_fh.close()
            os.replace(tmp, self.directory / EVENTS_FILE)
            self._events_fh = open(self.directory / EVENTS_FILE, "ab")
            self._acked_fh.close()
            self._acked_fh = open(self.directory / DELIVERED_FILE, "wb")
            os.fsync(self._acked_fh.fileno())
            self._delivered.clear()

    def size_bytes(self) -> int:
        """Current size of the events file."""
        return (self.directory / EVENTS_FILE).stat().st_size

    def close(self) -> None:
        """fsync, close the files and release the directory lock (idempotent)."""
        if not self._events_fh.closed:
            self.sync()
        with self._mutex:
            for fh in (getattr(self, "_events_fh", None), getattr(self, "_acked_fh", None)):
                if fh is not None and not fh.closed:
                    fh.close()
        self._lock_file.release()
