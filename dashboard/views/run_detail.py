"""Run detail page: per-round AUC and log-loss vs references, round log, clients, final model."""

from __future__ import annotations

import streamlit as st

from dashboard import run_charts, tables
from dashboard.audit_status import CHECKING, audit_label, audit_rounds_frame, run_verdict
from dashboard.downloads import run_downloads
from dashboard.model_charts import TOP_SHARES, top_share
from dashboard.privacy import epsilon_spec, privacy_badge
from dashboard.run_state import FAILED, RunState
from dashboard.store import MonitorStore
from dashboard.summary import reference_local, summary_scores
from dashboard.ui import pick_run
from dashboard.views import federated_eval


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _headline(run: RunState) -> None:
    head = tables.headline(run)
    fed, central = head["federated_auc"], head["centralized_auc"]
    cols = st.columns(6)
    cols[0].metric("status", run.status)
    cols[1].metric("federated AUC", _fmt(fed),
                   delta=None if fed is None or central is None else f"{fed - central:+.4f} vs centralized",
                   delta_color="off")
    cols[2].metric("centralized AUC", _fmt(central))
    cols[3].metric("local-only mean AUC", _fmt(head["local_mean_auc"]))
    cols[4].metric("rounds aggregated", len(run.aggregated_rounds()))
    elapsed = run.elapsed_seconds()
    cols[5].metric("elapsed", "–" if elapsed is None else f"{elapsed:.1f} s")
    if run.status == FAILED:
        st.error(f"Run failed: {run.error}", icon=":material/error:")
    if run.problems:
        st.warning(f"{len(run.problems)} event(s) of this run could not be shown: "
                   + "; ".join(run.problems[:3]), icon=":material/warning:")
    badge = privacy_badge(run)
    if badge:
        st.info(badge, icon=":material/shield_lock:")


def _chart(chart_spec: dict, key: str) -> None:
    st.vega_lite_chart(chart_spec, width="stretch", key=key)


TABS = ["Performance", "Round log", "Clients", "Final model", "Federated evaluation", "Audit",
        "Config"]


def _performance(run: RunState) -> None:
    auc = run_charts.auc_spec(run)
    if auc is None:
        st.info("No aggregated round yet: the AUC chart fills in as rounds finish.")
    else:
        _chart(auc, "auc_chart")
        fed = tables.metric_per_round(run, "auc")
        fed = fed[fed["model"] == tables.FEDERATED]
        planned = tables.config_value(run.config, "num_rounds") or "?"
        st.caption(f"federated AUC plotted for {len(fed)} of {planned} rounds; latest "
                   f"{fed['value'].iloc[-1]:.4f} (round {int(fed['round'].iloc[-1])}). "
                   + _band_note(run))
    loss = run_charts.loss_spec(run)
    if loss is not None:
        _chart(loss, "loss_chart")
    epsilon = epsilon_spec(run)
    if epsilon is not None:
        _chart(epsilon, "epsilon_chart")


def _band_note(run: RunState) -> str:
    local = [v for v in reference_local(run.reference, "auc").values() if v is not None]
    if not local:
        return ""
    return (f"The red band spans the {len(local)} sites' local-only models (light: min to max, "
            "dark: middle 50%); hover it to name a site. The y-axis title gives the range shown.")


def _round_log(run: RunState) -> None:
    st.dataframe(tables.round_log(run), hide_index=True, key="round_log")
    st.caption("Per client and round (sampled nodes, accepted replies, rejections with reasons):")
    st.dataframe(tables.client_log(run), hide_index=True, key="client_log")


def _clients(run: RunState) -> None:
    st.dataframe(tables.client_summary(run), hide_index=True, key="client_summary")
    series = tables.client_metric_series(run)
    if not series.empty:
        metric = st.selectbox("client metric", sorted(series["metric"].unique()), key="client_metric")
        chart_spec = run_charts.client_metric_spec(run, metric)
        if chart_spec is not None:
            _chart(chart_spec, "client_metric_chart")


def _gains_tiles(run: RunState) -> None:
    scores = summary_scores(run.summary)
    if scores is None:
        st.info("No score histogram / gains in this run's summary (`summary.scores`, sent by "
                "strategy/server_app.py since the final-model view was added).")
        return
    gains = scores[1]
    cols = st.columns(len(TOP_SHARES) + 1)
    for col, share in zip(cols, TOP_SHARES, strict=False):
        found = top_share(gains, share)
        if found is not None:
            col.metric(f"top {share:.0%} by score", f"{found[0]:.0%} of churners",
                       delta=f"lift {found[1]:.2f}", delta_color="off", delta_arrow="off")
    cols[-1].metric("churn rate in the test set", f"{gains.get('base_rate', float('nan')):.1%}")


def _final_model(run: RunState) -> None:
    _gains_tiles(run)
    left, right = st.columns(2)
    for column, chart_spec, key in ((left, run_charts.gains_spec(run), "gains_chart"),
                                    (right, run_charts.score_histogram_spec(run), "score_hist")):
        if chart_spec is not None:
            with column:
                _chart(chart_spec, key)
    left, right = st.columns(2)
    for column, kind in ((left, "roc"), (right, "pr")):
        chart_spec = run_charts.curve_spec(run, kind)
        with column:
            if chart_spec is None:
                st.info(f"No {kind.upper()} curve points in this run's summary "
                        f"(`summary.curves.{kind}`); they arrive with run_finished.")
            else:
                _chart(chart_spec, f"{kind}_curve")
    coefs = run_charts.coefficient_spec(run, 15)
    if coefs is None:
        st.info("No global coefficients mirrored yet.")
    else:
        _chart(coefs, "coef_chart")


def _audit(run: RunState) -> None:
    label = audit_label(run)
    (st.success if label.startswith("PASS") else st.error)(f"Audit: {label}")
    verdict = run_verdict(run)
    frame = audit_rounds_frame(run)
    if not frame.empty:
        st.dataframe(frame, hide_index=True, key="audit_rounds")
    for note in verdict.notes:
        st.caption(f"note: {note}")


def _audit_pending(run: RunState) -> None:
    st.info(f"Audit: {CHECKING} (the client updates of `{run.run_id}` are still being read; "
            "a verdict without them would be a false FAIL).", icon=":material/downloading:")


def _config(run: RunState) -> None:
    st.json(run.config, expanded=False)
    st.caption(f"code {run.code_version or '?'} · data {run.dataset_fingerprint or '?'} · "
               f"{len(run.feature_names)} features · {len(run.events)} events")


def _downloads(run: RunState) -> None:
    cols = st.columns(4)
    for col, item in zip(cols, run_downloads(run), strict=True):
        col.download_button(item.label, item.data, file_name=item.file_name, mime=item.mime,
                            key=f"download_{item.file_name}", on_click="ignore", icon=":material/download:")


def render(store: MonitorStore) -> None:
    """Run picker, headline tiles, then tabs with the run's charts and tables (`?tab=`)."""
    run = pick_run(store)
    if run is None:
        return
    _headline(run)
    _downloads(run)
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    audit = _audit if store.updates_ready else _audit_pending
    sections = (_performance, _round_log, _clients, _final_model, federated_eval.render, audit,
                _config)
    for tab, section in zip(tabs, sections, strict=True):
        with tab:
            section(run)
