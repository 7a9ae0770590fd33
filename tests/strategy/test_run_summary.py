"""run_finished summary: ROC/PR curves, score histogram and gains of the final model, wall time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fedchurn.config import compose_config
from fedchurn.simulate import run_job


class SummaryCatcher:
    """A RoundObserver that keeps the run_finished summary."""

    def __init__(self) -> None:
        self.summary: dict[str, Any] | None = None

    def run_started(self, info) -> None: ...

    def round_started(self, server_round, sampled_nodes) -> None: ...

    def round_finished(self, record) -> None: ...

    def run_finished(self, summary: dict[str, Any]) -> None:
        self.summary = summary

    def run_failed(self, error: str) -> None: ...


def test_summary_has_curves_of_the_final_model(tmp_path: Path) -> None:
    cfg = compose_config(["engine=inprocess", "data.num_rows=900", "num_clients=3", "num_rounds=2"],
                         output_dir=tmp_path)
    catcher = SummaryCatcher()
    result = run_job(cfg, run_id="summary", output_dir=tmp_path, observers=[catcher])
    summary = catcher.summary
    assert summary is not None and summary["rounds"] == 2
    roc, pr = summary["curves"]["roc"], summary["curves"]["pr"]
    assert 2 <= len(roc["fpr"]) <= 200 and len(roc["fpr"]) == len(roc["tpr"])
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0
    assert np.all(np.diff(roc["fpr"]) >= 0)
    auc = float(np.trapezoid(roc["tpr"], roc["fpr"]))
    assert abs(auc - result["final"]["federated_auc"]) < 0.01
    assert len(pr["recall"]) == len(pr["precision"]) >= 2
    assert 0 < summary["wall_time_s"] < result["timing"]["wall_s"] + 1
    scores = summary["scores"]  # the churn team's view: score histogram and gains on the test set
    test_rows = 900 - 720  # the 80/20 split of 900 rows
    assert sum(scores["histogram"]["churned"]) + sum(scores["histogram"]["stayed"]) == test_rows
    assert scores["gains"]["captured"][-1] == 1.0 and scores["gains"]["lift"][1] > 1.0
