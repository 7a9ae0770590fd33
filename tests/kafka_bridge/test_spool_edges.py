"""Spool edge cases against the real broker: dead letters, recorded prefix, size cap, late acks,
stale fallback spools, replay with a full bridge config."""

from __future__ import annotations

import json
import logging
import time

import pytest

from kafka_bridge.events import make_event
from kafka_bridge.observer import KafkaObserver
from kafka_bridge.producer import EventProducer
from kafka_bridge.reader import EventReader
from kafka_bridge.spool import DEAD_FILE, DELIVERED_FILE, EVENTS_FILE, META_FILE, Spool
from kafka_bridge.synthetic import every_event_kind, play, synthetic_run
from kafka_bridge.verify import verify_events
from tests.kafka_bridge.helpers import (
    cli,
    dead_bootstrap,
    observer_config,
    run_synthetic,
    unique_prefix,
)

pytestmark = pytest.mark.kafka


def _small_updates_topic(bootstrap: str, prefix: str, max_bytes: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(f"{prefix}.updates", 1, 1,
                                      topic_configs={"max.message.bytes": str(max_bytes)})])
    finally:
        admin.close()


def test_an_event_too_large_for_its_topic_is_dead_lettered_and_blocks_nothing(running_kafka,
                                                                               tmp_path):
    prefix, spool = unique_prefix(), tmp_path / "spool"
    # a client_update is ~880 bytes, a reply_rejected ~350 (plus ~70 of record batch)
    _small_updates_topic(running_kafka.bootstrap, prefix, 600)
    observer = KafkaObserver(observer_config(spool, running_kafka.bootstrap, prefix,
                                             flush_timeout_s=30.0))
    run = synthetic_run(num_rounds=2, num_clients=2, **every_event_kind(2))
    info = run.info
    started = time.monotonic()
    play(observer, run)
    took = time.monotonic() - started
    stats = observer.last_stats
    # the 3 client updates (round 2 rejects one client); the small events in the same batches,
    # aborted with the same error by the client, were resent alone and delivered
    assert stats["pending"] == 0 and stats["dead_lettered"] == 3, stats
    assert took < 20.0, took  # not the 30 s flush timeout
    dead = [json.loads(line) for line in (spool / DEAD_FILE).read_text().splitlines()]
    assert {d["type"] for d in dead} == {"client_update"} and len(dead) == 3
    assert all("MessageSizeTooLarge" in d["reason"] or "RecordTooLarge" in d["reason"]
               for d in dead), dead
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(info.run_id)
    assert len(events) == stats["delivered"] and events[-1].type == "run_finished"
    dead_seqs = sorted(json.loads(d["event"])["seq"] for d in dead)
    verdict = verify_events(events)
    assert any(f"seq gap: 3 missing ({', '.join(map(str, dead_seqs))})" in p
               for p in verdict.problems), verdict.problems
    t0 = time.monotonic()  # a later producer on the same spool has nothing left to wait for
    assert EventProducer(observer_config(spool, running_kafka.bootstrap, prefix)).close(
        timeout=30)["pending"] == 0
    assert time.monotonic() - t0 < 10


def test_the_spool_records_its_prefix_and_replay_uses_it(running_kafka, tmp_path):
    prefix, spool = unique_prefix(), tmp_path / "spool"
    run_id, _ = run_synthetic(spool, dead_bootstrap(), prefix, rounds=1, flush_timeout_s=0.0,
                              connect_timeout_s=0.2)
    assert json.loads((spool / META_FILE).read_text()) == {"topic_prefix": prefix}
    with open(spool / EVENTS_FILE, "ab") as fh:  # garbage in the spool must not stop a replay
        fh.write(b'{"schema_version": 2, "payload": {"$float": []}}\n' + b"[" * 5000 + b"\n")
    wrong = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
                running_kafka.bootstrap, "--topic-prefix", "elsewhere")
    assert wrong.returncode == 1 and f"recorded topic prefix '{prefix}'" in wrong.stderr
    done = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
               running_kafka.bootstrap)  # no --topic-prefix: the recorded one
    assert done.returncode == 0, done.stderr
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert len(reader.read_run(run_id)) == 8


