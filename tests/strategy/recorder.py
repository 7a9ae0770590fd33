"""A RoundObserver for tests: keeps every event, can raise on round_finished."""

from __future__ import annotations

from churn.rounds import RoundRecord, RunInfo


class Recorder:
    """Keeps every event; optionally raises on round_finished."""

    def __init__(self, explode: bool = False) -> None:
        self.explode = explode
        self.records: list[RoundRecord] = []
        self.info: RunInfo | None = None
        self.finished: dict | None = None

    def run_started(self, info: RunInfo) -> None:
        self.info = info

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        pass

    def round_finished(self, record: RoundRecord) -> None:
        self.records.append(record)
        if self.explode:
            raise RuntimeError("observer bug")

    def run_finished(self, summary: dict) -> None:
        self.finished = summary

    def run_failed(self, error: str) -> None:
        raise AssertionError(f"run failed: {error}")
