"""secure=secagg: masks cancel, FedAvg is reproduced, the server and Kafka never hold one update."""

from __future__ import annotations

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization

from churn import secure_crypto as C
from churn import secure_protocol as W
from churn.rounds import RoundRecord
from clients import secure_vector as S
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.events import make_event
from kafka_bridge.reader import EventReader
from kafka_bridge.verify import verify_events
from strategy.secure import SecureChurnFedAvg
from tests.kafka_bridge.helpers import unique_prefix
from tests.strategy.test_privacy import Keep

SMALL = ["engine=inprocess", "data.num_rows=1500", "num_clients=4", "num_rounds=3"]
RAW = serialization.Encoding.Raw


def _run(*overrides: str, wrap=None) -> tuple[dict, list[RoundRecord]]:
    cfg = compose_config([*SMALL, *overrides])
    keep = Keep()
    results = run_job(cfg, run_id="secagg-test", output_dir=None, observers=[keep],
                      wrap_client_app=wrap)
    return results, keep.records


def test_pairwise_and_self_masks_cancel_once_the_seeds_are_known():
    mask_keys = [C.new_key_pair() for _ in range(3)]
    seeds = [C.new_seed() for _ in range(3)]
    peers = [11, 22, 33]
    public = [k[1] for k in mask_keys]
    plain = [np.array([1.5, -2.25, 1e4]), np.array([0.0, 3.0, -7.5]), np.array([-1e-9, 0.5, 2.0])]
    masked = [S.mask_vector(W.encode_fixed(v, 32, 3), peers[i], peers, public, mask_keys[i][0],
                            seeds[i], "r1") for i, v in enumerate(plain)]
    total = masked[0] + masked[1] + masked[2]
    for node, seed in zip(peers, seeds, strict=True):
        total = total - C.self_mask(seed, "r1", node, 3)
    np.testing.assert_allclose(W.decode_fixed(total, 32), sum(plain), atol=3 * 2.0 ** -33)
    alone = W.decode_fixed(masked[0], 32)
    assert np.max(np.abs(alone - plain[0])) > 1e6  # one masked vector says nothing about v_0


def test_secure_run_gives_the_plain_fedavg_model():
    plain, plain_records = _run()
    secure, secure_records = _run("secure=secagg")
    assert len(plain_records) == len(secure_records) == 3
    for p, s in zip(plain_records, secure_records, strict=True):
        for a, b in zip(p.global_arrays, s.global_arrays, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-9)  # fixed point, 2^-32 steps
        assert s.updates == [] and s.secure is not None
        assert s.secure["num_examples"] == sum(u.num_examples for u in p.updates)
        assert sorted(s.secure["participants"]) == sorted(u.node_id for u in p.updates)
        for name, value in p.train_metrics.items():
            assert s.train_metrics[name] == pytest.approx(value, abs=1e-8)
    assert secure["final"]["federated_auc"] == pytest.approx(plain["final"]["federated_auc"],
                                                              abs=1e-9)


def test_the_server_only_receives_masked_vectors(monkeypatch):
    received: list = []
    original = SecureChurnFedAvg.aggregate_train

    def spy(self, server_round, replies):
        replies = list(replies)
        received.extend(replies)
        return original(self, server_round, replies)

    monkeypatch.setattr(SecureChurnFedAvg, "aggregate_train", spy)
    results, records = _run("secure=secagg", "num_rounds=2")
    assert len(received) == 8
    for msg in received:
        assert set(msg.content.keys()) == {W.MASKED, "info"}
        assert not msg.content.metric_records  # no num-examples, no metrics in clear
        info = dict(msg.content["info"])
        assert set(info) <= {"status", "partition-id", "spec-fingerprint"}
        (vector,) = msg.content[W.MASKED].to_numpy_ndarrays()
        assert vector.dtype == np.uint64
        assert np.max(np.abs(W.decode_fixed(vector, 32))) > 1e6  # looks random, not n*w
    for record in records:
        assert record.updates == []


def test_privacy_and_secure_aggregation_together():
    results, records = _run("secure=secagg", "privacy=dp", "privacy.target_epsilon=2",
                            "privacy.secret_noise_seed=3")
    assert all(r.privacy and r.secure for r in records)
    assert all(r.secure.get("aborted") is None for r in records), records[0].rejected
    assert [r.secure["contributors"] for r in records] == [4, 4, 4]  # q = 1: every site
    assert results["privacy"]["epsilon"] == pytest.approx(2.0, rel=1e-3)


@pytest.mark.kafka
def test_kafka_carries_only_aggregates_and_the_audit_passes(running_kafka, tmp_path, capsys):
    prefix = unique_prefix()
    bridge = ["bridge=kafka", f"bridge.bootstrap_servers={running_kafka.bootstrap}",
              f"bridge.topic_prefix={prefix}", f"bridge.spool_dir={tmp_path / 'spool'}"]
    cfg = compose_config([*SMALL, "secure=secagg", *bridge])
    run_job(cfg, run_id=f"sa-{prefix}", output_dir=None)
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(f"sa-{prefix}")
    types = [e.type for e in events]
    assert "client_update" not in types and types.count("round_aggregated") == 3
    for event in events:
        if event.type != "round_aggregated":
            assert "coef" not in event.payload and "digest" not in event.payload
    aggregated = [e.payload for e in events if e.type == "round_aggregated"]
    assert all(p["secure_aggregation"] and len(p["participants"]) == 4 for p in aggregated)
    code = audit_main(["verify", "--run", f"sa-{prefix}", "--bootstrap", running_kafka.bootstrap,
                       "--topic-prefix", prefix])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "sum only (secure)" in out and "secure aggregation" in out
    # A per-client update showing up in a secure run is a finding, not a pass.
    leaked = make_event(events[0].run_id, len(events) - 1, "client_update", {
        "round": 1, "node_id": 1, "partition_id": 0, "num_examples": 10, "metrics": {},
        "digest": "0" * 64, "shapes": [[1, 2], [1]]})
    verdict = verify_events([*events[:-1], leaked,
                             make_event(events[0].run_id, len(events), "run_finished",
                                        events[-1].payload)])
    # the envelope is fine, but the writer could not sign: the chain names both events ...
    assert [p.split(" (")[0] for p in verdict.problems] == [
        f"seq {len(events) - 1}", f"seq {len(events)}"], verdict.problems
    assert not verdict.ok and "must never be mirrored" in " ".join(verdict.rounds[0].problems)
