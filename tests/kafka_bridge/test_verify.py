"""Audit logic on synthetic runs (no broker): passes when consistent, fails on any tampering."""

from __future__ import annotations

import numpy as np
import pytest

from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.events import array_digest, decode_arrays, parse_event
from kafka_bridge.jsonl import write_jsonl
from kafka_bridge.verify import verify_events, weighted_average
from tests.kafka_bridge.helpers import offline_run, tampered


@pytest.fixture
def run_events(tmp_path):
    return offline_run(tmp_path, rounds=3, clients=4)


def _aggregated(events, r):
    return next(e for e in events if e.type == "round_aggregated" and e.round == r)


def test_consistent_run_passes_with_exact_averages(run_events):
    v = verify_events(run_events)
    assert v.ok, v.problems
    assert v.status == "finished" and len(v.rounds) == 3
    assert all(r.average == "ok" and r.max_abs_diff == 0.0 for r in v.rounds)
    assert [r.rejected for r in v.rounds] == [0, 1, 0]


def test_tampered_global_coef_fails_on_digest_and_average(run_events):
    agg = _aggregated(run_events, 2)
    coef = np.asarray(agg.payload["coef"])
    coef[0, 0] += 1e-9
    bad = parse_event(tampered(agg, coef=coef.tolist()))
    v = verify_events([bad if e is agg else e for e in run_events])
    assert not v.ok
    r2 = v.rounds[1]
    assert r2.average == "MISMATCH" and r2.max_abs_diff == pytest.approx(1e-9, rel=1e-3)
    assert "global model digest mismatch" in r2.problems
    assert v.rounds[0].ok and v.rounds[2].ok


def test_tampered_coef_with_recomputed_digest_still_fails_on_average(run_events):
    agg = _aggregated(run_events, 1)
    arrays = decode_arrays(agg.payload)
    arrays[1] = arrays[1] + 1e-11
    bad = parse_event(tampered(agg, intercept=arrays[1].tolist(), digest=array_digest(arrays)))
    v = verify_events([bad if e is agg else e for e in run_events])
    assert not v.ok and v.rounds[0].average == "MISMATCH"
    assert v.rounds[0].digests == "ok"


def test_tampered_client_update_fails(run_events):
    upd = next(e for e in run_events if e.type == "client_update")
    bad = parse_event(tampered(upd, num_examples=upd.payload["num_examples"] + 1))
    v = verify_events([bad if e is upd else e for e in run_events])
    assert not v.ok
    assert any("num_examples" in p for p in v.rounds[0].problems)


def test_seq_gap_fails(run_events):
    v = verify_events([e for e in run_events if e.seq != 5])
    assert not v.ok and any("seq gap: 1 missing (5)" in p for p in v.problems)


def test_same_seq_in_two_events_and_conflicting_copies_fail(run_events):
    agg = _aggregated(run_events, 3)
    same_seq_new_id = parse_event(tampered(agg, server_metrics={"auc": 0.99}).replace(
        agg.event_id.encode(), b"f" * 32))
    v = verify_events([*run_events, same_seq_new_id])
    assert any(f"seq {agg.seq} is used by 2" in p for p in v.problems)
    same_id_other_content = parse_event(tampered(agg, server_metrics={"auc": 0.99}))
    v = verify_events([*run_events, same_id_other_content])
    assert any("differing copies" in p for p in v.problems)


def test_exact_redeliveries_are_fine(run_events):
    v = verify_events(run_events + run_events[3:9])
    assert v.ok and v.duplicates == 6


def test_incomplete_run_fails_unless_allowed(run_events):
    head = [e for e in run_events if e.type != "run_finished"]
    assert not verify_events(head).ok
    v = verify_events(head, allow_incomplete=True)
    assert v.ok and v.status == "incomplete"


def test_digest_only_mode_says_what_it_could_not_recompute(tmp_path):
    events = offline_run(tmp_path, mirror_client_updates=False)
    assert all("coef" not in e.payload for e in events if e.type == "client_update")
    v = verify_events(events)
    assert v.ok, v.problems
    assert {r.average for r in v.rounds} == {"not mirrored"}
    assert any("could NOT be recomputed" in n for n in v.notes)
    agg = _aggregated(events, 1)
    bad = parse_event(tampered(agg, coef=[[0.0] * len(agg.payload["coef"][0])]))
    assert not verify_events([bad if e is agg else e for e in events]).ok


def test_weighted_average_is_order_independent_and_matches_the_strategy():
    from strategy.aggregation import weighted_average as strategy_average

    rng = np.random.default_rng(1)
    ups = [(n, int(rng.integers(1, 10_000)), [rng.normal(size=(1, 30)) * 1e3,
                                              rng.normal(size=(1,))]) for n in range(12)]
    ours = weighted_average(ups)
    shuffled = weighted_average([ups[i] for i in rng.permutation(len(ups))])
    theirs = strategy_average([n for _, n, _ in ups], [a for _, _, a in ups])
    for a, b, c in zip(ours, shuffled, theirs, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_audit_cli_on_exported_files(run_events, tmp_path, capsys):
    good = tmp_path / "good.jsonl"
    write_jsonl(run_events, good)
    assert audit_main(["verify", "--events", str(good)]) == 0
    out = capsys.readouterr().out
    assert "VERDICT: PASS" in out and "round" in out
    agg = _aggregated(run_events, 2)
    coef = np.asarray(agg.payload["coef"])
    coef[0, -1] *= 1.5
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(tampered(e, coef=coef.tolist()) if e is agg else e.to_bytes()
                               for e in run_events) + b"\n")
    assert audit_main(["verify", "--events", str(bad), "--run", agg.run_id]) == 1
    assert "FAIL" in capsys.readouterr().out
    gap = tmp_path / "gap.jsonl"
    write_jsonl([e for e in run_events if e.seq != 2], gap)
    assert audit_main(["verify", "--events", str(gap)]) == 1
    assert "seq gap" in capsys.readouterr().out


def test_adversarial_shapes_are_reported_not_crashing(run_events):
    agg = _aggregated(run_events, 1)
    bad = parse_event(tampered(agg, shapes=[[3, 7], [1]]))
    upd = next(e for e in run_events if e.type == "client_update")
    worse = parse_event(tampered(upd, participants="x", shapes=[[2, 2], [5]]))
    v = verify_events([bad if e is agg else worse if e is upd else e for e in run_events])
    assert not v.ok
    problems = " ".join(v.rounds[0].problems)
    assert "global arrays unreadable" in problems and "arrays unreadable" in problems
