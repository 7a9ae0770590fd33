"""A real federated run mirrored to the real broker verifies; a 1e-9 tampered copy is caught."""

from __future__ import annotations

import json

import numpy as np
import pytest

from churn.model_artifact import load_model
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.jsonl import read_jsonl
from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import cli, tampered, unique_prefix
from tests.kafka_bridge.sim_helpers import (
    SMALL,
    assert_mirrors_run,
    assert_verify_passes,
    bridge_overrides,
    expected_events,
    simulate,
    verdict_rows,
)

pytestmark = pytest.mark.kafka


def test_real_run_verifies_and_a_tampered_round_is_named(running_kafka, tmp_path, capsys):
    prefix, out = unique_prefix(), tmp_path / "run"
    results, bridge, run_id = simulate(out, [*SMALL, "num_rounds=3", *bridge_overrides(
        running_kafka.bootstrap, prefix, tmp_path / "spool")])
    n = expected_events(3, 3)
    assert json.loads((out / "results.json").read_text())["run_id"] == run_id
    assert results["observer_failures"] == []
    assert bridge.inner.last_stats == {"delivered": n, "spooled": n, "pending": 0}

    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(run_id)
    assert_mirrors_run(events, results, clients=3)
    # the last mirrored global model is, bit for bit, the model the run saved
    model = load_model(out / "model.json").named_steps["model"]
    last = [e for e in events if e.type == "round_aggregated"][-1].payload
    assert np.array_equal(np.asarray(last["coef"]), model.coef_)
    assert np.array_equal(np.asarray(last["intercept"]), model.intercept_)

    ok = cli("fedchurn", "audit", "verify", "--run", run_id, "--bootstrap",
             running_kafka.bootstrap, "--topic-prefix", prefix)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert_verify_passes(ok.stdout, rounds=3)

    exported = tmp_path / "run.jsonl"
    assert audit_main(["export", "--run", run_id, "--out", str(exported), "--bootstrap",
                       running_kafka.bootstrap, "--topic-prefix", prefix]) == 0
    assert audit_main(["verify", "--events", str(exported)]) == 0  # the untouched export passes
    capsys.readouterr()
    copy = read_jsonl(exported)
    assert [e.event_id for e in copy] == [e.event_id for e in events]
    i, agg = next((i, e) for i, e in enumerate(copy)
                  if e.type == "round_aggregated" and e.round == 2)
    coef = np.asarray(agg.payload["coef"])
    j = int(np.argmax(np.abs(coef[0])))
    coef[0, j] += 1e-9
    assert coef[0, j] != agg.payload["coef"][0][j]  # the change survives float64 rounding
    lines = exported.read_bytes().splitlines()
    lines[i] = tampered(agg, coef=coef.tolist())
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(b"\n".join(lines) + b"\n")

    bad = cli("fedchurn", "audit", "verify", "--events", str(forged))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    rows = verdict_rows(bad.stdout)
    assert sorted(rows) == [1, 2, 3], bad.stdout
    assert rows[1].endswith("PASS") and rows[3].endswith("PASS"), bad.stdout
    assert "FAIL: global model digest mismatch" in rows[2], bad.stdout
    assert "global model != weighted average (max|diff|=1e-09)" in rows[2], bad.stdout
    # ... and the tamper evidence names the altered event (signed) and what it chains to
    assert f"PROBLEM: seq {agg.seq} (round_aggregated, event {agg.event_id[:12]}): signature " \
           "invalid" in bad.stdout, bad.stdout
    assert "VERDICT: FAIL (3 rounds checked, 1 failed, " in bad.stdout
