"""Property-based: any parseable events fold into run states and tables without an exception."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import tables
from dashboard.run_state import build_runs
from kafka_bridge.events import MalformedEventError, parse_event
from tests.kafka_bridge.json_strategies import mutated_events


def _parsed(lines: list[bytes]) -> list:
    events = []
    for line in lines:
        try:
            events.append(parse_event(line))
        except MalformedEventError:
            pass
    return events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_events(), min_size=1, max_size=14))
def test_folding_and_tables_never_raise(lines):
    runs = build_runs(_parsed(lines))
    now = datetime.now(UTC)
    tables.runs_frame(runs, now=now)
    for run in runs.values():
        facts = (run.status, run.elapsed_seconds(now), run.idle_seconds(now), run.final_auc())
        assert facts[0] in ("running", "finished", "failed")
        run.last_coefficients()
        for table in (tables.round_log, tables.client_log, tables.client_summary,
                      tables.metric_per_round, tables.top_coefficients):
            table(run)
