"""Streamed reads of a spool's line files: bounded memory whatever their size."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

ID_LINE_LIMIT = 64  # a delivered.ids line is 32 hex chars; anything longer is garbage
CHUNK = 1024 * 1024  # how much of an over-long line is read at a time while skipping it


def scan_lines(path: Path, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(offset, line without its newline) of each complete non-empty line, streamed in chunks:
    a line longer than `limit` comes as (offset, None) and is never held whole (at most `limit`
    + CHUNK of it); a torn last line (crash mid-append) is cut off the file."""
    if not path.exists():
        return
    torn_at = None
    with open(path, "rb") as fh:
        offset = 0
        while True:
            start, parts, size = offset, [], 0
            while True:
                chunk = fh.readline(min(CHUNK, limit + 2))
                offset += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
                size += len(chunk)
                if size <= limit + 1:
                    parts.append(chunk)
                else:
                    parts = None  # over-long: the rest of it is only skipped
            if not chunk:
                if offset > start:
                    torn_at = start
                break
            size += len(chunk)
            if size == 1:
                continue  # an empty line
            if parts is None or size > limit + 1:
                yield start, None
            else:
                yield start, b"".join(parts) + chunk[:-1]
    if torn_at is not None:
        log.warning("%s: dropping a torn last line (%d bytes)", path, offset - torn_at)
        os.truncate(path, torn_at)


def delivered_keys(path: Path) -> set[bytes]:
    """The acked event ids of a delivered.ids file as 16-byte keys (49 bytes each in a set,
    not 81 as hex str): the one per-event structure opening a spool holds besides pending."""
    keys = set()
    for _, line in scan_lines(path, ID_LINE_LIMIT):
        try:
            if line is not None:
                keys.add(bytes.fromhex(line.decode("ascii").strip()))
        except (UnicodeDecodeError, ValueError):
            continue  # not an id: it cannot match any event (their ids are validated hex)
    return keys
