"""Hydra multirun sweeps: group runs by sweep directory and find the keys that were swept."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pandas as pd

from dashboard.run_state import RunState
from dashboard.summary import reference_centralized, summary_wall_time

SWEEP_RUN_ID = re.compile(r"^(?P<sweep>.+)_(?P<job>\d+)_n(?P<clients>\d+)$")
# Config keys that differ between jobs for bookkeeping reasons, never because they were swept.
IGNORED_KEYS = ("output_dir", "run_id", "hydra")


def sweep_of(run_id: str) -> tuple[str, int] | None:
    """(sweep id, job number) for a multirun job id `<sweepdir>_<job>_n<clients>`, else None."""
    match = SWEEP_RUN_ID.match(run_id)
    return (match["sweep"], int(match["job"])) if match else None


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"data": {"name": "x"}} → {"data.name": "x"}; lists become tuples (hashable)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = tuple(value) if isinstance(value, list) else value
    return flat


def group_sweeps(runs: dict[str, RunState]) -> dict[str, list[RunState]]:
    """Sweep id → its jobs in job order (sweeps with a single job included)."""
    groups: dict[str, list[tuple[int, RunState]]] = {}
    for run in runs.values():
        found = sweep_of(run.run_id)
        if found is not None:
            groups.setdefault(found[0], []).append((found[1], run))
    return {sweep: [run for _, run in sorted(jobs, key=lambda j: j[0])]
            for sweep, jobs in sorted(groups.items(), reverse=True)}


def swept_keys(jobs: list[RunState]) -> list[str]:
    """Flattened config keys whose value differs between jobs (num_clients first)."""
    flats = [flatten(job.config) for job in jobs if job.config]
    keys = sorted({k for flat in flats for k in flat if not k.startswith(IGNORED_KEYS)})
    varying = [k for k in keys if len({repr(flat.get(k)) for flat in flats}) > 1]
    return sorted(varying, key=lambda k: (k != "num_clients", k))


def sweep_frame(jobs: list[RunState], sweep: str, now: datetime | None = None) -> pd.DataFrame:
    """One row per job: swept values, status, final federated AUC, wall time."""
    keys = swept_keys(jobs) or ["num_clients"]
    rows = []
    for job in jobs:
        flat = flatten(job.config)
        wall = summary_wall_time(job.summary)
        rows.append({
            "sweep": sweep, "job": (sweep_of(job.run_id) or ("", -1))[1], "run_id": job.run_id,
            **{k: flat.get(k, job.num_clients if k == "num_clients" else None) for k in keys},
            "status": job.status, "final_auc": job.final_auc(),
            "centralized_auc": reference_centralized(job.reference, "auc"),
            "wall_time_s": wall if wall is not None else job.elapsed_seconds(now),
        })
    return pd.DataFrame(rows)
