"""Sweep summary: one row per job of a multirun (CSV + printed table), as a Hydra callback.

Enabled by `hydra/callbacks=sweep_summary` (conf/hydra/callbacks/sweep_summary.yaml); also
runnable on a finished sweep: `python -m fedchurn.sweep multirun/<sweep dir>`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

COLUMNS = ("run_id", "overrides", "engine", "num_clients", "partition", "rounds",
           "federated_auc", "centralized_auc", "auc_gap", "local_mean_auc", "local_min_auc",
           "rejected", "wall_s")


class SweepSummaryCallback(Callback):
    """Collects each job's run directory and summarises their results.json at the end."""

    def __init__(self) -> None:
        self.sweep_dir: Path | None = None
        self.job_dirs: list[Path] = []

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        self.job_dirs = []

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        output_dir = job_return.hydra_cfg.hydra.runtime.output_dir if job_return.hydra_cfg \
            else None
        if output_dir:
            self.job_dirs.append(Path(str(output_dir)))

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = self.sweep_dir or Path(str(config.hydra.sweep.dir))
        write_summary(sweep_dir, self.job_dirs or None)


def summary_row(results: dict[str, Any]) -> dict[str, Any]:
    """The summary columns of one results.json."""
    final = results.get("final", {})
    config = results.get("config", {})
    rounds = results.get("rounds", [])
    return {
        "run_id": results.get("run_id"),
        "overrides": " ".join(results.get("overrides", [])),
        "engine": results.get("engine"),
        "num_clients": config.get("num_clients"),
        "partition": (config.get("partition") or {}).get("name"),
        "rounds": max((r["round"] for r in rounds), default=0),
        "federated_auc": final.get("federated_auc"),
        "centralized_auc": final.get("centralized_auc"),
        "auc_gap": final.get("auc_gap"),
        "local_mean_auc": final.get("local_mean_auc"),
        "local_min_auc": final.get("local_min_auc"),
        "rejected": sum(r.get("rejected", 0) for r in rounds),
        "wall_s": (results.get("timing") or {}).get("wall_s"),
    }


def write_summary(sweep_dir: Path, job_dirs: list[Path] | None = None) -> Path:
    """summary.csv in `sweep_dir` over its jobs' results.json; prints the table too."""
    sweep_dir = Path(sweep_dir)
    dirs = job_dirs if job_dirs is not None else sorted(
        (p.parent for p in sweep_dir.glob("*/results.json")), key=_job_order)
    rows = []
    for job_dir in dirs:
        path = Path(job_dir) / "results.json"
        if path.is_file():
            rows.append(summary_row(json.loads(path.read_text())))
        else:
            rows.append({"run_id": Path(job_dir).name, "overrides": "(no results.json: failed)"})
    out = sweep_dir / "summary.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(format_table(rows))
    print(f"sweep summary: {out}")
    return out


def format_table(rows: list[dict[str, Any]]) -> str:
    """The summary as aligned text; the overrides column shows what differs between jobs."""
    token_sets = [str(row.get("overrides", "")).split() for row in rows]
    shared = set.intersection(*(set(t) for t in token_sets)) if len(rows) > 1 else set()
    lines = [f"{'overrides (varying)':<40} {'fed AUC':>8} {'central':>8} {'gap':>8} {'local mean':>10} "
             f"{'local min':>9} {'rej':>4} {'wall s':>7}"]
    for row, tokens in zip(rows, token_sets, strict=True):
        varying = " ".join(t for t in tokens if t not in shared)
        lines.append(f"{varying[:40]:<40} {_num(row.get('federated_auc'), 8)} "
                     f"{_num(row.get('centralized_auc'), 8)} {_num(row.get('auc_gap'), 8, '+.4f')} "
                     f"{_num(row.get('local_mean_auc'), 10)} {_num(row.get('local_min_auc'), 9)} "
                     f"{row.get('rejected', ''):>4} {_num(row.get('wall_s'), 7, '.1f')}")
    return "\n".join(lines)


def _num(value: Any, width: int, fmt: str = ".4f") -> str:
    return f"{format(value, fmt):>{width}}" if isinstance(value, int | float) else f"{'-':>{width}}"


def _job_order(path: Path) -> tuple[int, str]:
    head = path.name.split("_", 1)[0]
    return (int(head), path.name) if head.isdigit() else (1 << 30, path.name)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m fedchurn.sweep SWEEP_DIR")
    write_summary(Path(sys.argv[1]))
