"""Compare runs page: two or more runs (or a whole sweep) on one chart, configs side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from dashboard import charts
from dashboard.compare import METRICS, compare_chart, config_table, metric_rounds
from dashboard.store import MonitorStore
from dashboard.sweeps import group_sweeps

RUNS_PARAM, SWEEP_PARAM = "runs", "sweep"


def _differences(frame: pd.DataFrame) -> Styler:
    """Rows where the runs disagree in yellow."""
    def row_css(row: pd.Series) -> list[str]:
        css = "background-color: #fff3bf; font-weight: bold" if row["differs"] else ""
        return [css] * len(row)

    return frame.style.apply(row_css, axis=1)


def _sync_runs() -> None:
    st.query_params[RUNS_PARAM] = ",".join(st.session_state["compare_runs"])
    st.query_params.pop(SWEEP_PARAM, None)


def _sync_sweep() -> None:
    st.query_params[SWEEP_PARAM] = st.session_state["compare_sweep"]
    st.query_params.pop(RUNS_PARAM, None)


def _chosen(store: MonitorStore) -> list[str]:
    """Run ids from `?sweep=` (all its jobs) or `?runs=a,b`, else the picker; unknown ids say so."""
    sweeps = group_sweeps(store.runs)
    wanted_sweep = st.query_params.get(SWEEP_PARAM)
    if wanted_sweep is not None and wanted_sweep in sweeps:
        st.session_state["compare_sweep"] = wanted_sweep
        st.session_state["compare_runs"] = [r.run_id for r in sweeps[wanted_sweep]]
    elif wanted_sweep is not None:
        st.error(f"**No sweep `{wanted_sweep}`** on the topics; pick runs or a sweep below.",
                 icon=":material/search_off:")
    wanted = [r for r in (st.query_params.get(RUNS_PARAM) or "").split(",") if r]
    unknown = [r for r in wanted if r not in store.runs]
    if unknown:
        st.error(f"**No run {', '.join(f'`{r}`' for r in unknown)}** on the topics; comparing the "
                 "others.", icon=":material/search_off:")
    if wanted and wanted_sweep is None:
        st.session_state["compare_runs"] = [r for r in wanted if r in store.runs]
    left, right = st.columns([3, 1])
    chosen = left.multiselect("runs", sorted(store.runs), key="compare_runs", on_change=_sync_runs,
                              placeholder="pick two or more runs")
    if sweeps:
        right.selectbox("or a whole sweep", list(sweeps), index=None, key="compare_sweep",
                        on_change=_sync_sweep, placeholder="choose a sweep",
                        format_func=lambda s: f"{s} · {len(sweeps[s])} jobs")
    return chosen


def render(store: MonitorStore) -> None:
    """Run / sweep picker, a per-round chart per metric, and the configs with differences marked."""
    chosen = _chosen(store)
    if len(chosen) < 2:
        st.info("Pick two or more runs (or a sweep) to compare; the choice is kept in the URL "
                "(`?runs=a,b` or `?sweep=<id>`) so the comparison can be linked.")
        return
    runs = [store.runs[rid] for rid in chosen]
    left, right = st.columns(2)
    for column, metric in zip((left, right), METRICS, strict=True):
        frame = metric_rounds(runs, metric)
        if not frame.empty:
            column.vega_lite_chart(charts.spec(compare_chart(frame, metric)), width="stretch",
                                   key=f"compare_{metric}")
    table = config_table(runs)
    n_diff = int(table["differs"].sum())
    st.subheader(f"configs side by side: {n_diff} setting{'' if n_diff == 1 else 's'} differ")
    st.dataframe(_differences(table), hide_index=True, key="compare_config")
