"""Fan a run's events out to every RoundObserver; an observer that raises is logged, not fatal."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from churn.rounds import RoundObserver, RoundRecord, RunInfo

log = logging.getLogger(__name__)


class ObserverHub:
    """Calls observers in order; exceptions are caught so training never stops for them."""

    def __init__(self, observers: Sequence[RoundObserver] = ()) -> None:
        self.observers = list(observers)
        self.failures: list[str] = []

    def run_started(self, info: RunInfo) -> None:
        self._call("run_started", info)

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        self._call("round_started", server_round, list(sampled_nodes))

    def round_finished(self, record: RoundRecord) -> None:
        self._call("round_finished", record)

    def run_finished(self, summary: dict[str, Any]) -> None:
        self._call("run_finished", summary)

    def run_failed(self, error: str) -> None:
        self._call("run_failed", error)

    def _call(self, event: str, *args: Any) -> None:
        for observer in self.observers:
            try:
                getattr(observer, event)(*args)
            except Exception as ex:  # noqa: BLE001 - an observer must never stop training
                message = f"observer {type(observer).__name__}.{event} raised {ex!r}"
                self.failures.append(message)
                log.warning("%s; training continues", message)
