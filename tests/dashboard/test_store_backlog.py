"""Run-level topics first, client updates behind them: the store against the real broker."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.audit_status import CHECKING, audit_labels
from dashboard.demo_feed import feed_run
from dashboard.settings import MonitorSettings
from dashboard.source import TrackingReader
from dashboard.store import CLIENT_LEVEL, MonitorStore
from dashboard.tables import runs_frame
from kafka_bridge.observer import KafkaObserver
from tests.dashboard.publish import send_raw, unique_prefix

pytestmark = pytest.mark.kafka
ROUNDS, CLIENTS = 4, 3


def publish(bootstrap: str, prefix: str, spool, run_ids: list[str]) -> None:
    """Synthetic runs through the real bridge: ROUNDS rounds of CLIENTS sites each."""
    for i, run_id in enumerate(run_ids):
        observer = KafkaObserver({"bootstrap_servers": bootstrap, "topic_prefix": prefix,
                                  "spool_dir": str(spool / run_id)})
        feed_run(observer, run_id, num_clients=CLIENTS, num_rounds=ROUNDS, seed=i)


class GatedReader(TrackingReader):
    """A client-update reader that reads nothing until `gate` is set (or fails once)."""

    def __init__(self, settings: MonitorSettings, gate: threading.Event,
                 fail: list[Exception]) -> None:
        super().__init__(settings, kinds=CLIENT_LEVEL)
        self.gate, self.fail = gate, fail

    def poll_received(self):
        assert self.gate.wait(60), "test gate never opened"
        if self.fail:
            raise self.fail.pop()
        return super().poll_received()


def wait_ready(store: MonitorStore, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not store.updates_ready:
        assert time.monotonic() < deadline, "client updates never caught up"
        store.refresh(0)
        time.sleep(0.05)


def replies(store: MonitorStore, run_id: str) -> list[int]:
    with store.lock:
        run = store.runs[run_id]
        return [len(run.rounds[n].replies) for n in sorted(run.rounds)]


@pytest.fixture
def broker_topics(kafka_broker, tmp_path):
    prefix, bootstrap = unique_prefix(), kafka_broker.bootstrap
    publish(bootstrap, prefix, tmp_path, ["run-a", "run-b"])
    return MonitorSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)


def test_runs_are_listed_before_client_updates_are_read_and_clients_fill_in(broker_topics, tmp_path):
    gate, fail = threading.Event(), []
    store = MonitorStore(broker_topics, sync_backlog=0,
                         updates_factory=lambda s: GatedReader(s, gate, fail))
    try:
        assert store.refresh(0).connected
        # every run with its round count, while not one client update has been read
        frame = runs_frame(store.runs)
        assert sorted(frame["run_id"]) == ["run-a", "run-b"]
        assert list(frame["rounds"]) == [f"{ROUNDS}/{ROUNDS}"] * 2 and set(frame["status"]) == {"finished"}
        assert not store.updates_ready
        assert replies(store, "run-a") == [0] * ROUNDS
        runs = [store.runs["run-a"], store.runs["run-b"]]
        assert audit_labels(runs, complete=store.updates_ready) == [CHECKING, CHECKING]
        gate.set()
        wait_ready(store)
        assert replies(store, "run-a") == [CLIENTS] * ROUNDS
        assert replies(store, "run-b") == [CLIENTS] * ROUNDS
        assert audit_labels(runs, complete=store.updates_ready) == ["PASS", "PASS"]
        # after the catch-up, new client updates arrive with the refresh itself
        publish(broker_topics.bootstrap_servers, broker_topics.topic_prefix, tmp_path, ["run-c"])
        store.refresh(0)
        assert store.updates_ready and replies(store, "run-c") == [CLIENTS] * ROUNDS
    finally:
        gate.set()
        store.close()


def test_a_failed_catch_up_is_retried_and_nothing_is_counted_twice(broker_topics):
    gate, fail = threading.Event(), [ConnectionError("broker went away mid-backlog")]
    gate.set()
    store = MonitorStore(broker_topics, sync_backlog=0,
                         updates_factory=lambda s: GatedReader(s, gate, fail))
    try:
        store.refresh(0)
        wait_ready(store)
        assert not fail  # the first catch-up did fail
        assert replies(store, "run-a") == [CLIENTS] * ROUNDS
        with store.lock:
            total = sum(len(r.events) for r in store.runs.values())
        assert store.status.events_read == total
    finally:
        store.close()


def test_a_restart_after_garbage_messages_reads_every_run(broker_topics):
    """Junk on each topic, then a dashboard restart (a new store) with the backlog read in the
    background: every run complete, the junk counted once per message, and again after a
    second restart."""
    for kind in ("runs", "rounds", "updates"):
        send_raw(broker_topics.bootstrap_servers, f"{broker_topics.topic_prefix}.{kind}",
                 b'{"schema_version": 2, "event_id": "junk')
    for _restart in range(2):
        store = MonitorStore(broker_topics, sync_backlog=0)
        try:
            assert store.refresh(0).connected
            wait_ready(store)
            assert sorted(store.runs) == ["run-a", "run-b"]
            assert replies(store, "run-b") == [CLIENTS] * ROUNDS
            assert store.status.malformed == 3
            assert store.runs["run-b"].status == "finished"
        finally:
            store.close()


def test_pages_show_runs_first_then_per_client_views_and_audits(monkeypatch, broker_topics):
    """Through Streamlit: the runs page lists both runs with audits "checking…" and a banner
    while the client updates are unread; once read, audits pass and per-client tables fill."""
    from streamlit.testing.v1 import AppTest

    import dashboard.store
    from dashboard.ui import get_store
    from tests.dashboard.publish import APP

    gate = threading.Event()

    def readers(settings, kinds=None):
        if kinds == CLIENT_LEVEL:
            return GatedReader(settings, gate, [])
        return TrackingReader(settings, kinds=kinds)

    monkeypatch.setattr(dashboard.store, "TrackingReader", readers)
    monkeypatch.setattr(dashboard.store, "SYNC_BACKLOG", 0)
    monkeypatch.setenv("FEDCHURN_KAFKA_BOOTSTRAP", broker_topics.bootstrap_servers)
    monkeypatch.setenv("FEDCHURN_KAFKA_TOPIC_PREFIX", broker_topics.topic_prefix)
    get_store.clear()
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        frame = at.dataframe[0].value.set_index("run_id")
        assert sorted(frame.index) == ["run-a", "run-b"]
        assert list(frame["rounds"]) == [f"{ROUNDS}/{ROUNDS}"] * 2
        assert list(frame["audit"]) == [CHECKING] * 2
        assert any("still being read" in i.value for i in at.info)
        gate.set()
        deadline = time.monotonic() + 60
        while CHECKING in list(at.dataframe[0].value["audit"]):
            assert time.monotonic() < deadline, "audits never filled in"
            time.sleep(0.3)
            at.run()
        assert list(at.dataframe[0].value["audit"]) == ["PASS", "PASS"]
        assert not any("still being read" in i.value for i in at.info)
        at.query_params["run"] = "run-a"
        at.switch_page("app_pages/run_detail.py").run()
        assert not at.exception, [e.value for e in at.exception]
        clients = [e.value for e in at.dataframe if {"outcome", "reason"} <= set(e.value.columns)]
        assert clients and len(clients[0]) == ROUNDS * CLIENTS
    finally:
        gate.set()
        get_store(MonitorSettings.load()).close()
        get_store.clear()
