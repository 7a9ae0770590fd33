"""Opening a large spool streams it: memory holds the acked ids and the pending index, never the
file; replay still delivers exactly the unacked events, in spool order, to the real broker."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from kafka_bridge.events import make_event
from kafka_bridge.reader import EventReader
from kafka_bridge.spool import DELIVERED_FILE, EVENTS_FILE, META_FILE, Spool
from tests.kafka_bridge.helpers import cli, unique_prefix

N_EVENTS = 12_000
PAD = 2_000  # bytes of payload per event: a ~2.3 KB line, a 28 MB spool
EVERY = 40  # every 40th event is unacked: 300 pending


def _big_spool(directory: Path, prefix: str) -> list[str]:
    """A spool of N_EVENTS events, all but every EVERY-th acked; returns the unacked ids."""
    directory.mkdir()
    run_id = f"big-{prefix}"
    unacked = []
    with open(directory / EVENTS_FILE, "wb") as events, \
            open(directory / DELIVERED_FILE, "wb") as acked:
        for seq in range(N_EVENTS):
            event = make_event(run_id, seq, "run_failed", {"error": f"{seq:06d}" + "x" * PAD,
                                                           "event_count": seq + 1})
            events.write(event.to_bytes() + b"\n")
            if seq % EVERY == 0:
                unacked.append(event.event_id)
            else:
                acked.write(event.event_id.encode() + b"\n")
    (directory / META_FILE).write_text(json.dumps({"topic_prefix": prefix}) + "\n")
    return unacked


@pytest.fixture(scope="module")
def big_spool(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    prefix = unique_prefix()
    directory = tmp_path_factory.mktemp("big") / "spool"
    return directory, prefix, _big_spool(directory, prefix)


def _open_traced(directory: Path) -> tuple[Spool, int]:
    """The spool opened under tracemalloc, and the peak bytes Python allocated while opening it."""
    tracemalloc.start()
    try:
        spool = Spool(directory)
        return spool, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_opening_a_large_spool_holds_no_event_bodies(big_spool):
    directory, _, unacked = big_spool
    size = (directory / EVENTS_FILE).stat().st_size
    assert size > 25 * 1024 * 1024, size
    spool, peak = _open_traced(directory)
    try:
        assert spool.pending_ids() == unacked
        assert spool.pending(2)[1].data.startswith(b"{") and spool.get(unacked[-1]) is not None
        assert spool.pending_bytes == sum(len(e.data) for e in spool.pending())
    finally:
        spool.close()
    # measured: 1.4 MB here (the acked-id keys and the index); reading the file whole took
    # 2x its size (file bytes + the split lines)
    assert peak < size / 10, (peak, size)


@pytest.mark.kafka
def test_replay_of_a_large_spool_delivers_exactly_the_unacked_in_order(big_spool, running_kafka):
    directory, prefix, unacked = big_spool
    done = cli("kafka_bridge", "replay", "--spool", str(directory), "--bootstrap",
               running_kafka.bootstrap, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["delivered"] == len(unacked)
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        records = reader.poll_new_records()
    assert {f.partition for _, f in records if f} and len({f.partition for _, f in records}) == 1
    delivered = [e.event_id for e, f in sorted(records, key=lambda r: r[1].offset)]
    assert delivered == unacked
    again = Spool(directory)  # everything acked now: nothing left to replay
    try:
        assert again.pending_count == 0
    finally:
        again.close()


def test_an_over_long_line_is_skipped_and_an_over_long_torn_tail_cut(tmp_path):
    from kafka_bridge.events import MAX_EVENT_BYTES

    first, last = (make_event("r", i, "run_failed", {"error": "e", "event_count": 1})
                   for i in range(2))
    huge = b'{"x": "' + b"y" * (MAX_EVENT_BYTES + 10) + b'"}'
    body = first.to_bytes() + b"\n" + huge + b"\n" + last.to_bytes() + b"\n"
    (tmp_path / EVENTS_FILE).write_bytes(body + huge)  # the tail: a torn over-long line
    spool, peak = _open_traced(tmp_path)
    try:
        assert spool.pending_ids() == [first.event_id, last.event_id]
        assert spool.corrupt_lines == 1 and spool.pending(2)[1].data == last.to_bytes()
    finally:
        spool.close()
    assert (tmp_path / EVENTS_FILE).read_bytes() == body
    # the long lines were read a chunk at a time: measured 17.8 MB for a 33.6 MB file (the
    # one line kept up to the parser's limit; reading them whole took 34 MB)
    assert peak < 1.2 * MAX_EVENT_BYTES, peak
