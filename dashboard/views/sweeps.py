"""Sweeps page: a Hydra multirun's final AUC and wall time against each swept key."""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from dashboard import charts
from dashboard.store import MonitorStore
from dashboard.sweeps import group_sweeps, sweep_frame, swept_keys
from dashboard.ui import url_select


def render(store: MonitorStore) -> None:
    """Sweep picker, job table, then AUC and wall time charts per swept key."""
    groups = group_sweeps(store.runs)
    if not groups:
        st.info("No Hydra multirun sweeps on the topics yet (job run ids look like "
                "`<sweepdir>_<job>_n<clients>`, e.g. from `fedchurn simulate -m "
                "num_clients=2,4,8 bridge=kafka ...`).")
        return
    sweep = url_select("Sweep", list(groups), "sweep", lambda s: f"{s}  ·  {len(groups[s])} jobs",
                       "the topics")
    if sweep is None:
        return
    jobs = groups[sweep]
    frame = sweep_frame(jobs, sweep)
    keys = swept_keys(jobs) or ["num_clients"]
    st.caption("swept: " + ", ".join(f"`{k}`" for k in keys) + " · wall time is the run's own "
               "`summary.wall_time_s` when it reports one, else run_started → run_finished")
    st.markdown(f"[Compare this sweep's runs round by round ↗](compare?sweep={quote(sweep)})")
    st.dataframe(frame, hide_index=True, key="sweep_table")
    for key in keys:
        left, right = st.columns(2)
        # AUC differences under 0.01 are run-to-run noise here: the axis spans at least 0.02
        auc = charts.sweep_chart(frame, key, "final_auc", "final federated AUC",
                                 reference="centralized_auc", min_span=0.02)
        wall = charts.sweep_chart(frame, key, "wall_time_s", "wall time (s)")
        left.vega_lite_chart(charts.spec(auc), width="stretch", key=f"sweep_auc_{key}")
        right.vega_lite_chart(charts.spec(wall), width="stretch", key=f"sweep_time_{key}")
