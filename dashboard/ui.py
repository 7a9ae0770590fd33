"""Streamlit glue shared by the pages: the cached store, live refresh, banners, run picker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import streamlit as st

from dashboard.run_state import RunState
from dashboard.settings import MonitorSettings
from dashboard.store import MonitorStore

RUN_PARAM = "run"
log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def get_store(settings: MonitorSettings) -> MonitorStore:
    """One store (one Kafka reader + accumulated runs) per broker and topic prefix, shared by
    every session and kept across reruns."""
    return MonitorStore(settings)


def feed_banner(store: MonitorStore) -> bool:
    """Banner for an unreachable broker, empty topics or malformed messages; True if any runs."""
    status = store.status
    if status.error is not None:
        cached = f" Showing the {len(store.runs)} runs read before the failure." if store.runs else ""
        st.error(f"**Kafka broker at `{status.bootstrap}` is not reachable** "
                 f"({status.error.splitlines()[0][:200]}). Retrying automatically in "
                 f"{status.retry_in_s:.0f} s (attempt {status.failures}).{cached}",
                 icon=":material/cloud_off:")
    elif not store.runs and status.connected:
        st.info(f"No runs on the topics `{status.topic_prefix}.*` at `{status.bootstrap}` yet. "
                "Start one, e.g. `fedchurn simulate bridge=kafka "
                f"bridge.bootstrap_servers={status.bootstrap}`; it appears here within seconds.",
                icon=":material/hourglass_empty:")
    if status.malformed:
        st.warning(f"{status.malformed} malformed message(s) on the topics were skipped "
                   "(not valid schema-v1 events).", icon=":material/warning:")
    return bool(store.runs)


def live(render: Callable[[MonitorStore], None]) -> None:
    """Run `render(store)` now and again every `refresh_seconds`, after an incremental poll."""
    settings = MonitorSettings.load()

    @st.fragment(run_every=settings.refresh_seconds)
    def _body() -> None:
        store = get_store(settings)
        with st.spinner("Reading events from Kafka…"):
            store.refresh()
        if feed_banner(store):
            try:
                with store.lock:
                    render(store)
            except Exception as exc:  # noqa: BLE001 - a banner, never a stack trace on the page
                log.exception("rendering %s failed", render.__module__)
                st.error(f"This page could not be drawn from the events read so far "
                         f"({type(exc).__name__}: {str(exc)[:200]}). It is retried on the next "
                         "refresh; the dashboard log has the details.", icon=":material/error:")

    _body()


def pick_run(store: MonitorStore, key: str = "run_picker") -> RunState:
    """Run selector (newest first), preselected from `?run=<id>`; keeps the URL in sync."""
    oldest = datetime.min.replace(tzinfo=UTC)
    runs = sorted(store.runs.values(), key=lambda r: r.started_at or oldest, reverse=True)
    options = [r.run_id for r in runs]
    wanted = st.query_params.get(RUN_PARAM)
    if key not in st.session_state and wanted in options:
        st.session_state[key] = wanted
    choice = st.selectbox("Run", options, key=key, format_func=lambda rid: _run_label(store.runs[rid]))
    if st.query_params.get(RUN_PARAM) != choice:
        st.query_params[RUN_PARAM] = choice
    return store.runs[choice]


def _run_label(run: RunState) -> str:
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run.started_at else "start unknown"
    return f"{run.run_id} · {run.status} · {started}"
