"""Spool durability and a publisher that never stalls when no broker is reachable."""

from __future__ import annotations

import time

import pytest

from kafka_bridge.events import make_event
from kafka_bridge.producer import EventProducer
from kafka_bridge.spool import DELIVERED_FILE, EVENTS_FILE, Spool, SpoolBusyError
from tests.kafka_bridge.helpers import dead_bootstrap


def _events(n, run="run-s"):
    return [make_event(run, i, "round_started", {"round": i, "sampled_nodes": [1]})
            for i in range(n)]


def test_pending_survives_reopen_in_order(tmp_path):
    evs = _events(5)
    spool = Spool(tmp_path)
    for e in evs:
        spool.append(e)
    spool.mark_delivered([evs[1].event_id, evs[3].event_id])
    spool.close()
    again = Spool(tmp_path)
    assert [p.event_id for p in again.pending()] == [evs[i].event_id for i in (0, 2, 4)]
    assert again.pending()[0].data == evs[0].to_bytes()
    again.close()


def test_torn_last_line_is_dropped_not_fatal(tmp_path):
    evs = _events(3)
    spool = Spool(tmp_path)
    for e in evs:
        spool.append(e)
    spool.close()
    with open(tmp_path / EVENTS_FILE, "ab") as fh:
        fh.write(b'{"schema_version":1,"event_')  # crash mid-append
    with open(tmp_path / DELIVERED_FILE, "ab") as fh:
        fh.write(evs[0].event_id[:10].encode())
    again = Spool(tmp_path)
    assert again.pending_count == 3
    assert (tmp_path / EVENTS_FILE).read_bytes().endswith(b"\n")
    again.close()


def test_a_spool_has_one_owner(tmp_path):
    spool = Spool(tmp_path)
    with pytest.raises(SpoolBusyError):
        Spool(tmp_path)
    spool.close()
    Spool(tmp_path).close()


def test_compact_keeps_only_pending(tmp_path):
    evs = _events(4)
    spool = Spool(tmp_path)
    for e in evs:
        spool.append(e)
    spool.mark_delivered([e.event_id for e in evs[:3]])
    spool.compact()
    spool.close()
    again = Spool(tmp_path)
    assert [p.event_id for p in again.pending()] == [evs[3].event_id]
    assert (tmp_path / EVENTS_FILE).read_bytes().count(b"\n") == 1
    again.close()


def test_publish_never_waits_for_an_unreachable_broker(tmp_path):
    producer = EventProducer({"bootstrap_servers": dead_bootstrap(), "spool_dir": str(tmp_path),
                              "connect_timeout_s": 1.0})
    costs = []
    for e in _events(200):
        t0 = time.perf_counter()
        producer.publish(e)
        costs.append(time.perf_counter() - t0)
    costs.sort()
    assert costs[len(costs) // 2] < 0.005, costs[-5:]  # ~0.2 ms here, even on a busy box
    assert costs[int(len(costs) * 0.99)] < 0.05, costs[-5:]
    t0 = time.perf_counter()
    stats = producer.close(timeout=0.5)
    assert time.perf_counter() - t0 < 0.5 + 3 * 1.0 + 2  # flush + bounded thread join
    assert stats == {"delivered": 0, "spooled": 200, "pending": 200}
    assert Spool(tmp_path).pending_count == 200
