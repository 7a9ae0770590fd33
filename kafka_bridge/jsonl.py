"""Export/import a run's events as JSONL (one wire-format event per line) for offline audits."""

from __future__ import annotations

from pathlib import Path

from kafka_bridge.events import Event, MalformedEventError, parse_event


def write_jsonl(events: list[Event], path: str | Path) -> int:
    """Write events (in the given order) to `path`; returns how many."""
    with open(path, "wb") as fh:
        for event in events:
            fh.write(event.to_bytes() + b"\n")
    return len(events)


def read_jsonl(path: str | Path) -> list[Event]:
    """Parse every non-blank line; a malformed line raises with its line number."""
    events = []
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                events.append(parse_event(line.rstrip(b"\r\n")))  # the message's own bytes
            except MalformedEventError as exc:
                raise MalformedEventError(f"{path}:{lineno}: {exc}") from exc
    return events
