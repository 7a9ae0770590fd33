"""Kafka-flow statistics and the store's incremental folding, failure banner state and retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.flow import FlowStats, flow_diagram
from dashboard.run_state import build_runs
from dashboard.settings import MonitorSettings
from dashboard.source import ReceivedEvent
from dashboard.store import MonitorStore
from kafka_bridge.topics import topic_for
from tests.dashboard.recording import recorded_run


def received(events, read_delay_s: float = 0.5) -> list[ReceivedEvent]:
    now = datetime.now(UTC)
    return [ReceivedEvent(e, topic_for(e.type, "p"), len(e.to_bytes()), now, now,
                          now + timedelta(seconds=read_delay_s)) for e in events]


def test_flow_counts_messages_and_bytes_per_topic_and_round():
    events = recorded_run("run-k", num_clients=3, num_rounds=2)
    flow = FlowStats()
    flow.add(received(events), live_since=datetime.min.replace(tzinfo=UTC))
    per_topic = flow.per_topic().set_index("topic")
    assert per_topic.loc["p.runs", "messages"] == 2
    assert per_topic.loc["p.rounds", "messages"] == 4 and per_topic.loc["p.updates", "messages"] == 6
    assert per_topic["bytes"].sum() == sum(len(e.to_bytes()) for e in events)
    rounds = flow.per_round("run-k")
    assert set(rounds["round"]) == {0, 1, 2}
    summary = flow.latency_summary().set_index("topic")
    assert summary.loc["p.rounds", "p50_s"] == pytest.approx(0.5)


def test_backlog_is_counted_but_not_timed():
    flow = FlowStats()
    flow.add(received(recorded_run("old", num_rounds=1)), live_since=None)
    assert flow.latency_frame().empty and flow.backlog_events > 0


def test_only_events_published_after_the_previous_poll_are_timed():
    """Events already on the topic when the reader last polled (it fell behind) are backlog."""
    flow = FlowStats()
    last_poll = datetime.now(UTC)
    old = [ReceivedEvent(r.event, r.topic, r.size_bytes, last_poll - timedelta(seconds=30),
                         last_poll - timedelta(seconds=30), last_poll + timedelta(seconds=1))
           for r in received(recorded_run("late", num_rounds=1))]
    new = received(recorded_run("live", num_rounds=1), read_delay_s=0.2)
    flow.add(old + new, live_since=last_poll)
    assert flow.backlog_events == len(old) and flow.live_events == len(new)
    assert flow.latency_frame()["read_latency_s"].max() == pytest.approx(0.2)


def test_diagram_shows_every_hop_with_counts():
    events = recorded_run("run-d", num_clients=3, num_rounds=2, reject_node=1001)
    flow = FlowStats()
    flow.add(received(events), live_since=datetime.min.replace(tzinfo=UTC))
    flow.record_lag(datetime.now(UTC), {"p.runs": 0, "p.rounds": 1, "p.updates": 0})
    dot = flow_diagram(flow, build_runs(events), "p", "run-d", malformed=2)
    for text in ("clients -> aggregator", "5 updates", "1 rejected", "p.updates", "lag 1",
                 "2 malformed"):
        assert text in dot


class FakeReader:
    """Stands in for TrackingReader: scripted batches or failures (unit test only)."""

    def __init__(self, script: list) -> None:
        self.script, self.malformed_count, self.closed = script, 0, False

    def lag(self):
        return {"p.rounds": 0}

    def poll_received(self):
        step = self.script.pop(0) if self.script else []
        if isinstance(step, Exception):
            raise step
        return step

    def close(self):
        self.closed = True


def test_store_folds_incrementally_survives_failures_and_dedups_after_reconnect():
    events = recorded_run("run-s", num_rounds=2)
    first, rest = received(events[:5]), received(events[5:])
    script = [[*first], ConnectionError("broker gone"), [*first, *rest]]
    readers = []

    def factory(_settings):
        readers.append(FakeReader(script))
        return readers[-1]

    store = MonitorStore(MonitorSettings(), reader_factory=factory)
    assert store.refresh(0).connected and store.runs["run-s"].version == 5
    status = store.refresh(0)
    assert not status.connected and "broker gone" in status.error and status.retry_in_s > 0
    assert readers[0].closed and store.runs["run-s"].version == 5  # state kept for the banner
    store.status.next_retry_at = 0  # skip the backoff
    assert store.refresh(0).connected and store.status.error is None
    assert store.runs["run-s"].version == len(events) and store.status.events_read == len(events)
    assert store.flow.per_topic()["messages"].sum() == len(events)  # re-read events counted once


def test_store_times_only_events_published_after_its_previous_poll():
    """History read on the first poll, and a backlog the reader finds later, are never timed."""
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    history = [ReceivedEvent(r.event, r.topic, r.size_bytes, long_ago, long_ago, r.read_at)
               for r in received(recorded_run("old", num_rounds=1))]
    script: list = [history]
    store = MonitorStore(MonitorSettings(), reader_factory=lambda _s: FakeReader(script))
    store.refresh(0)
    assert store.flow.backlog_events == len(history) and store.flow.latency_frame().empty
    fresh = received(recorded_run("new", num_rounds=1), read_delay_s=0.3)  # published after poll 1
    script.append([*fresh, *[ReceivedEvent(r.event, r.topic, r.size_bytes, long_ago, long_ago,
                                           r.read_at) for r in received(recorded_run("late", num_rounds=1))]])
    store.refresh(0)
    assert store.flow.live_events == len(fresh)
    assert store.flow.backlog_events == len(history) + len(recorded_run("late", num_rounds=1))
    assert store.flow.latency_frame()["read_latency_s"].max() == pytest.approx(0.3)


def test_settings_come_from_the_environment_over_the_file(tmp_path):
    conf = tmp_path / "d.yaml"
    conf.write_text("bootstrap_servers: a:1\ntopic_prefix: x\nrefresh_seconds: 5\n")
    assert MonitorSettings.load(conf, env={}).bootstrap_servers == "a:1"
    env = {"FEDCHURN_KAFKA_BOOTSTRAP": "b:2", "FEDCHURN_KAFKA_TOPIC_PREFIX": "y"}
    loaded = MonitorSettings.load(conf, env=env)
    assert (loaded.bootstrap_servers, loaded.topic_prefix, loaded.refresh_seconds) == ("b:2", "y", 5)


def test_an_out_of_range_kafka_timestamp_is_ignored_not_raised():
    from dashboard.source import _kafka_time

    assert _kafka_time(2**62) is None  # any producer may set it; it must not stop the feed
    assert _kafka_time(1_700_000_000_000).year == 2023
