"""Human-readable tables for audit verdicts and run listings."""

from __future__ import annotations

from typing import Any

from kafka_bridge.events import Event
from kafka_bridge.verify import TERMINAL, RunVerdict


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain fixed-width text table."""
    cells = [[str(c) for c in headers]] + [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_verdict(v: RunVerdict) -> str:
    """Per-round table, then run-level problems and notes, then the verdict line."""
    rows = [[r.round, r.updates, f"{r.rejected}/{r.eval_rejected}", r.digests, r.average,
             "-" if r.max_abs_diff is None else f"{r.max_abs_diff:.3g}",
             "PASS" if r.ok else "FAIL: " + "; ".join(r.problems)] for r in v.rounds]
    out = [f"run {v.run_id}: status={v.status} events={v.events} "
           f"duplicates_dropped={v.duplicates} signed_by={v.public_key or '-'}"]
    if rows:
        out.append(table(["round", "updates", "rejected train/eval", "digests", "weighted avg",
                          "max|diff|", "verdict"], rows))
    out += [f"PROBLEM: {p}" for p in v.problems]
    out += [f"note: {n}" for n in v.notes]
    failed = sum(not r.ok for r in v.rounds)
    out.append(f"VERDICT: {'PASS' if v.ok else 'FAIL'} ({len(v.rounds)} rounds checked, "
               f"{failed} failed, {len(v.problems)} run-level problems)")
    return "\n".join(out)


def run_summary(events: list[Event]) -> dict[str, Any]:
    """Status line for `audit list`: status, rounds, events, first/last timestamp."""
    status = next((TERMINAL[e.type] for e in events if e.type in TERMINAL), "running/incomplete")
    rounds = {e.round for e in events if e.type == "round_aggregated"}
    return {"run_id": events[0].run_id if events else "?", "status": status,
            "rounds": len(rounds), "events": len(events),
            "started": events[0].ts if events else "", "last": events[-1].ts if events else ""}


def format_runs(runs: dict[str, list[Event]]) -> str:
    """Table of runs, oldest first."""
    summaries = sorted((run_summary(evs) for evs in runs.values()), key=lambda s: s["started"])
    if not summaries:
        return "no runs found"
    keys = ["run_id", "status", "rounds", "events", "started", "last"]
    return table(keys, [[s[k] for k in keys] for s in summaries])
