"""Kafka flow page: messages and bytes per topic and round, latency, lag, and the flow diagram."""

from __future__ import annotations

import streamlit as st

from dashboard import charts
from dashboard.flow import flow_diagram
from dashboard.store import MonitorStore

ALL_RUNS = "all runs"


def render(store: MonitorStore) -> None:
    """Scope picker, live diagram, counters, then per-round and latency/lag charts."""
    run_ids = sorted(store.runs, key=lambda rid: store.runs[rid].started_at is None)
    scope = st.selectbox("scope", [ALL_RUNS, *run_ids], key="flow_scope")
    run_id = None if scope == ALL_RUNS else scope
    flow, status = store.flow, store.status
    st.graphviz_chart(flow_diagram(flow, store.runs, status.topic_prefix, run_id, status.malformed),
                      width="stretch")
    per_topic = flow.per_topic(run_id)
    latency = flow.latency_summary(run_id)
    cols = st.columns(6)
    cols[0].metric("messages", int(per_topic["messages"].sum()))
    cols[1].metric("bytes", f"{per_topic['bytes'].sum() / 1024:.1f} KiB")
    cols[2].metric("reader lag now", "–" if flow.last_lag is None else sum(flow.last_lag.values()),
                   help="messages on the topics this dashboard has not read yet, at the last poll")
    cols[3].metric("p50 latency, live",
                   "–" if latency.empty else f"{latency['p50_s'].median():.2f} s",
                   help="publish → read, median, of events published after the reader's "
                        "previous poll, i.e. read while the dashboard was following the topics")
    cols[4].metric("live / backlog", f"{flow.live_events} / {flow.backlog_events}",
                   help="backlog: already on the topic when the reader last polled (history at "
                        "start-up, or the reader fell behind); counted, never timed")
    cols[5].metric("malformed skipped", status.malformed)
    st.dataframe(per_topic, hide_index=True, key="flow_topics")
    def short(frame):  # "<prefix>.updates" -> "updates" keeps legends and axes readable
        return frame.assign(topic=frame["topic"].str.removeprefix(f"{status.topic_prefix}."))

    per_round = short(flow.per_round(run_id))
    if not per_round.empty:
        left, right = st.columns(2)
        left.vega_lite_chart(charts.spec(charts.flow_bars(per_round, "messages", "messages per round")),
                             width="stretch", key="flow_msgs")
        right.vega_lite_chart(charts.spec(charts.flow_bars(per_round, "bytes", "bytes per round")),
                              width="stretch", key="flow_bytes")
    left, right = st.columns(2)
    with left:
        frame = short(flow.latency_frame(run_id))
        if frame.empty:
            st.info(f"No live events{' of this run' if run_id else ''} yet: publish → read "
                    "latency is timed only for events published after the reader's previous "
                    f"poll. The {flow.backlog_events} events read as backlog are counted, not "
                    "timed (their latency would measure when the page was opened).")
        else:
            st.vega_lite_chart(charts.spec(charts.latency_chart(frame)), width="stretch", key="flow_latency")
            st.dataframe(latency, hide_index=True, key="flow_latency_table")
    with right:
        lag = short(flow.lag_frame())
        if not lag.empty:
            st.vega_lite_chart(charts.spec(charts.lag_chart(lag)), width="stretch", key="flow_lag")
    st.caption(f"Reader: `{status.bootstrap}`, last poll {status.last_poll_s or 0:.2f} s, "
               f"{status.refreshes} polls, {flow.backlog_events} backlog events (not timed), "
               f"{flow.live_events} read live (timed).")