def test_replay_takes_the_bridge_config_file_security_included(running_kafka, tmp_path,
                                                               monkeypatch):
    prefix, spool = unique_prefix(), tmp_path / "spool"
    run_id, _ = run_synthetic(spool, dead_bootstrap(), prefix, rounds=1, flush_timeout_s=0.0,
                              connect_timeout_s=0.2)
    conf = tmp_path / "bridge.yaml"
    base = (f"name: kafka\nbootstrap_servers: {running_kafka.bootstrap}\n"
            f"topic_prefix: {prefix}\nconnect_timeout_s: 1.0\n")
    conf.write_text(base + "security_protocol: SSL\n")  # the broker speaks PLAINTEXT only
    refused = cli("kafka_bridge", "replay", "--spool", str(spool), "--config", str(conf),
                  "--timeout", "4")
    assert refused.returncode == 1  # the security setting was used: nothing got through
    assert json.loads(refused.stdout.strip().splitlines()[-1])["pending"] == 8
    conf.write_text(base + "security_protocol: PLAINTEXT\n"
                    "sasl_plain_password: ${oc.env:FEDCHURN_TEST_UNSET,null}\n")
    done = cli("kafka_bridge", "replay", "--spool", str(spool), "--config", str(conf))
    assert done.returncode == 0, done.stderr
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert len(reader.read_run(run_id)) == 8


def test_a_full_spool_drops_new_events_with_a_warning(running_kafka, tmp_path, caplog):
    prefix, spool = unique_prefix(), tmp_path / "spool"
    with caplog.at_level(logging.WARNING, logger="kafka_bridge.spool"):
        run_id, observer = run_synthetic(spool, dead_bootstrap(), prefix, rounds=3,
                                         flush_timeout_s=0.0, connect_timeout_s=0.2,
                                         spool_max_bytes=6000)
    assert "is full" in caplog.text and "spool_max_bytes" in caplog.text
    stats = observer.last_stats
    assert stats["dropped"] > 0 and stats["spooled"] + stats["dropped"] == 21, stats  # 21 events in all
    done = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
               running_kafka.bootstrap)
    assert json.loads(done.stdout.strip().splitlines()[-1])["delivered"] == stats["spooled"]
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(run_id)
    assert len(events) == stats["spooled"] and events[0].type == "run_started"
    assert not verify_events(events).ok  # the dropped tail is visible to the audit


def test_no_ack_is_written_after_close(tmp_path):
    spool = Spool(tmp_path / "s")
    event = make_event("r", 0, "run_failed", {"error": "x", "event_count": 1})
    spool.append(event)
    spool.close()
    spool.mark_delivered([event.event_id])  # a sender thread that outlived close()
    assert (tmp_path / "s" / DELIVERED_FILE).read_bytes() == b""
    assert Spool(tmp_path / "s").pending_count == 1


def test_stale_fallback_spools_are_reported_then_replayed_and_removed(running_kafka, tmp_path,
                                                                     caplog):
    prefix, spool = unique_prefix(), tmp_path / "spool"
    holder = Spool(spool)  # a live run holds the main spool: the next run falls back to proc-*
    try:
        run_id, _ = run_synthetic(spool, dead_bootstrap(), prefix, rounds=1,
                                  flush_timeout_s=0.0, connect_timeout_s=0.2)
    finally:
        holder.close()
    fallback = list(spool.glob("proc-*"))
    assert len(fallback) == 1
    with caplog.at_level(logging.WARNING, logger="kafka_bridge.spool"):
        run_synthetic(spool, dead_bootstrap(), prefix, rounds=1, flush_timeout_s=0.0,
                      connect_timeout_s=0.2)
    assert "1 stale fallback spool(s)" in caplog.text and "hold 8 undelivered" in caplog.text
    done = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
               running_kafka.bootstrap)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["delivered"] == 16
    assert not fallback[0].exists() and "delivered and removed" in done.stderr
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert len(reader.read_run(run_id)) == 8
