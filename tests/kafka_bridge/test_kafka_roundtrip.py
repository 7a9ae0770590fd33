"""Producer → Kafka → reader on the real broker: topics, ordering, incremental reads, garbage."""

from __future__ import annotations

import time

import pytest

from kafka_bridge.config import TopicSettings
from kafka_bridge.reader import EventReader
from kafka_bridge.topics import ensure_topics, topic_names
from tests.kafka_bridge.helpers import raw_send, run_synthetic, spooled_events, unique_prefix

pytestmark = pytest.mark.kafka


def test_topics_are_created_once_with_their_settings(running_kafka):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    prefix = unique_prefix()
    kwargs = {"bootstrap_servers": running_kafka.bootstrap}
    settings = TopicSettings(partitions=2, retention_ms=123_456_789, max_message_bytes=3_000_000)
    assert sorted(ensure_topics(kwargs, prefix, settings)) == sorted(topic_names(prefix))
    assert ensure_topics(kwargs, prefix, settings) == []  # idempotent
    admin = KafkaAdminClient(bootstrap_servers=running_kafka.bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics(topic_names(prefix))}
        assert {len(t["partitions"]) for t in described.values()} == {2}
        res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{prefix}.updates")])
        text = repr(res)
        for value in ("123456789", "3000000", "delete"):
            assert value in text, text[:2000]
    finally:
        admin.close()


def test_producer_to_reader_round_trip(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, observer = run_synthetic(tmp_path / "spool", running_kafka.bootstrap, prefix,
                                     rounds=4, clients=5)
    sent = spooled_events(tmp_path / "spool")
    assert len(sent) == 31  # 1 + 4 rounds x (start + 5 updates + aggregated) + 3 rejections + 1
    assert observer.last_stats == {"delivered": 31, "spooled": 31, "pending": 0}
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        t0 = time.monotonic()
        got = reader.read_run(run_id)
        assert time.monotonic() - t0 < 5  # stops at the end offsets, no long poll timeout
        assert [e.to_bytes() for e in got] == [e.to_bytes() for e in sent]
        assert [e.seq for e in got] == list(range(31))
        assert list(reader.read_all()) == [run_id]
        assert reader.read_run("no-such-run") == []
        assert reader.malformed_count == 0


def test_poll_new_returns_only_what_is_new(running_kafka, tmp_path):
    prefix = unique_prefix()
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert reader.poll_new() == []  # topics do not exist yet
        run_a, _ = run_synthetic(tmp_path / "a", running_kafka.bootstrap, prefix, rounds=2)
        first = reader.poll_new()
        assert {e.run_id for e in first} == {run_a} and len(first) == 14
        assert reader.poll_new() == []
        run_b, _ = run_synthetic(tmp_path / "b", running_kafka.bootstrap, prefix, rounds=1)
        second = reader.poll_new()
        assert {e.run_id for e in second} == {run_b} and len(second) == 8
        assert [e.seq for e in second] == list(range(8))
    with EventReader(running_kafka.bootstrap, prefix, include_updates=False) as light:
        assert {e.type for e in light.poll_new()} == {
            "run_started", "round_started", "round_aggregated", "run_finished"}


def test_malformed_messages_are_skipped_and_counted(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=1)
    raw_send(running_kafka.bootstrap, f"{prefix}.rounds",
             [b"\x00garbage", b'{"schema_version": 1}', None])
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(run_id)
        assert len(events) == 8
        assert reader.malformed_count == 3
        reader.read_all()
        assert reader.malformed_count == 3  # the same three messages, not counted twice
        assert len(reader.poll_new()) == 8


def test_redelivered_copies_are_read_once(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=1)
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        first = reader.poll_new()
        again = [e for e in first if e.type in ("round_started", "run_finished")]
        raw_send(running_kafka.bootstrap, f"{prefix}.rounds", [again[0].to_bytes()],
                 key=run_id.encode())
        raw_send(running_kafka.bootstrap, f"{prefix}.runs", [again[1].to_bytes()],
                 key=run_id.encode())
        assert reader.poll_new() == []
        assert [e.seq for e in reader.read_run(run_id)] == list(range(8))
        assert len(reader.read_run(run_id, dedupe=False)) == 10


def test_poll_new_records_carry_topic_offset_size_and_lag_counts_unread(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "spool", running_kafka.bootstrap, prefix, rounds=2,
                              clients=3)
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert sum(reader.lag().values()) == len(spooled_events(tmp_path / "spool"))
        records = reader.poll_new_records()
        assert sum(reader.lag().values()) == 0
    assert [e.run_id for e, _ in records] == [run_id] * len(records)
    by_type = {}
    for event, facts in records:
        assert facts is not None and facts.size_bytes == len(event.to_bytes())
        assert facts.timestamp_ms is not None and facts.offset >= 0
        by_type.setdefault(event.type, set()).add(facts.topic)
    assert by_type["run_started"] == {f"{prefix}.runs"}
    assert by_type["round_aggregated"] == {f"{prefix}.rounds"}
    assert by_type["client_update"] == {f"{prefix}.updates"}
