"""Hydra sweep grouping: job ids, swept keys, final AUC and wall time per job."""

from __future__ import annotations

from dashboard.run_state import build_runs
from dashboard.sweeps import group_sweeps, sweep_frame, sweep_of, swept_keys
from tests.dashboard.recording import recorded_run


def test_sweep_run_ids_are_recognised():
    assert sweep_of("2025-01-02_03-04-05_12_n8") == ("2025-01-02_03-04-05", 12)
    assert sweep_of("2025-01-02_03-04-05_synthetic_iid_n5") is None


def test_sweep_frame_has_one_row_per_job_against_the_swept_keys():
    events = []
    for job, clients in enumerate((2, 4, 8)):
        events += recorded_run(f"sw_{job}_n{clients}", num_clients=clients, num_rounds=2, seed=job,
                               config={"output_dir": f"/tmp/{job}"})
    events += recorded_run("single-run", num_rounds=1)
    groups = group_sweeps(build_runs(events))
    assert list(groups) == ["sw"] and len(groups["sw"]) == 3
    assert swept_keys(groups["sw"]) == ["num_clients", "seed"]  # output_dir is bookkeeping
    frame = sweep_frame(groups["sw"], "sw")
    assert list(frame["num_clients"]) == [2, 4, 8] and list(frame["job"]) == [0, 1, 2]
    assert frame["final_auc"].notna().all() and (frame["wall_time_s"] >= 0).all()
