"""Tamper evidence (no broker): signatures, the hash chain, the pinned key, v1 readability."""

from __future__ import annotations

import json

from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.events import dumps, parse_event
from kafka_bridge.jsonl import write_jsonl
from kafka_bridge.observer import CollectingProducer, KafkaObserver
from kafka_bridge.signing import load_or_create_key, public_key_hex
from kafka_bridge.synthetic import play, synthetic_run
from kafka_bridge.verify import verify_events
from tests.kafka_bridge.helpers import tampered


def _run(key_file, run_id="chain-run"):
    events = []
    observer = KafkaObserver({"signing_key_file": str(key_file)},
                             producer_factory=lambda: CollectingProducer(events))
    play(observer, synthetic_run(run_id, num_rounds=2, num_clients=3))
    return events, observer.public_key


def _resigned(event, **envelope):
    """The event re-encoded with envelope fields changed (its old signature kept)."""
    d = event.to_dict()
    d.update(envelope)
    return parse_event(dumps(d))


def test_a_signed_run_verifies_and_names_its_key(tmp_path):
    events, key = _run(tmp_path / "k.pem")
    v = verify_events(events, public_key=key)
    assert v.ok, v.problems
    assert v.public_key == key == events[0].payload["public_key"]
    assert all(e.prev for e in events)
    assert {e.type for e in events if e.sig} == {"run_started", "round_aggregated", "run_finished"}
    assert events[-1].payload["event_count"] == len(events)
    assert key == public_key_hex(load_or_create_key(tmp_path / "k.pem"))  # same key reloaded


def test_altered_event_is_named(tmp_path):
    events, key = _run(tmp_path / "k.pem")
    victim = next(e for e in events if e.type == "client_update")
    bad = parse_event(tampered(victim, num_examples=victim.payload["num_examples"] + 1))
    v = verify_events([bad if e is victim else e for e in events], public_key=key)
    assert not v.ok
    assert any(f"seq {victim.seq} (client_update" in p and "not in the signed hash chain" in p
               for p in v.problems), v.problems
    assert any(f"seq {victim.seq} (the event before" in p for p in v.problems), v.problems
    signed = next(e for e in events if e.type == "round_aggregated")
    bad = parse_event(tampered(signed, num_examples=1))
    v = verify_events([bad if e is signed else e for e in events], public_key=key)
    assert any(f"seq {signed.seq} (round_aggregated" in p and "signature invalid" in p
               for p in v.problems), v.problems


def test_deleted_event_is_named(tmp_path):
    events, key = _run(tmp_path / "k.pem")
    gone = events[3]
    v = verify_events([e for e in events if e is not gone], public_key=key)
    assert any(f"seq {gone.seq} (the event before" in p and "missing or altered" in p
               for p in v.problems), v.problems


def test_reordered_events_are_named(tmp_path):
    events, key = _run(tmp_path / "k.pem")
    a, b = events[2], events[3]
    swapped = [_resigned(b, seq=a.seq) if e is b else _resigned(a, seq=b.seq) if e is a else e
               for e in events]
    v = verify_events(swapped, public_key=key)
    named = [p for p in v.problems if "not in the signed hash chain" in p]
    assert any(f"seq {a.seq} ({b.type}" in p for p in named), v.problems
    assert any(f"seq {b.seq} ({a.type}" in p for p in named), v.problems


def test_forged_event_without_the_key_is_named(tmp_path):
    events, key = _run(tmp_path / "k.pem")
    forged = _resigned(events[-1], sig=None)  # a writer's own run_finished, no signature
    v = verify_events([*events[:-1], forged], public_key=key)
    assert any("seq" in p and "(run_finished" in p and "not in the signed hash chain" in p
               for p in v.problems), v.problems
    extra = _resigned(events[2], seq=len(events), event_id="f" * 32)  # appended after the end
    v = verify_events([*events, extra], public_key=key)
    assert any(f"seq {len(events)} (" in p and "not in the signed hash chain" in p
               for p in v.problems), v.problems


def test_a_round_in_progress_is_noted_not_failed(tmp_path):
    events, key = _run(tmp_path / "k.pem")
    last_agg = max(i for i, e in enumerate(events) if e.type == "round_aggregated")
    in_progress = events[:last_agg - 1]  # the last round's updates, not yet signed
    v = verify_events(in_progress, public_key=key, allow_incomplete=True)
    assert v.ok, v.problems
    assert any("not yet covered by a signature" in n for n in v.notes), v.notes


def test_a_whole_run_forged_under_another_key_fails_only_against_the_pinned_key(tmp_path):
    _, ours = _run(tmp_path / "ours.pem")
    forged, theirs = _run(tmp_path / "theirs.pem")
    assert ours != theirs
    assert verify_events(forged).ok  # consistent in itself ...
    v = verify_events(forged, public_key=ours)  # ... but not signed by our deployment
    assert not v.ok and any("not the expected" in p for p in v.problems), v.problems


def test_audit_cli_public_key_and_pinning(tmp_path, capsys):
    events, key = _run(tmp_path / "k.pem")
    path = tmp_path / "run.jsonl"
    write_jsonl(events, path)
    assert audit_main(["public-key", "--key", str(tmp_path / "k.pem")]) == 0
    assert capsys.readouterr().out.strip() == key
    assert audit_main(["verify", "--events", str(path), "--public-key", key]) == 0
    assert f"signed_by={key}" in capsys.readouterr().out
    other = public_key_hex(load_or_create_key(None))
    assert audit_main(["verify", "--events", str(path), "--public-key", other]) == 1
    assert "not the expected" in capsys.readouterr().out
    assert audit_main(["public-key", "--key", str(tmp_path / "none.pem")]) == 2


def test_schema_v1_events_stay_readable_and_say_they_are_unsigned():
    v1 = [json.dumps({"schema_version": 1, "event_id": f"{i:032x}", "run_id": "old", "seq": i,
                      "ts": "2026-01-01T00:00:00.000000Z", "type": t, "payload": p}).encode()
          for i, (t, p) in enumerate([("round_started", {"round": 1, "sampled_nodes": [2**60]}),
                                      ("run_failed", {"error": "x"})])]
    events = [parse_event(b) for b in v1]
    assert events[0].payload["sampled_nodes"] == [2**60]
    v = verify_events(events)
    assert any("schema v1" in n for n in v.notes)
    assert any("schema v1" in p for p in verify_events(events, public_key="00" * 32).problems)


def test_two_signed_histories_under_one_run_id_are_named(tmp_path):
    first, key = _run(tmp_path / "k.pem", run_id="same")
    second, _ = _run(tmp_path / "k.pem", run_id="same")  # same key, same id, another history
    v = verify_events(first + second, "same", public_key=key)
    assert any("different events signed by the run's key" in p for p in v.problems), v.problems
