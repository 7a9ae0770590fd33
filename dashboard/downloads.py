"""A run's rounds, per-site metrics and summary as downloadable CSV / JSON files."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from dashboard import tables
from dashboard.memo import per_run_version
from dashboard.run_state import RunState
from dashboard.summary import reference_local


@dataclass(frozen=True)
class Download:
    """One file offered on the page."""

    label: str
    file_name: str
    data: bytes
    mime: str


def site_metrics(run: RunState) -> pd.DataFrame:
    """Long frame (round, client, metric, value): what every site reported per round, plus
    each site's local-only reference AUC as round 0 rows (metric `local_only_auc`)."""
    reported = tables.client_metric_series(run)
    local = [{"round": 0, "client": tables.client_label(pid), "metric": "local_only_auc", "value": auc}
             for pid, auc in reference_local(run.reference, "auc").items() if auc is not None]
    return pd.concat([pd.DataFrame(local, columns=reported.columns), reported], ignore_index=True)


def run_record(run: RunState) -> dict:
    """Summary, references, config and per-round server metrics of a run as one JSON object."""
    return {
        "run_id": run.run_id, "status": run.status, "error": run.error,
        "config": run.config, "reference": run.reference, "summary": run.summary,
        "rounds": [{"round": r.number, "server_metrics": r.server_metrics}
                   for r in run.aggregated_rounds()],
        "code_version": run.code_version, "dataset_fingerprint": run.dataset_fingerprint,
    }


@per_run_version
def run_downloads(run: RunState) -> list[Download]:
    """Round log (CSV), per-site metrics (CSV) and the run's summary (JSON); built once per run
    version, not on every live refresh."""
    def csv(frame: pd.DataFrame) -> bytes:
        return frame.to_csv(index=False).encode()

    stem = run.run_id.replace("/", "_")
    return [
        Download("rounds (CSV)", f"{stem}_rounds.csv", csv(tables.round_log(run)), "text/csv"),
        Download("per-site metrics (CSV)", f"{stem}_sites.csv", csv(site_metrics(run)), "text/csv"),
        Download("per-site round log (CSV)", f"{stem}_site_log.csv", csv(tables.client_log(run)),
                 "text/csv"),
        Download("summary (JSON)", f"{stem}_summary.json",
                 json.dumps(run_record(run), indent=2, default=str).encode(), "application/json"),
    ]
