"""Broker down at start, broker restarted mid-stream, replay: every event arrives exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from kafka_bridge.events import make_event
from kafka_bridge.producer import EventProducer
from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import cli, dead_bootstrap, run_synthetic, unique_prefix

pytestmark = pytest.mark.kafka


def _events(run_id, start, n):
    return [make_event(run_id, i, "round_started", {"round": i, "sampled_nodes": [1, 2]})
            for i in range(start, start + n)]


def _publish_promptly(producer, events):
    worst = 0.0
    for event in events:
        t0 = time.perf_counter()
        producer.publish(event)
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.1, f"publish blocked for {worst * 1000:.0f} ms"


def _read_exactly_once(bootstrap, prefix, run_id, expected):
    with EventReader(bootstrap, prefix) as reader:
        copies = Counter(e.event_id for e in reader.read_run(run_id, dedupe=False))
        events = reader.read_run(run_id)
    assert [e.event_id for e in events] == [e.event_id for e in expected]
    assert [e.seq for e in events] == [e.seq for e in expected]
    return copies


@pytest.fixture(scope="module")
def outage(kafka_broker, tmp_path_factory):
    """One broker outage shared by two scenarios (a restart costs 5-20 s on 2 busy cores).

    `mid`: a producer delivers 25 events, the broker stops, 35 more are published.
    `cold`: a second producer is created while the broker is down and publishes 40 events.
    Then the SAME broker (data dir, port) is started again and both must deliver on their own.
    """
    if not kafka_broker.running:
        kafka_broker.start()
    prefix, tmp = unique_prefix(), tmp_path_factory.mktemp("outage")

    def producer(name):
        return EventProducer({"bootstrap_servers": kafka_broker.bootstrap, "topic_prefix": prefix,
                              "spool_dir": str(tmp / name), "connect_timeout_s": 1.0})

    mid, mid_sent = producer("mid"), _events("run-mid-stream", 0, 60)
    _publish_promptly(mid, mid_sent[:25])
    assert mid.flush(30), mid.stats()
    kafka_broker.stop()
    try:
        _publish_promptly(mid, mid_sent[25:])
        cold, cold_sent = producer("cold"), _events("run-down-at-start", 0, 40)
        _publish_promptly(cold, cold_sent)
        time.sleep(1.0)
        down = {"mid": mid.stats(), "cold": cold.stats()}
    finally:  # other test modules share this broker: never leave it stopped
        kafka_broker.start()
    flushed = {"mid": mid.flush(60), "cold": cold.flush(60)}
    closed = {"mid": mid.close(), "cold": cold.close()}
    return {"prefix": prefix, "bootstrap": kafka_broker.bootstrap, "down": down,
            "flushed": flushed, "closed": closed, "sent": {"mid": mid_sent, "cold": cold_sent}}


def test_broker_down_at_start_then_started(outage):
    assert outage["down"]["cold"] == {"delivered": 0, "spooled": 40, "pending": 40}
    assert outage["flushed"]["cold"]  # delivered by the sender thread, no replay needed
    assert outage["closed"]["cold"] == {"delivered": 40, "spooled": 40, "pending": 0}
    copies = _read_exactly_once(outage["bootstrap"], outage["prefix"], "run-down-at-start",
                                outage["sent"]["cold"])
    assert set(copies.values()) == {1}


def test_broker_stopped_mid_stream_and_restarted(outage):
    assert outage["down"]["mid"]["pending"] == 35
    assert outage["flushed"]["mid"]
    closed = outage["closed"]["mid"]
    assert closed["pending"] == 0 and closed["spooled"] == 60 and closed["delivered"] >= 60
    _read_exactly_once(outage["bootstrap"], outage["prefix"], "run-mid-stream",
                       outage["sent"]["mid"])


def test_replay_command_delivers_a_spool(running_kafka, tmp_path):
    prefix, spool = unique_prefix(), tmp_path / "spool"
    run_id, observer = run_synthetic(spool, dead_bootstrap(), prefix, rounds=2,
                                     flush_timeout_s=0.0, connect_timeout_s=0.2)
    assert observer.last_stats["pending"] == observer.last_stats["spooled"] == 14
    res = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
              running_kafka.bootstrap, "--topic-prefix", prefix)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {
        "delivered": 14, "spooled": 0, "pending": 0}
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert [e.seq for e in reader.read_run(run_id, dedupe=False)] == list(range(14))
    again = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
                running_kafka.bootstrap, "--topic-prefix", prefix)
    assert json.loads(again.stdout.strip().splitlines()[-1])["delivered"] == 0  # nothing twice
