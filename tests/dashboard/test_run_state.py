"""Run states folded from event lists: status, order independence, duplicates, partial runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard import tables
from dashboard.run_state import FAILED, FINISHED, RUNNING, RunState, build_runs
from tests.dashboard.recording import recorded_run


def test_finished_run_has_status_rounds_and_final_auc_from_the_summary():
    events = recorded_run("run-a", num_clients=3, num_rounds=4)
    run = build_runs(events)["run-a"]
    assert run.status == FINISHED
    assert [r.number for r in run.aggregated_rounds()] == [1, 2, 3, 4]
    assert run.final_auc() == pytest.approx(events[-1].payload["summary"]["final_server_metrics"]["auc"])
    assert run.num_clients == 3 and len(run.feature_names) == len(run.last_coefficients()[0])
    assert run.elapsed_seconds() >= 0 and run.version == len(events)


def test_order_and_duplicates_do_not_change_the_state():
    events = recorded_run("run-a", num_clients=3, num_rounds=3, reject_node=1001)
    shuffled = events + events[:7]
    random.Random(4).shuffle(shuffled)
    ordered, scrambled = build_runs(events)["run-a"], build_runs(shuffled)["run-a"]
    assert scrambled.version == ordered.version == len(events)
    for table in (tables.round_log, tables.client_log, tables.client_summary, tables.metric_per_round):
        pd.testing.assert_frame_equal(table(ordered), table(scrambled))
    assert scrambled.status == FINISHED


def test_failed_run_shows_its_error_and_failure_wins():
    events = recorded_run("run-f", num_rounds=4, fail_at_round=3)
    run = build_runs(events)["run-f"]
    assert run.status == FAILED and "synthetic failure" in run.error
    assert len(run.aggregated_rounds()) == 2


def test_running_run_without_terminal_event_measures_elapsed_to_now():
    events = [e for e in recorded_run("run-r", num_rounds=3) if e.type != "run_finished"]
    run = build_runs(events)["run-r"]
    assert run.status == RUNNING and run.ended_at is None
    later = run.started_at + timedelta(seconds=42)
    assert run.elapsed_seconds(later) == pytest.approx(42)
    assert run.final_auc() == pytest.approx(run.last_server_metrics()["auc"])


def test_partial_run_without_run_started_still_builds_tables():
    events = [e for e in recorded_run("run-p", num_rounds=2) if e.type != "run_started"]
    runs = build_runs(events)
    frame = tables.runs_frame(runs, now=datetime.now(UTC))
    assert frame.loc[0, "run_id"] == "run-p" and frame.loc[0, "elapsed_s"] is None
    assert tables.top_coefficients(runs["run-p"])["feature"].str.startswith("x").all()


def test_memoized_tables_follow_new_events():
    events = recorded_run("run-m", num_rounds=3)
    run = RunState("run-m")
    for event in events[:7]:
        run.apply(event)
    first = tables.round_log(run)
    assert tables.round_log(run) is first  # cached until the next event
    for event in events[7:]:
        run.apply(event)
    assert len(tables.round_log(run)) == 3 and tables.round_log(run) is not first


def test_events_of_other_runs_are_ignored():
    run = RunState("mine")
    assert run.apply(recorded_run("other", num_rounds=1)[0]) is False and run.version == 0


def test_audit_labels_spend_a_time_budget_then_fill_in_from_the_memo():
    from dashboard.audit_status import CHECKING, audit_labels

    runs = list(build_runs(recorded_run("a1", num_rounds=2) + recorded_run("a2", num_rounds=2)).values())
    assert audit_labels(runs, budget_s=0.0) == ["PASS", CHECKING]  # the first one always runs
    assert audit_labels(runs, budget_s=10.0) == ["PASS", "PASS"]
    assert audit_labels(runs, budget_s=0.0) == ["PASS", "PASS"]  # cached verdicts are free


def test_runs_frame_reports_idle_time_of_running_runs_only():
    events = recorded_run("fin", num_rounds=1) + [
        e for e in recorded_run("live", num_rounds=2) if e.type != "run_finished"]
    runs = build_runs(events)
    later = runs["live"].last_event_at + timedelta(minutes=5)
    frame = tables.runs_frame(runs, now=later).set_index("run_id")
    assert frame.loc["live", "idle_s"] == pytest.approx(300) and pd.isna(frame.loc["fin", "idle_s"])


def test_odd_payload_values_are_reported_not_raised():
    from kafka_bridge.events import Event

    run = RunState("odd")
    odd = Event(run_id="odd", seq=3, type="round_started", payload={"round": 1, "sampled_nodes": 5})
    assert run.apply(odd) is True and "round_started" in run.problems[0]
    assert run.apply(recorded_run("odd", num_rounds=1)[0]) and run.status == RUNNING
