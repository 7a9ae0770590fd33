"""Real broker: crafted messages on the bridge topics are skipped by the reader, the audit of other
runs and the dashboard's store; none of them stops reading (they all did before schema v2)."""

from __future__ import annotations

import json

import pytest

from dashboard.settings import MonitorSettings
from dashboard.store import MonitorStore
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import raw_send, run_synthetic, spooled_events, unique_prefix

pytestmark = pytest.mark.kafka


def _crafted(template: dict) -> list[bytes]:
    """A valid envelope whose payload holds `{"$float": []}`, deep nesting, junk bytes."""
    float_list = {**template, "payload": {**template["payload"], "x": {"$float": []}}}
    deep = {**template, "payload": {**template["payload"], "x": json.loads("[" * 50 + "]" * 50)}}
    return [json.dumps(float_list).encode(), json.dumps(deep).encode(),
            b"[" * 200_000 + b"]" * 200_000, b"\xff\xfe junk", b'{"type": []}']


def test_crafted_messages_stop_neither_reader_nor_audit_nor_dashboard(running_kafka, tmp_path, capsys):
    prefix, bootstrap = unique_prefix(), running_kafka.bootstrap
    run_a, _ = run_synthetic(tmp_path / "a", bootstrap, prefix, rounds=1)
    template = spooled_events(tmp_path / "a")[1].to_dict()
    crafted = _crafted(template)
    for kind in ("runs", "rounds", "updates"):
        raw_send(bootstrap, f"{prefix}.{kind}", crafted, key=run_a.encode())
    run_b, _ = run_synthetic(tmp_path / "b", bootstrap, prefix, rounds=1)
    with EventReader(bootstrap, prefix) as reader:
        runs = reader.read_all()
        assert set(runs) == {run_a, run_b} and len(runs[run_b]) == 8
        assert reader.malformed_count == 3 * len(crafted)
    for run in (run_a, run_b):
        assert audit_main(["verify", "--run", run, "--bootstrap", bootstrap,
                           "--topic-prefix", prefix]) == 0, capsys.readouterr().out
    assert f"skipped {3 * len(crafted)} malformed" in capsys.readouterr().err
    store = MonitorStore(MonitorSettings(bootstrap_servers=bootstrap, topic_prefix=prefix))
    try:
        status = store.refresh(min_interval_s=0)
        assert status.connected and status.error is None, status.error
        assert set(store.runs) == {run_a, run_b} and status.malformed == 3 * len(crafted)
        assert store.runs[run_b].status == "finished"
    finally:
        store.close()
