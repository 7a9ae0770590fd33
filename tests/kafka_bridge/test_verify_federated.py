"""The auditor recomputes pooled metrics and the gradient sum from mirrored site payloads."""

from __future__ import annotations

import copy

from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from kafka_bridge.events import Event, make_event, parse_event
from kafka_bridge.observer import CollectingProducer, KafkaObserver
from kafka_bridge.verify import verify_events

RUN = ["engine=inprocess", "data.num_rows=1200", "num_clients=3", "num_rounds=2",
       "partition=dirichlet", "partition.alpha=0.3", "client.local_eval_fraction=0.2"]


def _events(mirror: bool, extra: tuple[str, ...] = ()) -> list[Event]:
    sink: list[Event] = []
    observer = KafkaObserver({"mirror_client_updates": mirror},
                             producer_factory=lambda: CollectingProducer(sink))
    run_job(compose_config([*RUN, *extra]), run_id=f"fe-audit-{mirror}", output_dir=None,
            observers=[observer])
    return sink


def _replace(events: list[Event], round_: int, change) -> list[Event]:
    out = []
    for e in events:
        if e.type == "round_aggregated" and e.payload["round"] == round_:
            payload = copy.deepcopy(e.payload)
            change(payload["federated_eval"])
            e = make_event(e.run_id, e.seq, e.type, payload)
        out.append(e)
    return out


def test_mirrored_site_payloads_are_recomputed_and_tampering_is_caught() -> None:
    events = _events(mirror=True)
    aggregated = [e for e in events if e.type == "round_aggregated"]
    fe = aggregated[-1].payload["federated_eval"]
    assert {"pooled_auc", "auc_bin_error", "gradient_norm", "objective_gap_bound", "sites",
            "site_payloads"} <= set(fe)
    assert all("histogram" in p and "certificate_sums" in p for p in fe["site_payloads"])
    for p in fe["site_payloads"]:  # the sparse (3, k) array as sent: occupied bins, ascending
        bins = p["histogram"]["bins"]
        assert p["shapes"][0] == [3, len(bins)] and bins == sorted(set(bins))
        assert sum(p["histogram"]["neg"]) + sum(p["histogram"]["pos"]) == p["rows"]
    assert parse_event(aggregated[-1].to_bytes()).payload["federated_eval"]["num_sites"] == 3
    verdict = verify_events(events)
    assert verdict.ok, verdict
    assert any("recomputed from mirrored per-site histograms and sums for rounds [1, 2]" in n
               for n in verdict.notes), verdict.notes

    def bump_auc(fe: dict) -> None:
        fe["pooled_auc"] += 0.01

    def bump_site(fe: dict) -> None:
        fe["site_payloads"][0]["certificate_sums"][0][0] += 1.0

    tampered = verify_events(_replace(events, 2, bump_auc))
    assert not tampered.ok and any("pooled_auc" in p for r in tampered.rounds for p in r.problems)
    forged = verify_events(_replace(events, 1, bump_site))
    assert any("digest mismatch" in p for r in forged.rounds for p in r.problems)

    def repeat_bin(fe: dict) -> None:
        mirrored = fe["site_payloads"][0]["histogram"]
        for key in ("bins", "neg", "pos"):
            mirrored[key] = mirrored[key][:1] * 2

    garbled = verify_events(_replace(events, 1, repeat_bin))
    assert any("unreadable" in p and "strictly ascending" in p
               for r in garbled.rounds for p in r.problems), garbled


def test_without_mirrored_values_the_audit_says_it_could_not_recompute() -> None:
    events = _events(mirror=False)
    fe = [e for e in events if e.type == "round_aggregated"][-1].payload["federated_eval"]
    assert all("histogram" not in p and p["digest"] for p in fe["site_payloads"])
    verdict = verify_events(events)
    assert verdict.ok, verdict
    assert any("mirrored as digests only; pooled metrics NOT recomputed" in n
               for n in verdict.notes)


def test_a_run_mirrored_with_dense_histogram_digests_still_verifies(monkeypatch) -> None:
    # runs mirrored before 2026-12-03 hashed the dense (2, bins + 2) histogram; their `shapes`
    # say so, and the auditor hashes what the server hashed then. The observer here signs such
    # payloads, as the old one did.
    import numpy as np

    from churn.pooled_metrics import ScoreBins
    from kafka_bridge import observer as observer_module
    from kafka_bridge.events import array_digest

    bins = ScoreBins()  # the run's default strategy.score_bins / score_logit_range
    sparse_payload = observer_module.site_eval_payload

    def legacy_payload(site, include_values: bool) -> dict:
        out = sparse_payload(site, include_values)
        dense, sums = bins.dense(site.histogram), np.asarray(site.certificate_sums)
        return {**out, "digest": array_digest([dense, sums]),
                "shapes": [[2, bins.size], list(sums.shape)]}

    monkeypatch.setattr(observer_module, "site_eval_payload", legacy_payload)
    events = _events(mirror=True)
    assert all(p["shapes"][0] == [2, 8002] for e in events if e.type == "round_aggregated"
               for p in e.payload["federated_eval"]["site_payloads"])
    verdict = verify_events(events)
    assert verdict.ok, (verdict.problems, [p for r in verdict.rounds for p in r.problems])

    def forge(fe: dict) -> None:
        fe["site_payloads"][0]["histogram"]["neg"][0] += 1.0

    forged = verify_events(_replace(events, 1, forge))
    assert any("digest mismatch" in p for r in forged.rounds for p in r.problems)
