"""Every chart builder yields a schema-valid Vega-Lite spec (pages skip validation for speed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from dashboard import charts, run_charts
from dashboard.flow import FlowStats
from dashboard.run_state import build_runs
from dashboard.sweeps import group_sweeps, sweep_frame
from tests.dashboard.recording import recorded_run
from tests.dashboard.test_flow_and_store import received


def test_run_chart_specs_validate_and_are_memoized():
    run = build_runs(recorded_run("c", num_clients=3, num_rounds=3, reject_node=1001))["c"]
    specs = [run_charts.auc_spec(run), run_charts.loss_spec(run), run_charts.curve_spec(run, "roc"),
             run_charts.curve_spec(run, "pr"), run_charts.coefficient_spec(run, 15),
             run_charts.client_metric_spec(run, "train-auc")]
    assert all(s is not None for s in specs)
    for s in specs:
        charts.alt.Chart.from_dict(s, validate=True)
    assert run_charts.auc_spec(run) is specs[0]
    values = [row for rows in specs[0]["datasets"].values() for row in rows]
    assert any(row.get("model") == "federated" for row in values)


def test_flow_and_sweep_specs_validate():
    events = recorded_run("s_0_n2", num_clients=2, num_rounds=2) + recorded_run("s_1_n3", num_clients=3,
                                                                                num_rounds=2)
    flow = FlowStats()
    flow.add(received(events), live_since=datetime.min.replace(tzinfo=UTC))
    now = datetime.now(UTC)
    flow.record_lag(now, {"p.rounds": 2})
    flow.record_lag(now + timedelta(seconds=2), {"p.rounds": 0})
    jobs = group_sweeps(build_runs(events))["s"]
    frame = sweep_frame(jobs, "s")
    built = [charts.flow_bars(flow.per_round(), "bytes", "b"), charts.latency_chart(flow.latency_frame()),
             charts.lag_chart(flow.lag_frame()), charts.sweep_chart(frame, "num_clients", "final_auc", "a")]
    for chart in built:
        charts.alt.Chart.from_dict(charts.spec(chart), validate=True)
    assert isinstance(flow.lag_frame()["time"].iloc[0], pd.Timestamp)
