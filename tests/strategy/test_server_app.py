"""The ServerApp reports a failed run to every observer, then re-raises."""

from __future__ import annotations

from typing import Any

import pytest

from churn.rounds import RoundRecord, RunInfo
from strategy.server_app import ServerOutcome, ServerPlan, run_observed


class Failures:
    def __init__(self, explode: bool = False) -> None:
        self.errors: list[str] = []
        self.explode = explode

    def run_started(self, info: RunInfo) -> None: ...
    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None: ...
    def round_finished(self, record: RoundRecord) -> None: ...
    def run_finished(self, summary: dict[str, Any]) -> None: ...

    def run_failed(self, error: str) -> None:
        self.errors.append(error)
        if self.explode:
            raise RuntimeError("observer broke too")


def test_a_plan_that_cannot_be_built_is_reported_and_reraised() -> None:
    def bad_plan() -> ServerPlan:
        raise ValueError("run config `test-path` must name the server's held-out test.csv")

    broken, watcher, outcome = Failures(explode=True), Failures(), ServerOutcome()
    with pytest.raises(ValueError, match="test-path"):
        run_observed(None, bad_plan, [broken, watcher], outcome)  # type: ignore[arg-type]
    assert watcher.errors == ["ValueError: run config `test-path` must name the server's "
                              "held-out test.csv"]
    assert broken.errors == watcher.errors  # a raising observer does not hide the others
    assert outcome.observer_failures == [
        "observer Failures.run_failed raised RuntimeError('observer broke too')"]
