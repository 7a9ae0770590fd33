"""`python -m fedchurn.audit` against the real broker: pass, tampering, gaps, digest-only runs."""

from __future__ import annotations

import numpy as np
import pytest

from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import cli, raw_send, run_synthetic, tampered, unique_prefix

pytestmark = pytest.mark.kafka


def _audit(kafka, prefix, *args):
    return cli("fedchurn.audit", *args, "--bootstrap", kafka.bootstrap, "--topic-prefix", prefix)


def test_consistent_run_verifies_and_tampered_copy_fails(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=3)
    ok = _audit(running_kafka, prefix, "verify", "--run", run_id)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VERDICT: PASS" in ok.stdout and ok.stdout.count("PASS") == 4
    listing = _audit(running_kafka, prefix, "list")
    assert run_id in listing.stdout and "finished" in listing.stdout
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        agg = next(e for e in reader.read_run(run_id)
                   if e.type == "round_aggregated" and e.round == 2)
    coef = np.asarray(agg.payload["coef"])
    coef[0, 3] += 1e-6
    raw_send(running_kafka.bootstrap, f"{prefix}.rounds", [tampered(agg, coef=coef.tolist())],
             key=run_id.encode())
    bad = _audit(running_kafka, prefix, "verify", "--run", run_id)
    assert bad.returncode == 1, bad.stdout
    assert "differing copies" in bad.stdout and "VERDICT: FAIL" in bad.stdout


def test_exported_file_with_gap_fails(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=2)
    out = tmp_path / "run.jsonl"
    res = _audit(running_kafka, prefix, "export", "--run", run_id, "--out", str(out))
    assert res.returncode == 0, res.stderr
    lines = out.read_bytes().splitlines()
    assert len(lines) == 14
    assert cli("fedchurn.audit", "verify", "--events", str(out)).returncode == 0
    out.write_bytes(b"\n".join(lines[:7] + lines[8:]) + b"\n")
    gap = cli("fedchurn.audit", "verify", "--events", str(out))
    assert gap.returncode == 1 and "seq gap: 1 missing (7)" in gap.stdout


def test_digest_only_run_passes_and_says_what_was_not_recomputed(running_kafka, tmp_path):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=2,
                              mirror_client_updates=False)
    res = _audit(running_kafka, prefix, "verify", "--run", run_id)
    assert res.returncode == 0, res.stdout
    assert "not mirrored" in res.stdout and "could NOT be recomputed" in res.stdout
