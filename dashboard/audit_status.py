"""Audit status of a run from the bridge's verifier (seq, digests, recomputed FedAvg)."""

from __future__ import annotations

import time

import pandas as pd

from dashboard.memo import per_run_version
from dashboard.run_state import RUNNING, RunState
from kafka_bridge.verify import RunVerdict, verify_events

CHECKING = "checking…"


@per_run_version
def run_verdict(run: RunState) -> RunVerdict:
    """The verifier's verdict over every event of the run read so far."""
    return verify_events(list(run.events), run.run_id, allow_incomplete=run.status == RUNNING)


def audit_label(run: RunState) -> str:
    """"PASS", "PASS so far" (still running) or "FAIL: <first problem>"."""
    verdict = run_verdict(run)
    if not verdict.ok:
        problems = verdict.problems + [p for r in verdict.rounds for p in r.problems]
        return f"FAIL: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
    return "PASS so far" if run.status == RUNNING else "PASS"


def audit_labels(runs: list[RunState], budget_s: float = 0.4, complete: bool = True) -> list[str]:
    """Labels for many runs in order; verdicts not cached yet are computed until `budget_s` is
    spent, the others read "checking…" and fill in on later refreshes (a cold start with many
    long runs would otherwise block the page for seconds). All read "checking…" while the
    events are not `complete` (client updates still being read: a verdict would be FAIL)."""
    if not complete:
        return [CHECKING] * len(runs)
    deadline = time.perf_counter() + budget_s
    labels, computed = [], 0
    for run in runs:
        fresh = run_verdict.is_fresh(run)
        if fresh or computed == 0 or time.perf_counter() < deadline:  # progress on every call
            computed += not fresh
            labels.append(audit_label(run))
        else:
            labels.append(CHECKING)
    return labels


def audit_rounds_frame(run: RunState) -> pd.DataFrame:
    """Per-round checks: updates, rejections, digests, recomputed weighted average, verdict."""
    rows = [{"round": r.round, "updates": r.updates, "rejected": r.rejected, "digests": r.digests,
             "weighted average": r.average, "max |diff|": r.max_abs_diff,
             "verdict": "PASS" if r.ok else "FAIL: " + "; ".join(r.problems)}
            for r in run_verdict(run).rounds]
    return pd.DataFrame(rows)
