"""`fedchurn audit` against the real broker: pass, tampering, gaps, digest-only runs."""

from __future__ import annotations

import numpy as np
import pytest

from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import cli, raw_send, run_synthetic, tampered, unique_prefix

pytestmark = pytest.mark.kafka


def _audit(kafka, prefix, *args):
    """The real entry point in a subprocess (exit code as the shell sees it)."""
    return cli("fedchurn", "audit", *args, "--bootstrap", kafka.bootstrap, "--topic-prefix", prefix)


def _audit_here(kafka, prefix, capsys, *args):
    """Same CLI in-process (faster): (exit code, stdout)."""
    code = audit_main([*args, "--bootstrap", kafka.bootstrap, "--topic-prefix", prefix])
    return code, capsys.readouterr().out


def test_consistent_run_verifies_and_tampered_copy_fails(running_kafka, tmp_path, capsys):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=3)
    code, out = _audit_here(running_kafka, prefix, capsys, "verify", "--run", run_id)
    assert code == 0, out
    assert "VERDICT: PASS" in out and out.count("PASS") == 4
    code, out = _audit_here(running_kafka, prefix, capsys, "list")
    assert code == 0 and run_id in out and "finished" in out
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


def test_exported_file_with_gap_fails(running_kafka, tmp_path, capsys):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=2)
    out = tmp_path / "run.jsonl"
    code, _ = _audit_here(running_kafka, prefix, capsys, "export", "--run", run_id,
                          "--out", str(out))
    assert code == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 14
    assert audit_main(["verify", "--events", str(out)]) == 0
    out.write_bytes(b"\n".join(lines[:7] + lines[8:]) + b"\n")
    gap = cli("fedchurn", "audit", "verify", "--events", str(out))
    assert gap.returncode == 1 and "seq gap: 1 missing (7)" in gap.stdout


def test_digest_only_run_passes_and_says_what_was_not_recomputed(running_kafka, tmp_path,
                                                                 capsys):
    prefix = unique_prefix()
    run_id, _ = run_synthetic(tmp_path / "s", running_kafka.bootstrap, prefix, rounds=2,
                              mirror_client_updates=False)
    code, out = _audit_here(running_kafka, prefix, capsys, "verify", "--run", run_id)
    assert code == 0, out
    assert "not mirrored" in out and "could NOT be recomputed" in out
