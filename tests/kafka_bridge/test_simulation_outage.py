"""Real runs survive a broker outage mid-run and a broker absent for the whole run."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from typing import Any

import pytest

from churn.rounds import RoundRecord, RunInfo
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import cli, dead_bootstrap, spooled_events, unique_prefix
from tests.kafka_bridge.sim_helpers import (
    SMALL,
    assert_mirrors_run,
    assert_verify_passes,
    bridge_overrides,
    expected_events,
    simulate,
)

pytestmark = pytest.mark.kafka
CLIENTS = 3


class OutageScript:
    """A RoundObserver (after the bridge) that stages an outage of the session broker.

    After round `stop_after` training waits until a helper thread has seen the run's events
    so far on Kafka and stopped the broker; the later rounds run with the broker down; once
    the last round is mirrored, the helper starts the SAME broker again while the run's end
    (run_finished: bounded flush) is still delivering.
    """

    def __init__(self, broker: Any, prefix: str, stop_after: int, last_round: int) -> None:
        self.broker, self.prefix = broker, prefix
        self.stop_after, self.last_round = stop_after, last_round
        self.run_id: str | None = None
        self.reached_stop = threading.Event()
        self.broker_stopped = threading.Event()
        self.last_round_done = threading.Event()
        self.seen_before_stop = 0
        self.down_in_rounds: dict[int, bool] = {}  # round -> broker was down when it ended
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._control, name="outage-control", daemon=True)

    # RoundObserver
    def run_started(self, info: RunInfo) -> None:
        self.run_id = info.run_id
        self.thread.start()

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        pass

    def round_finished(self, record: RoundRecord) -> None:
        r = record.server_round
        if r > self.stop_after:
            self.down_in_rounds[r] = not self.broker.running
        if r == self.stop_after:
            self.reached_stop.set()
            self.broker_stopped.wait(120)  # the helper always sets it, even when it fails
        if r == self.last_round:
            self.last_round_done.set()

    def run_finished(self, summary: dict[str, Any]) -> None:
        pass

    def run_failed(self, error: str) -> None:
        self.last_round_done.set()

    # helper thread
    def _control(self) -> None:
        try:
            assert self.reached_stop.wait(120), "training never reached the outage round"
            wanted = 1 + self.stop_after * (CLIENTS + 2)
            deadline = time.monotonic() + 60
            with EventReader(self.broker.bootstrap, self.prefix) as reader:
                while self.seen_before_stop < wanted and time.monotonic() < deadline:
                    self.seen_before_stop = len(reader.read_run(self.run_id))
            self.broker.stop()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)
        finally:
            self.broker_stopped.set()
        try:
            assert self.last_round_done.wait(120), "training never finished its last round"
            self.broker.start()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)


def test_broker_stopped_mid_run_and_restarted(running_kafka, tmp_path, capsys):
    prefix, out, spool = unique_prefix(), tmp_path / "run", tmp_path / "spool"
    rounds, stop_after = 4, 2
    script = OutageScript(running_kafka, prefix, stop_after=stop_after, last_round=rounds)
    try:
        results, bridge, run_id = simulate(out, [*SMALL, f"num_rounds={rounds}", *bridge_overrides(
            running_kafka.bootstrap, prefix, spool, flush_timeout_s=150, connect_timeout_s=1.0)],
            extra_observers=[script])
    finally:  # other tests share this broker: never leave it stopped
        script.last_round_done.set()
        if script.thread.ident is not None:
            script.thread.join(150)
        restarted_survives_its_thread = running_kafka.running
        if not running_kafka.running:
            running_kafka.start()
    assert not script.errors, script.errors
    # the broker restarted from the (now finished) helper thread is still up: its death signal
    # is tied to a thread that lives as long as this process (kafka_bridge.processes)
    assert restarted_survives_its_thread
    n = expected_events(rounds, CLIENTS)
    # the outage really split the run: rounds 1-2 were on Kafka before, rounds 3-4 ran without it
    assert script.seen_before_stop == 1 + stop_after * (CLIENTS + 2)
    assert script.down_in_rounds == {3: True, 4: True}
    # the run completed normally, and the bridge did not slow training while the broker was down
    assert (out / "results.json").is_file() and len(results["rounds"]) == rounds + 1
    assert results["observer_failures"] == []
    assert bridge.seconds["round_started"] + bridge.seconds["round_finished"] < 1.0, bridge.seconds
    # delivered automatically after the restart, within the run's end flush (no replay)
    assert bridge.inner.last_stats["pending"] == 0 and bridge.inner.last_stats["spooled"] == n
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        copies = Counter(e.event_id for e in reader.read_run(run_id, dedupe=False))
        events = reader.read_run(run_id)
    assert_mirrors_run(events, results, clients=CLIENTS)  # gapless seq 0..n-1
    assert [e.event_id for e in events] == [e.event_id for e in spooled_events(spool)]
    assert len(copies) == n  # nothing foreign, nothing missing; redelivered copies are dropped
    assert audit_main(["verify", "--run", run_id, "--bootstrap", running_kafka.bootstrap,
                       "--topic-prefix", prefix]) == 0
    assert_verify_passes(capsys.readouterr().out, rounds=rounds)


def test_broker_absent_for_the_whole_run_then_replayed(running_kafka, tmp_path, capsys, caplog,
                                                       record_property):
    prefix, out, spool = unique_prefix(), tmp_path / "run", tmp_path / "spool"
    flush_s = 1.0
    caplog.set_level(logging.WARNING, logger="kafka_bridge")
    t0 = time.perf_counter()
    results, bridge, run_id = simulate(out, [*SMALL, "num_rounds=3", *bridge_overrides(
        dead_bootstrap(), prefix, spool, flush_timeout_s=flush_s, connect_timeout_s=1.0)])
    wall = time.perf_counter() - t0
    record_property("wall_s_broker_absent", round(wall, 2))
    record_property("bridge_seconds", {k: round(v, 4) for k, v in bridge.seconds.items()})
    print(f"broker absent: run wall {wall:.2f} s, federation {results['timing']['federation_s']:.2f}"
          f" s, time in the bridge {bridge.seconds}")
    n = expected_events(3, CLIENTS)
    assert (out / "results.json").is_file() and len(results["rounds"]) == 4
    # training was not stalled: mirroring a round costs milliseconds, the end waits at most the
    # configured flush timeout (plus the sender thread's shutdown), never the broker
    assert bridge.seconds["round_started"] + bridge.seconds["round_finished"] < 1.0, bridge.seconds
    assert bridge.seconds["run_finished"] < flush_s + 4.0, bridge.seconds
    # the end report: everything spooled, nothing delivered, and how to deliver it
    assert bridge.inner.last_stats == {"delivered": 0, "spooled": n, "pending": n}
    logged = caplog.text
    assert f"delivered=0 spooled={n} pending={n}" in logged, logged
    assert f"python -m kafka_bridge replay --spool {spool.resolve()}" in logged, logged
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        assert reader.read_run(run_id) == []  # nothing reached the real broker

    res = cli("kafka_bridge", "replay", "--spool", str(spool), "--bootstrap",
              running_kafka.bootstrap, "--topic-prefix", prefix)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {
        "delivered": n, "spooled": 0, "pending": 0}
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        raw = reader.read_run(run_id, dedupe=False)
    assert Counter(e.event_id for e in raw) == Counter(e.event_id for e in spooled_events(spool))
    assert set(Counter(e.event_id for e in raw).values()) == {1}  # exactly once, not just deduped
    assert_mirrors_run(raw, results, clients=CLIENTS)
    assert audit_main(["verify", "--run", run_id, "--bootstrap", running_kafka.bootstrap,
                       "--topic-prefix", prefix]) == 0
    assert_verify_passes(capsys.readouterr().out, rounds=3)
