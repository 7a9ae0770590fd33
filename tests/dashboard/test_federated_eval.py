"""Federated-evaluation charts of a real in-process run validate and hold the run's numbers."""

from __future__ import annotations

import altair as alt
import pytest

from dashboard import federated_eval as fe
from dashboard import run_charts
from dashboard.run_state import build_runs
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from kafka_bridge.events import Event
from kafka_bridge.observer import CollectingProducer, KafkaObserver


def test_federated_eval_specs_validate_and_show_every_site_flagged_not_hidden() -> None:
    sink: list[Event] = []
    observer = KafkaObserver({}, producer_factory=lambda: CollectingProducer(sink))
    results = run_job(compose_config(["engine=inprocess", "data.num_rows=900", "num_clients=6",
                                      "num_rounds=2", "partition=dirichlet",
                                      "partition.alpha=0.1", "client.local_eval_fraction=0.2"]),
                      run_id="fe-dash", output_dir=None, observers=[observer])
    run = build_runs(sink)["fe-dash"]
    run_charts.auc_spec(run)  # memoized per run: the pooled chart must not be served this one
    specs = [fe.pooled_auc_spec(run), fe.certificate_spec(run), fe.sites_spec(run), fe.pooled_gains_spec(run)]
    for spec in specs:
        assert spec is not None
        alt.Chart.from_dict(spec, validate=True)
    assert specs[0]["title"] == "ROC-AUC of the global model per round"
    final = results["final"]["federated_eval"]
    sites = fe.sites_frame(run)
    assert len(sites) == len(final["sites"]) == 6  # small and one-class sites stay listed
    flagged = [s for s in final["sites"] if s["flags"]]
    assert flagged and all(row != "-" for row in sites["flags"][[s["flags"] != [] for s in final["sites"]]])
    certificate = fe.certificate_frame(run)
    assert set(certificate["round"]) == {1, 2}
    bounds = certificate[certificate["series"] == "objective gap bound"]["value"].tolist()
    assert bounds == pytest.approx([r["federated_eval"]["objective_gap_bound"]
                                    for r in results["rounds"][1:]])
