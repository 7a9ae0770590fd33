"""Kafka message-flow statistics: messages and bytes per topic and round, latency, lag, diagram."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime

import pandas as pd

from dashboard.run_state import RunState
from dashboard.source import ReceivedEvent

LIFECYCLE_ROUND = 0  # runs-topic events (start / finish / failure) belong to no round


class FlowStats:
    """Accumulates transport facts of every event read; latency only for events read live."""

    def __init__(self, latency_window: int = 2000, lag_window: int = 600) -> None:
        # (run_id, topic, round) -> [messages, bytes]
        self.counts: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
        self.latencies: deque[tuple[str, str, float, float]] = deque(maxlen=latency_window)
        self.lag_history: deque[tuple[datetime, str, int]] = deque(maxlen=lag_window)
        self.last_lag: dict[str, int] | None = None
        self.backlog_events = 0  # already on the topic at the reader's previous poll: not timed
        self.live_events = 0  # published since the previous poll: publish → read is timed

    def add(self, received: list[ReceivedEvent], live_since: datetime | None) -> None:
        """Count a batch. An event is read live only if it was published after the reader's
        previous poll (`live_since`, None on the first poll): then publish → read measures the
        pipeline. Anything older was already waiting on the topic when the reader last
        looked (history at start-up, or a reader that fell behind) and only counts as backlog:
        its "latency" would measure when someone opened the page."""
        for rec in received:
            rnd = rec.event.round if isinstance(rec.event.round, int) else LIFECYCLE_ROUND
            slot = self.counts[(rec.event.run_id, rec.topic, rnd)]
            slot[0] += 1
            slot[1] += rec.size_bytes
            if live_since is not None and rec.published_at >= live_since:
                spool_s = (rec.published_at - rec.created_at).total_seconds()
                self.latencies.append((rec.event.run_id, rec.topic, rec.read_latency_s, spool_s))
                self.live_events += 1
            else:
                self.backlog_events += 1

    def record_lag(self, at: datetime, lag: dict[str, int]) -> None:
        """Remember how far behind the topics the reader was at `at`."""
        self.last_lag = dict(lag)
        for topic, behind in lag.items():
            self.lag_history.append((at, topic, behind))

    def per_round(self, run_id: str | None = None) -> pd.DataFrame:
        """(topic, round, messages, bytes) for one run, or summed over all runs."""
        totals: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        for (rid, topic, rnd), (messages, size) in list(self.counts.items()):
            if run_id is None or rid == run_id:
                slot = totals[(topic, rnd)]
                slot[0] += messages
                slot[1] += size
        rows = [{"topic": t, "round": r, "messages": m, "bytes": b} for (t, r), (m, b) in totals.items()]
        frame = pd.DataFrame(rows, columns=["topic", "round", "messages", "bytes"])
        return frame.sort_values(["round", "topic"]).reset_index(drop=True)

    def per_topic(self, run_id: str | None = None) -> pd.DataFrame:
        """(topic, messages, bytes, lag) totals, lag from the latest refresh."""
        frame = self.per_round(run_id).groupby("topic", as_index=False)[["messages", "bytes"]].sum()
        frame["lag"] = frame["topic"].map(lambda t: (self.last_lag or {}).get(t))
        return frame

    def latency_frame(self, run_id: str | None = None) -> pd.DataFrame:
        """One row per live event: topic, publish→read seconds, event→publish (spool) seconds."""
        rows = [{"topic": t, "read_latency_s": lat, "spool_delay_s": spool}
                for rid, t, lat, spool in list(self.latencies) if run_id is None or rid == run_id]
        return pd.DataFrame(rows, columns=["topic", "read_latency_s", "spool_delay_s"])

    def latency_summary(self, run_id: str | None = None) -> pd.DataFrame:
        """Median, p95 and max publish→read latency per topic (live events only)."""
        frame = self.latency_frame(run_id)
        if frame.empty:
            return pd.DataFrame(columns=["topic", "events", "p50_s", "p95_s", "max_s", "spool_p50_s"])
        grouped = frame.groupby("topic")
        return pd.DataFrame({
            "events": grouped.size(),
            "p50_s": grouped["read_latency_s"].median(),
            "p95_s": grouped["read_latency_s"].quantile(0.95),
            "max_s": grouped["read_latency_s"].max(),
            "spool_p50_s": grouped["spool_delay_s"].median(),
        }).reset_index()

    def lag_frame(self) -> pd.DataFrame:
        """(time, topic, lag) history of the reader's lag at each refresh."""
        return pd.DataFrame(list(self.lag_history), columns=["time", "topic", "lag"])


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def flow_diagram(flow: FlowStats, runs: dict[str, RunState], topic_prefix: str,
                 run_id: str | None = None, malformed: int = 0) -> str:
    """Graphviz DOT: clients → aggregator → Kafka topics → dashboard, with live counts."""
    selected = [runs[run_id]] if run_id in runs else list(runs.values())
    replies = sum(len(r.replies) for run in selected for r in run.rounds.values())
    rejected = sum(len(r.rejections) for run in selected for r in run.rounds.values())
    aggregated = sum(len(run.aggregated_rounds()) for run in selected)
    clients = max((run.num_clients or 0 for run in selected), default=0)
    topics = flow.per_topic(run_id if run_id in runs else None)
    scope = f"run {run_id}" if run_id in runs else f"{len(selected)} runs"
    lines = [
        "digraph flow {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", '
        'fillcolor="#f0f4ff", fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];',
        f'  label="{scope}"; labelloc=t; fontname="Helvetica";',
        f'  clients [label="clients\\n({clients or "?"} per run)\\nrows stay here", fillcolor="#e8f5e9"];',
        f'  aggregator [label="aggregator\\n(Flower ServerApp)\\n{aggregated} rounds aggregated"];',
        '  dashboard [label="dashboard\\nreader", fillcolor="#fff8e1"];',
        f'  clients -> aggregator [label="{replies} updates\\n{rejected} rejected"];',
        '  subgraph cluster_kafka { label="Kafka"; style=dashed;',
    ]
    edges = []
    for row in topics.itertuples():
        node = "t_" + row.topic.replace(".", "_").replace("-", "_")
        short = row.topic.removeprefix(f"{topic_prefix}.")
        lines.append(f'    {node} [label="{row.topic}", shape=cylinder, fillcolor="#ede7f6"];')
        edges.append(f'  aggregator -> {node} [label="{short}: {row.messages} msgs\\n{_kib(row.bytes)}"];')
        lag = "?" if pd.isna(row.lag) else int(row.lag)
        edges.append(f'  {node} -> dashboard [label="read {row.messages}\\nlag {lag}"];')
    lines.append("  }")
    lines += edges
    if malformed:
        lines.append(f'  malformed [label="{malformed} malformed\\nskipped", shape=note, '
                     'fillcolor="#ffebee"];')
        lines.append("  malformed -> dashboard [style=dotted];")
    lines.append("}")
    return "\n".join(lines)
