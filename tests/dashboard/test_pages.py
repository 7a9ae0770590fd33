"""Every dashboard page under Streamlit's AppTest, reading real runs from the real test broker."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kafka_bridge.processes import free_port
from tests.dashboard.publish import (
    APP,
    chart_data,
    failed_run,
    real_run,
    send_raw,
    unique_prefix,
)

pytestmark = pytest.mark.kafka
TIMEOUT = 90  # a loaded 2-core CI box; a warm page takes well under a second


@pytest.fixture(scope="module")
def topics(kafka_broker, tmp_path_factory):
    """One real run, a real two-job sweep, a failed run and one malformed message."""
    out = tmp_path_factory.mktemp("dash-runs")
    prefix, bootstrap = unique_prefix(), kafka_broker.bootstrap
    results = real_run(bootstrap, prefix, "real-run", out, num_clients=3, num_rounds=3)
    sweep = [real_run(bootstrap, prefix, f"2030-01-01_00-00-00_{job}_n{n}", out, num_clients=n,
                      num_rounds=2) for job, n in enumerate((2, 4))]
    failed_run(bootstrap, prefix, "broken-run", out / "spool-failed")
    send_raw(bootstrap, f"{prefix}.rounds", b"{not an event")
    return {"prefix": prefix, "bootstrap": bootstrap, "real": results, "sweep": sweep}


def open_page(monkeypatch, bootstrap: str, prefix: str, page: str | None = None,
              **query: str) -> AppTest:
    monkeypatch.setenv("FEDCHURN_KAFKA_BOOTSTRAP", bootstrap)
    monkeypatch.setenv("FEDCHURN_KAFKA_TOPIC_PREFIX", prefix)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    if page is not None:
        at.query_params.update(query)
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_with(at: AppTest, *columns: str):
    """The first table on the page that has all these columns."""
    for element in at.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with columns {columns}")


def chart_titled(at: AppTest, prefix: str):
    """The Vega-Lite chart whose title starts with `prefix`."""
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec).get("title")
        text = title.get("text") if isinstance(title, dict) else title
        if isinstance(text, str) and text.startswith(prefix):
            return chart
    raise AssertionError(f"no chart titled {prefix!r}")


def test_runs_page_lists_every_run_and_the_failure_stands_out(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"])
    frame = at.dataframe[0].value.set_index("run_id")
    assert {"real-run", "broken-run", "2030-01-01_00-00-00_1_n4"} <= set(frame.index)
    assert frame.loc["real-run", "status"] == "finished"
    assert frame.loc["real-run", "final_auc"] == pytest.approx(topics["real"]["final"]["federated_auc"])
    assert (frame.loc["real-run", "data"], frame.loc["real-run", "engine"]) == ("synthetic", "inprocess")
    assert frame.loc["real-run", "num_clients"] == 3 and frame.loc["real-run", "audit"] == "PASS"
    assert frame.loc["real-run", "detail"] == "run?run=real-run"  # relative: /run?run=real-run
    assert frame.loc["broken-run", "status"] == "failed"
    assert any("broken-run" in e.value and "synthetic failure" in e.value for e in at.error)
    assert any("1 malformed" in w.value for w in at.warning)


def test_run_detail_page_shows_curves_log_clients_and_audit(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/run_detail.py",
                   run="real-run")
    assert at.selectbox(key="url_run").value == "real-run"
    tiles = {m.label: m.value for m in at.metric}
    final = topics["real"]["final"]
    assert tiles["federated AUC"] == f"{final['federated_auc']:.4f}"
    assert tiles["centralized AUC"] == f"{final['centralized_auc']:.4f}"
    assert tiles["rounds aggregated"] == "3"
    auc = chart_data(chart_titled(at, "ROC-AUC per round"))
    fed = auc[auc["model"] == "federated"]
    rounds = [r["auc"] for r in topics["real"]["rounds"][1:]]
    assert list(fed["round"]) == [1, 2, 3] and list(fed["value"]) == pytest.approx(rounds)
    assert {"centralized (pooled rows)", "local-only mean", "local-only client 2"} <= set(auc["model"])
    chart_titled(at, "log-loss per round")
    chart_titled(at, "largest coefficients")
    round_log = frame_with(at, "replied", "rejection reasons")
    # 1200 training rows, 0.2 of each site's held out for its own evaluation
    assert list(round_log["replied"]) == [3, 3, 3] and list(round_log["num_examples"]) == [960] * 3
    assert len(frame_with(at, "outcome", "reason")) == 9
    assert any(s.value == "Audit: PASS" for s in at.success)
    # the real run's summary carries the final model's curves (computed server-side on the test set)
    roc = chart_data(chart_titled(at, "ROC curve"))
    assert len(roc) >= 2 and roc["x"].min() == 0.0 and roc["x"].max() == 1.0
    assert len(chart_data(chart_titled(at, "precision-recall curve"))) >= 2
    assert not any("summary.curves" in i.value for i in at.info)
    # federated evaluation tab: pooled AUC beside the server-test AUC, certificate, sites, gains
    pooled = chart_data(chart_titled(at, "ROC-AUC of the global model per round"))
    fe_rounds = [r["federated_eval"] for r in topics["real"]["rounds"][1:]]
    assert list(pooled[pooled["series"].str.startswith("pooled")]["value"]) == pytest.approx(
        [f["pooled_auc"] for f in fe_rounds])
    assert list(pooled[pooled["series"].str.startswith("server")]["value"]) == pytest.approx(rounds)
    assert set(chart_data(chart_titled(at, "Certificate"))["series"]) == {
        "gradient norm", "objective gap bound"}
    assert len(frame_with(at, "local-only AUC", "federated AUC", "flags")) == 3
    chart_titled(at, "Did joining pay off")
    assert len(chart_data(chart_titled(at, "Gains curve"))) == 21 + 2  # 21 points + the diagonal
    assert tiles["pooled AUC (sites)"] == f"{final['federated_eval']['pooled_auc']:.4f}"


def test_kafka_flow_page_counts_messages_per_topic(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/kafka_flow.py")
    per_topic = frame_with(at, "topic", "messages", "lag").set_index("topic")
    prefix = topics["prefix"]
    # real run: 3 rounds x (start + aggregated) and 3 x 3 updates; sweep: 2 x (2+2), 2x2 + 4x2
    assert per_topic.loc[f"{prefix}.runs", "messages"] == 3 * 2 + 2  # the failed run has 2
    assert per_topic.loc[f"{prefix}.updates", "messages"] >= 9 + 4 + 8
    # every event was on the topics before the dashboard first polled: counted, never timed
    live, backlog = map(int, {m.label: m.value for m in at.metric}["live / backlog"].split(" / "))
    assert live == 0 and backlog == per_topic["messages"].sum()
    assert any("No live events" in i.value for i in at.info)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "clients -> aggregator" in dot and f"{prefix}.updates" in dot and "1 malformed" in dot
    at.selectbox(key="flow_scope").set_value("real-run").run()
    per_run = frame_with(at, "topic", "messages", "lag").set_index("topic")
    assert per_run["messages"].sum() == 1 + 3 * 5 + 1


def test_sweeps_page_plots_final_auc_against_num_clients(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/sweeps.py")
    frame = frame_with(at, "job", "final_auc", "wall_time_s")
    assert list(frame["num_clients"]) == [2, 4]
    assert list(frame["final_auc"]) == pytest.approx([s["final"]["federated_auc"] for s in topics["sweep"]])
    auc = chart_titled(at, "final federated AUC vs num_clients")
    assert "centralized" in str(json.loads(auc.proto.spec)["title"])
    # each job's centralized model trains on its own sites' training rows (their held-out
    # rows depend on the partition), so the line follows the job
    assert set(chart_data(auc)["centralized_auc"]) == {s["final"]["centralized_auc"]
                                                       for s in topics["sweep"]}


def test_no_broker_shows_a_banner_not_a_traceback(monkeypatch):
    st.cache_resource.clear()
    at = open_page(monkeypatch, f"127.0.0.1:{free_port('127.0.0.1')}", unique_prefix())
    assert any("not reachable" in e.value and "Retrying" in e.value for e in at.error)
    assert not at.dataframe


def test_empty_topics_show_a_waiting_banner(monkeypatch, kafka_broker):
    at = open_page(monkeypatch, kafka_broker.bootstrap, unique_prefix(), "app_pages/run_detail.py")
    assert any("No runs" in i.value for i in at.info)


def test_run_link_with_a_wrong_id_says_so_and_keeps_the_link(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/run_detail.py",
                   run="no-such-run")
    assert any("No run `no-such-run`" in e.value for e in at.error)
    assert at.selectbox(key="url_run").value is None and at.query_params["run"] == "no-such-run"
    assert not at.metric  # no other run's numbers under a link that named this one


def test_final_model_tab_shows_gains_lift_and_score_distribution(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/run_detail.py",
                   run="real-run")
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["top 10% by score"].endswith("% of churners")
    assert tiles["top 20% by score"].endswith("% of churners")
    hist = chart_data(chart_titled(at, "predicted churn probability"))
    assert hist["customers"].sum() == 300  # every test-set customer of the 1500-row run, once
    gains = chart_data(chart_titled(at, "cumulative gains"))
    assert gains["captured"].max() == 1.0
    assert len(at.get("download_button")) == 4


def test_compare_page_plots_chosen_runs_and_marks_config_differences(monkeypatch, topics):
    sweep = "2030-01-01_00-00-00"
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/compare.py",
                   runs=f"real-run,{sweep}_0_n2,missing-run")
    assert any("missing-run" in e.value for e in at.error)
    auc = chart_data(chart_titled(at, "federated ROC-AUC per round"))
    assert set(auc["run_id"]) == {"real-run", f"{sweep}_0_n2"}
    table = frame_with(at, "setting", "differs").set_index("setting")
    assert table.loc["num_clients", "differs"] and table.loc["num_clients", "real-run"] == "3"
    assert not table.loc["engine.name", "differs"]
    chart_titled(at, "federated log-loss per round")
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/compare.py",
                   sweep=sweep)
    auc = chart_data(chart_titled(at, "federated ROC-AUC per round"))
    assert set(auc["run_id"]) == {f"{sweep}_0_n2", f"{sweep}_1_n4"}


def test_sweep_link_opens_that_sweep_and_a_wrong_one_says_so(monkeypatch, topics):
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/sweeps.py",
                   sweep="2030-01-01_00-00-00")
    assert at.selectbox(key="url_sweep").value == "2030-01-01_00-00-00"
    assert len(frame_with(at, "job", "final_auc")) == 2
    at = open_page(monkeypatch, topics["bootstrap"], topics["prefix"], "app_pages/sweeps.py",
                   sweep="1999-no-such-sweep")
    assert any("No sweep `1999-no-such-sweep`" in e.value for e in at.error)
    assert at.query_params["sweep"] == "1999-no-such-sweep" and not at.dataframe
