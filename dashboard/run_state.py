"""Per-run state folded from bridge events in any order (idempotent, incremental)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka_bridge.events import Event

RUNNING, FINISHED, FAILED = "running", "finished", "failed"


def parse_ts(ts: str) -> datetime:
    """Event timestamp (ISO-8601, `Z` or offset) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(ts)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def finite(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric / NaN / infinite values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class ClientReply:
    """One client's accepted training reply in a round."""

    node_id: int
    partition_id: int | None
    num_examples: int
    metrics: dict[str, Any]
    digest: str
    received_at: datetime


@dataclass
class RoundState:
    """Everything the events say about one server round."""

    number: int
    started_at: datetime | None = None
    sampled_nodes: list[int] = field(default_factory=list)
    replies: dict[int, ClientReply] = field(default_factory=dict)
    rejections: dict[int, dict[str, Any]] = field(default_factory=dict)  # train replies
    eval_rejections: dict[int, dict[str, Any]] = field(default_factory=dict)
    aggregated: dict[str, Any] | None = None
    aggregated_at: datetime | None = None

    @property
    def server_metrics(self) -> dict[str, Any]:
        """Global model on the shared test set after this round ({} until aggregated)."""
        return (self.aggregated or {}).get("server_metrics", {})


@dataclass
class RunState:
    """A run as seen on the topics; `version` increases with every event applied."""

    run_id: str
    started_at: datetime | None = None
    last_event_at: datetime | None = None
    ended_at: datetime | None = None
    config: dict[str, Any] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    num_clients: int | None = None
    code_version: str = ""
    dataset_fingerprint: str = ""
    summary: dict[str, Any] | None = None
    error: str | None = None
    rounds: dict[int, RoundState] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # events that could not be folded in
    events: list[Event] = field(default_factory=list, repr=False)  # as applied, for the auditor
    event_ids: set[str] = field(default_factory=set, repr=False)
    max_seq: int = -1
    version: int = 0

    # -- folding --------------------------------------------------------------------------------
    def apply(self, event: Event) -> bool:
        """Fold one event in; False (and no change) for duplicates or other runs' events."""
        if event.run_id != self.run_id or event.event_id in self.event_ids:
            return False
        self.event_ids.add(event.event_id)
        self.events.append(event)
        self.max_seq = max(self.max_seq, event.seq)
        self.version += 1
        at = parse_ts(event.ts)
        if self.last_event_at is None or at > self.last_event_at:
            self.last_event_at = at
        handler = getattr(self, f"_on_{event.type}", None)
        try:
            if handler is not None:
                handler(event.payload, at)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # valid schema, odd values
            self.problems.append(f"seq {event.seq} ({event.type}) not shown: {type(exc).__name__}: {exc}")
        return True

    def _round(self, number: int) -> RoundState:
        if number not in self.rounds:
            self.rounds[number] = RoundState(number)
        return self.rounds[number]

    def _on_run_started(self, p: dict[str, Any], at: datetime) -> None:
        self.started_at = at
        self.config = p.get("config", {})
        self.feature_names = list(p.get("feature_names", []))
        self.reference = p.get("reference", {})
        self.num_clients = p.get("num_clients")
        self.code_version = p.get("code_version", "")
        self.dataset_fingerprint = p.get("dataset_fingerprint", "")

    def _on_round_started(self, p: dict[str, Any], at: datetime) -> None:
        rnd = self._round(p["round"])
        rnd.started_at, rnd.sampled_nodes = at, list(p.get("sampled_nodes", []))

    def _on_client_update(self, p: dict[str, Any], at: datetime) -> None:
        self._round(p["round"]).replies[p["node_id"]] = ClientReply(
            node_id=p["node_id"], partition_id=p.get("partition_id"),
            num_examples=p.get("num_examples", 0), metrics=p.get("metrics", {}),
            digest=p.get("digest", ""), received_at=at)

    def _on_reply_rejected(self, p: dict[str, Any], at: datetime) -> None:
        rnd = self._round(p["round"])
        target = rnd.eval_rejections if p.get("phase") == "evaluate" else rnd.rejections
        target[p["node_id"]] = {"partition_id": p.get("partition_id"), "reason": p.get("reason", ""),
                                "at": at}

    def _on_round_aggregated(self, p: dict[str, Any], at: datetime) -> None:
        rnd = self._round(p["round"])
        rnd.aggregated, rnd.aggregated_at = p, at

    def _on_run_finished(self, p: dict[str, Any], at: datetime) -> None:
        self.summary, self.ended_at = p.get("summary", {}), at

    def _on_run_failed(self, p: dict[str, Any], at: datetime) -> None:
        self.error, self.ended_at = p.get("error", ""), at

    # -- derived facts --------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """failed > finished > running (a failure report wins over anything else)."""
        if self.error is not None:
            return FAILED
        return FINISHED if self.summary is not None else RUNNING

    def elapsed_seconds(self, now: datetime | None = None) -> float | None:
        """Start to end (or to `now` while running); None without a start event."""
        if self.started_at is None:
            return None
        end = self.ended_at or now or datetime.now(UTC)
        return max(0.0, (end - self.started_at).total_seconds())

    def idle_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the run's newest event (a running run that stays idle has stalled)."""
        if self.last_event_at is None:
            return None
        return max(0.0, ((now or datetime.now(UTC)) - self.last_event_at).total_seconds())

    def aggregated_rounds(self) -> list[RoundState]:
        """Rounds with a global model, in round order."""
        return [self.rounds[n] for n in sorted(self.rounds) if self.rounds[n].aggregated is not None]

    def last_server_metrics(self) -> dict[str, Any]:
        """Server metrics of the latest aggregated round ({} before the first one)."""
        done = self.aggregated_rounds()
        return done[-1].server_metrics if done else {}

    def final_auc(self) -> float | None:
        """Final federated AUC: the summary's figure if it has one, else the last round's."""
        from dashboard.summary import summary_final_metric

        value = summary_final_metric(self.summary, "auc")
        return value if value is not None else finite(self.last_server_metrics().get("auc"))

    def last_coefficients(self) -> tuple[list[float], float | None] | None:
        """Latest global coefficient vector and intercept, None if never mirrored."""
        for rnd in reversed(self.aggregated_rounds()):
            agg = rnd.aggregated or {}
            coef, intercept = agg.get("coef"), agg.get("intercept")
            if coef:
                flat = coef[0] if coef and isinstance(coef[0], list) else coef
                icpt = intercept[0] if intercept else None
                return [float(c) for c in flat], (float(icpt) if icpt is not None else None)
        return None


def build_runs(events: list[Event]) -> dict[str, RunState]:
    """Fold a list of events (any order, duplicates allowed) into run states by run id."""
    runs: dict[str, RunState] = {}
    for event in events:
        runs.setdefault(event.run_id, RunState(event.run_id)).apply(event)
    return runs
