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
    if store.runs and not store.updates_ready:
        st.info("Runs and rounds are shown; the per-client updates on "
                f"`{status.topic_prefix}.updates` are still being read (per-client tables and "
                "audits fill in within seconds).", icon=":material/downloading:")
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


def url_select(label: str, options: list[str], param: str, format_func: Callable[[str], str],
               where: str) -> str | None:
    """A select box whose choice lives in `?<param>=`: a cold start, a link or a refresh opens
    that choice, picking another rewrites the URL. A value that is not among `options` says so
    (naming `where` it was looked for) and leaves the URL alone; then None until one is picked."""
    key = f"url_{param}"
    wanted = st.query_params.get(param)
    if wanted is not None and wanted not in options:
        st.error(f"**No {label.lower()} `{wanted}`** among the {len(options)} on {where}. Check "
                 f"the link (ids are case-sensitive), or pick one below.", icon=":material/search_off:")
        st.session_state.pop(key, None)
        return st.selectbox(label, options, index=None, key=key, placeholder=f"choose a {label.lower()}",
                            format_func=format_func, on_change=_choice_to_url, args=(key, param))
    if wanted is not None:
        st.session_state[key] = wanted
    choice = st.selectbox(label, options, key=key, format_func=format_func,
                          on_change=_choice_to_url, args=(key, param))
    if wanted is None and choice is not None:  # name what is shown: a refresh or a copied link keeps it
        st.query_params[param] = choice
    return choice


def _choice_to_url(key: str, param: str) -> None:
    if st.session_state.get(key) is not None:
        st.query_params[param] = st.session_state[key]


def pick_run(store: MonitorStore) -> RunState | None:
    """Run selector (newest first) bound to `?run=<id>`; None while the id names no run."""
    oldest = datetime.min.replace(tzinfo=UTC)
    runs = sorted(store.runs.values(), key=lambda r: r.started_at or oldest, reverse=True)
    where = f"`{store.status.topic_prefix}.*` at `{store.status.bootstrap}`"
    choice = url_select("Run", [r.run_id for r in runs], RUN_PARAM,
                        lambda rid: _run_label(store.runs[rid]), where)
    return None if choice is None else store.runs[choice]


def _run_label(run: RunState) -> str:
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run.started_at else "start unknown"
    return f"{run.run_id} · {run.status} · {started}"
