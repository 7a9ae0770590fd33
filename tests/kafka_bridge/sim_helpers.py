"""Helpers for bridge tests on REAL federated runs (run_job, in-process engine, bridge=kafka)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from churn.rounds import RoundObserver, RoundRecord, RunInfo
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from kafka_bridge.events import Event
from kafka_bridge.mirror_setup import build_observers
from kafka_bridge.observer import KafkaObserver

SMALL = ("engine=inprocess", "data.num_rows=1500", "num_clients=3")
ROW = re.compile(r"^(\d+)\s{2,}(.*)$")  # a round row of the audit's verdict table


def expected_events(rounds: int, clients: int) -> int:
    """Events of a run without rejections: start, per round (start, updates, aggregate), end."""
    return 1 + rounds * (clients + 2) + 1


def bridge_overrides(bootstrap: str, prefix: str, spool: Path, **extra: Any) -> list[str]:
    """Hydra overrides that turn the Kafka bridge on (as `python -m fedchurn.simulate` takes)."""
    return ["bridge=kafka", f"bridge.bootstrap_servers={bootstrap}",
            f"bridge.topic_prefix={prefix}", f"bridge.spool_dir={spool}",
            *(f"++bridge.{key}={value}" for key, value in extra.items())]


class TimedObserver:
    """Wraps a RoundObserver and adds up the seconds spent in each of its callbacks."""

    def __init__(self, inner: RoundObserver) -> None:
        self.inner = inner
        self.seconds: dict[str, float] = {}

    def _timed(self, name: str, *args: Any) -> None:
        t0 = time.perf_counter()
        try:
            getattr(self.inner, name)(*args)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def run_started(self, info: RunInfo) -> None:
        self._timed("run_started", info)

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        self._timed("round_started", server_round, sampled_nodes)

    def round_finished(self, record: RoundRecord) -> None:
        self._timed("round_finished", record)

    def run_finished(self, summary: dict[str, Any]) -> None:
        self._timed("run_finished", summary)

    def run_failed(self, error: str) -> None:
        self._timed("run_failed", error)


def simulate(out: Path, overrides: Sequence[str],
             extra_observers: Sequence[RoundObserver] = ()) -> tuple[dict, TimedObserver, str]:
    """One real federated run with the bridge its overrides configure.

    The bridge observer is built by `kafka_bridge.mirror_setup.build_observers` (as the CLI does) and
    wrapped in a TimedObserver that runs first. Returns (results, timed bridge, run_id).
    """
    run_id = f"sim-{uuid.uuid4().hex[:12]}"
    cfg = compose_config(list(overrides), output_dir=out)
    bridges = build_observers(cfg.get("bridge"))
    assert len(bridges) == 1 and isinstance(bridges[0], KafkaObserver), bridges
    timed = TimedObserver(bridges[0])
    results = run_job(cfg, run_id=run_id, output_dir=out, overrides=list(overrides),
                      observers=[timed, *extra_observers])
    return results, timed, run_id


def assert_mirrors_run(events: list[Event], results: dict, clients: int) -> None:
    """The events are this run's, complete and in order: types per round, gapless seq, and
    the server metrics of every round_aggregated equal (bit for bit) those in results.json."""
    rounds = len(results["rounds"]) - 1
    assert [e.seq for e in events] == list(range(expected_events(rounds, clients)))
    assert {e.run_id for e in events} == {results["run_id"]}
    per_round = ["round_started", *["client_update"] * clients, "round_aggregated"]
    assert [e.type for e in events] == ["run_started", *per_round * rounds, "run_finished"]
    aggregated = [e for e in events if e.type == "round_aggregated"]
    for event, row in zip(aggregated, results["rounds"][1:], strict=True):
        assert event.round == row["round"]
        assert event.payload["server_metrics"]["auc"] == row["auc"]
        assert event.payload["server_metrics"]["log_loss"] == row["log_loss"]
        assert len(event.payload["participants"]) == row["participants"] == clients


def verdict_rows(out: str) -> dict[int, str]:
    """{round: table row} from `fedchurn audit verify` output."""
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            rows[int(m.group(1))] = m.group(2)
    return rows


def assert_verify_passes(out: str, rounds: int) -> None:
    """Every round PASSes with the weighted average recomputed, and the verdict is PASS."""
    rows = verdict_rows(out)
    assert sorted(rows) == list(range(1, rounds + 1)), out
    for r, row in rows.items():
        assert row.endswith("PASS") and " ok " in row and "MISMATCH" not in row, (r, out)
    assert f"VERDICT: PASS ({rounds} rounds checked, 0 failed, 0 run-level problems)" in out, out
