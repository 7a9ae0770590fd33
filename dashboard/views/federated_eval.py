"""Run-detail tab "Federated evaluation": pooled AUC, certificate, per-site payoff, gains curve."""

from __future__ import annotations

import streamlit as st

from dashboard import federated_eval as fe
from dashboard.run_state import RunState


def _num(value: object, fmt: str) -> str:
    number = fe.as_number(value)
    return "–" if number is None else format(number, fmt)


def render(run: RunState) -> None:
    """The tab's content; an info line when the run has no federated evaluation."""
    latest = fe.final(run)
    if latest is None:
        st.info("No federated evaluation in this run's rounds (strategy.federated_eval=false, "
                "or no round aggregated yet).")
        return
    cols = st.columns(5)
    cols[0].metric("pooled AUC (sites)", _num(latest.get("pooled_auc"), ".4f"),
                   delta=f"± {_num(latest.get('auc_bin_error'), '.1e')} binning", delta_color="off")
    cols[1].metric("pooled log-loss", _num(latest.get("pooled_log_loss"), ".4f"))
    cols[2].metric("lift in top 10%", _num(latest.get("lift_top10"), ".2f"))
    cols[3].metric("gradient norm", _num(latest.get("gradient_norm"), ".3g"))
    cols[4].metric("objective gap ≤", _num(latest.get("objective_gap_bound"), ".3g"))
    st.caption(f"{latest.get('rows')} evaluation rows at {latest.get('num_sites')} sites; "
               "every number is pooled from per-site histograms and sums, no row left a site.")
    for name, build in (("fe_auc", fe.pooled_auc_spec), ("fe_certificate", fe.certificate_spec),
                        ("fe_sites", fe.sites_spec), ("fe_gains", fe.pooled_gains_spec)):
        chart = build(run)
        if chart is not None:
            st.vega_lite_chart(chart, width="stretch", key=name)
    st.dataframe(fe.sites_frame(run), hide_index=True, key="fe_sites_table")
    st.caption("Flags: small = under 50 evaluation rows or under 5 of a class; one-class = "
               "AUC undefined; no-local-model = the site's rows alone hold one class; not-evaluated = "
               "its evaluation reply was not used (e.g. no rows).")
