"""Runs page: every run on the topics with status, timing, key config and final AUC."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from dashboard.audit_status import audit_labels
from dashboard.run_state import FAILED, FINISHED, RUNNING
from dashboard.store import MonitorStore
from dashboard.tables import runs_frame

STATUS_CSS = {FAILED: "background-color: #ffd6d6; color: #8b0000; font-weight: bold",
              RUNNING: "background-color: #dbeafe; color: #1e3a8a"}


def _styled(frame: pd.DataFrame) -> Styler:
    """Failed runs stand out in red, running ones in blue (status, run id and error cells)."""
    def row_css(row: pd.Series) -> list[str]:
        css = STATUS_CSS.get(row["status"], "")
        return [css if col in ("run_id", "status", "error") else "" for col in row.index]

    return frame.style.apply(row_css, axis=1)


def render(store: MonitorStore) -> None:
    """Counts, failed runs first, then the table of all runs (newest first)."""
    frame = runs_frame(store.runs)
    frame["audit"] = audit_labels([store.runs[rid] for rid in frame["run_id"]],
                                  complete=store.updates_ready)
    frame.insert(1, "detail", [f"run?run={quote(rid)}" for rid in frame["run_id"]])
    counts = frame["status"].value_counts()
    cols = st.columns(4)
    cols[0].metric("runs", len(frame))
    cols[1].metric("running", int(counts.get(RUNNING, 0)))
    cols[2].metric("finished", int(counts.get(FINISHED, 0)))
    cols[3].metric("failed", int(counts.get(FAILED, 0)))
    stale_after = store.settings.stale_after_seconds
    for row in frame[frame["status"] == RUNNING].head(5).itertuples():
        auc = "–" if pd.isna(row.final_auc) else f"{row.final_auc:.4f}"
        text = (f"`{row.run_id}`, round {row.rounds}, federated AUC {auc}, "
                f"{row.elapsed_s or 0:.0f} s elapsed")
        if row.idle_s is not None and row.idle_s > stale_after:
            st.warning(f"**Stalled?** {text}; no event for {row.idle_s / 60:.0f} min and no "
                       "run_finished / run_failed: the server may have died.",
                       icon=":material/hourglass_disabled:")
        else:
            st.info(f"**Running now:** {text}", icon=":material/autorenew:")
    failed = frame[frame["status"] == FAILED]
    for row in failed.head(5).itertuples():
        st.error(f"**{row.run_id}** failed: {row.error}", icon=":material/error:")
    if len(failed) > 5:
        st.error(f"… and {len(failed) - 5} more failed runs (red rows below).")
    st.dataframe(
        _styled(frame), hide_index=True, key="runs_table",
        column_order=["run_id", "detail", "status", "started", "elapsed_s", "rounds", "final_auc",
                      "data", "partition", "num_clients", "strategy", "engine", "audit", "idle_s", "error"],
        column_config={
            "detail": st.column_config.LinkColumn("detail", display_text="open ↗", width="small"),
            "started": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "elapsed_s": st.column_config.NumberColumn("elapsed (s)", format="%.1f"),
            "final_auc": st.column_config.NumberColumn("final federated AUC", format="%.4f"),
            "idle_s": st.column_config.NumberColumn("s since last event", format="%.0f"),
        })
    n = store.status.events_read
    st.caption(f"{n} event{'' if n == 1 else 's'} read from `{store.status.topic_prefix}.*` "
               f"at `{store.status.bootstrap}`; refreshed every {store.settings.refresh_seconds:g} s.")
