"""Every chart builder yields a schema-valid Vega-Lite spec (pages skip validation for speed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard import charts, run_charts
from dashboard.flow import FlowStats
from dashboard.model_charts import top_share
from dashboard.run_state import build_runs
from dashboard.site_bands import BAND_IQR, BAND_RANGE, band_frame
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


def _legend_entries(chart_spec: dict) -> set[str]:
    """Every colour domain value declared in a (layered) spec: what its legend lists."""
    layers = chart_spec.get("layer", [chart_spec])
    return {v for layer in layers for v in
            (((layer.get("encoding") or {}).get("color") or {}).get("scale") or {}).get("domain", [])}


def test_auc_chart_legend_stays_the_same_size_from_3_to_200_sites():
    """Sites go into the band (drawn, hover-named), never into the legend."""
    specs = {}
    for n in (3, 200):
        run = build_runs(recorded_run("b", num_clients=n, num_rounds=2))["b"]
        specs[n] = run_charts.auc_spec(run)
        charts.alt.Chart.from_dict(specs[n], validate=True)
    assert _legend_entries(specs[3]) == _legend_entries(specs[200]) == {
        "federated", "centralized (pooled rows)", "local-only mean", BAND_RANGE, BAND_IQR}
    assert specs[200]["autosize"]["type"] == "fit-x"  # height is the plot's, legend below it
    site_rows = [r for rows in specs[200]["datasets"].values() for r in rows
                 if str(r.get("model", "")).startswith("local-only client")]
    assert len({r["model"] for r in site_rows}) == 200  # every site still drawn


def test_band_frame_gives_min_quartiles_mean_max_per_round():
    sites = pd.DataFrame({"round": [1] * 5 + [2] * 5, "value": [1, 2, 3, 4, 5, 2, 2, 2, 2, 12]})
    band = band_frame(sites).set_index("round")
    assert list(band.loc[1, ["lo", "q1", "mean", "q3", "hi", "sites"]]) == [1, 2, 3, 4, 5, 5]
    assert band.loc[2, "mean"] == 4 and band.loc[2, "q3"] == 2 and band.loc[2, "hi"] == 12


def test_value_domain_keeps_noise_flat_and_real_gaps_visible():
    noise = charts.value_domain(pd.Series([0.8422, 0.8428]), min_span=0.02)
    assert noise[1] - noise[0] == pytest.approx(0.022, abs=1e-4)  # 0.0006 of noise: 0.02 + 10% pad
    gap = charts.value_domain(pd.Series([0.60, 0.85]), min_span=0.02, clamp=(0, 1))
    assert gap[0] < 0.60 and gap[1] > 0.85 and gap[1] - gap[0] < 0.3
    assert charts.value_domain(pd.Series([0.99, 1.0]), 0.05, clamp=(0, 1))[1] == 1.0


def test_sweep_auc_chart_draws_the_centralized_reference_and_says_the_scale():
    events = recorded_run("s_0_n2", num_clients=2, num_rounds=2) + recorded_run(
        "s_1_n3", num_clients=3, num_rounds=2, seed=1)
    frame = sweep_frame(group_sweeps(build_runs(events))["s"], "s")
    chart_spec = charts.spec(charts.sweep_chart(frame, "num_clients", "final_auc", "final AUC",
                                                reference="centralized_auc", min_span=0.02))
    charts.alt.Chart.from_dict(chart_spec, validate=True)
    fields = [layer["encoding"]["y"]["field"] for layer in chart_spec["layer"]]
    assert fields[0] == "centralized_auc" and "final_auc" in fields
    assert "span" in chart_spec["layer"][1]["encoding"]["y"]["title"]
    domain = chart_spec["layer"][1]["encoding"]["y"]["scale"]["domain"]
    assert domain[1] - domain[0] >= 0.02


def test_final_model_gains_and_histogram_specs_validate():
    run = build_runs(recorded_run("g", num_rounds=2))["g"]
    for chart_spec in (run_charts.gains_spec(run), run_charts.score_histogram_spec(run)):
        charts.alt.Chart.from_dict(chart_spec, validate=True)
    gains = run.summary["scores"]["gains"]
    found, lift = top_share(gains, 0.1)
    assert found == pytest.approx(gains["captured"][1]) and lift == pytest.approx(found / 0.1)
    assert top_share(gains, 0.15) is not None and top_share(gains, 0.33) is None


def test_named_series_stay_lines_not_a_site_band():
    """ε spent against its target are two named lines (privacy chart), never a site band."""
    frame = pd.DataFrame({"round": [1, 2, 1, 2], "value": [0.5, 0.9, 2.0, 2.0],
                          "series": ["ε spent", "ε spent", "target ε", "target ε"]})
    chart_spec = charts.spec(charts.series_chart(frame, "privacy spent", "ε"))
    charts.alt.Chart.from_dict(chart_spec, validate=True)
    assert "layer" not in chart_spec and chart_spec["encoding"]["color"]["field"] == "series"
