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
