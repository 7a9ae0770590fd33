"""secure=secagg with dropouts: the survivors' sum equals plain FedAvg, beyond n - t it aborts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from churn import secure_protocol as W
from churn.rounds import RoundRecord
from clients.behaviour import SimulatedDropout
from fedchurn.config import compose_config
from fedchurn.engines.inprocess import InProcessGrid
from fedchurn.simulate import run_job
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.reader import EventReader
from tests.kafka_bridge.helpers import unique_prefix
from tests.strategy.test_privacy import Keep

# 6 sites, min_sites 2, fraction 0.5: t = 3, so up to n - t = 3 sites may drop.
SIX = ["engine=inprocess", "data.num_rows=1500", "num_clients=6", "num_rounds=3"]
SECURE = ["secure=secagg", "secure.min_sites=2", "secure.threshold_fraction=0.5"]


class Drops:
    """A ClientApp wrapper: in round `at`, partitions `before` vanish instead of sending their
    masked vector (after key agreement and sharing), partitions `after` vanish after sending
    it (they ignore the unmask query). Both look like Flower nodes that went away."""

    def __init__(self, before: set[int], after: set[int], at: int = 2) -> None:
        self.before, self.after, self.at = before, after, at

    def __call__(self, inner):
        def app(message, context):
            config = message.content.get("config")
            partition = context.node_config["partition-id"]
            kind = message.metadata.message_type
            this_round = config is not None and config.get("server-round") == self.at
            if kind == "train" and this_round and partition in self.before:
                raise SimulatedDropout(f"partition {partition} left before its masked vector")
            if kind == W.QUERY_UNMASK and partition in self.after and \
                    str(config[W.ROUND_TAG]).split(":")[1] == str(self.at):
                raise SimulatedDropout(f"partition {partition} left after its masked vector")
            return inner(message=message, context=context)
        return app


def _run(overrides: list[str], wrap=None) -> tuple[dict, list[RoundRecord]]:
    keep = Keep()
    results = run_job(compose_config(overrides), run_id="secagg-drops", output_dir=None,
                      observers=[keep], wrap_client_app=wrap)
    return results, keep.records


_plain_cache: dict[frozenset[int], list[RoundRecord]] = {}


def _plain(before: set[int]) -> list[RoundRecord]:
    """Plain FedAvg where the same sites miss round 2 (those dropping after their masked
    vector did contribute it, so they are in the plain sum)."""
    key = frozenset(before)
    if key not in _plain_cache:
        _plain_cache[key] = _run(SIX, Drops(before, set()))[1]
    return _plain_cache[key]


@pytest.mark.parametrize(("before", "after"), [
    (set(), set()), ({1}, set()), (set(), {2}), ({0, 1}, {4}), ({0, 1, 2}, set())],
    ids=["none", "one-before", "one-after", "n-t-mixed", "n-t-before"])
def test_the_survivors_sum_is_plain_fedavg_over_the_survivors(before, after):
    _, secure = _run([*SIX, *SECURE], Drops(before, after))
    plain = _plain(before)
    second = secure[1]
    assert second.secure.get("aborted") is None
    assert len(second.secure["participants"]) == 6 - len(before)
    assert len(second.secure["dropped"]) == len(before)
    assert second.secure["threshold"] == 3
    for p, s in zip(plain, secure, strict=True):
        assert s.secure["num_examples"] == sum(u.num_examples for u in p.updates)
        for a, b in zip(p.global_arrays, s.global_arrays, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-9)  # fixed point, 2^-32 steps
    assert len(second.missing) == len(before) + len(after)


@pytest.mark.parametrize(("before", "after", "reason"), [
    ({0, 1, 2, 3}, set(), "2 masked vector(s), fewer than the threshold t=3"),
    ({0, 1}, {3, 4}, "2 site(s) answered the unmask query, fewer than the threshold t=3")],
    ids=["beyond-before", "beyond-after"])
def test_beyond_n_minus_t_dropouts_the_round_fails_and_the_model_stays(before, after, reason):
    _, records = _run([*SIX, *SECURE], Drops(before, after))
    first, second, third = records
    assert reason in second.secure["aborted"]
    assert second.secure["participants"] == [] and second.train_metrics == {}
    for a, b in zip(first.global_arrays, second.global_arrays, strict=True):
        np.testing.assert_array_equal(a, b)
    assert third.secure.get("aborted") is None and len(third.secure["participants"]) == 6


def test_a_round_below_min_sites_is_not_started():
    sent: list[str] = []
    original = InProcessGrid.push_messages

    def spy(self, messages):
        messages = list(messages)
        sent.extend(m.metadata.message_type for m in messages)
        return original(self, messages)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(InProcessGrid, "push_messages", spy)
        results, records = _run([*SIX[:2], "num_clients=3", "num_rounds=2", "secure=secagg",
                                 "secure.min_sites=4"])
    assert "fewer than secure.min_sites=4" in results["rounds"][1]["secure"]["aborted"]
    for record in records:
        assert "round not started: 3 site(s) sent keys, fewer than secure.min_sites=4" in \
            record.secure["aborted"]
        assert not np.any(record.global_arrays[0])  # still the initial all-zero model
    assert "train" not in sent and W.QUERY_SHARES not in sent  # only key queries went out


def test_the_server_never_gets_both_shares_of_one_site():
    batches: list[list] = []  # every reply the server receives, one list per exchange
    original = InProcessGrid.send_and_receive

    def spy(self, messages, *, timeout=None):
        replies = list(original(self, messages, timeout=timeout))
        batches.append(replies)
        return replies

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(InProcessGrid, "send_and_receive", spy)
        _run([*SIX, *SECURE], Drops({1}, {2}))
    unmask = [b for b in batches if b and b[0].metadata.message_type == W.QUERY_UNMASK]
    assert [len(b) for b in unmask] == [6, 4, 6]  # round 2: 5 survivors, 1 of them gone
    for batch in unmask:  # per round: no site has both its seed and its key shares revealed
        seed_of = {n for m in batch for n in m.content["info"][W.SEED_SHARES_OF]}
        key_of = {n for m in batch for n in m.content["info"][W.KEY_SHARES_OF]}
        assert seed_of and not seed_of & key_of
    assert [len({n for m in b for n in m.content["info"][W.KEY_SHARES_OF]}) for b in unmask] \
        == [0, 1, 0]
    for batch in batches:
        for msg in batch:
            kind = msg.metadata.message_type
            if kind == "train":  # one masked vector, no row count or metric in clear
                assert set(msg.content.keys()) == {W.MASKED, "info"}
            elif kind == W.QUERY_SHARES:  # ciphertexts only (ChaCha20-Poly1305, 164 bytes)
                info = msg.content["info"]
                assert set(info) == {"status", W.SHARE_TO, W.SHARE_CIPHERTEXTS}
                assert {len(c) for c in info[W.SHARE_CIPHERTEXTS]} == {164}


def test_secure_with_dp_releases_noise_in_every_round_even_when_aborted():
    results, records = _run([*SIX[:2], "num_clients=4", "num_rounds=3", "secure=secagg", "secure.min_sites=5",
                             "privacy=dp", "privacy.target_epsilon=2",
                             "privacy.secret_noise_seed=3"])
    assert [r.privacy["releases"] for r in records] == [1, 2, 3]
    assert all("round not started" in r.secure["aborted"] for r in records)
    epsilons = [r.privacy["epsilon"] for r in records]
    assert epsilons == sorted(epsilons) and epsilons[0] > 0
    assert results["privacy"]["epsilon"] == pytest.approx(2.0, rel=1e-3)
    assert not np.array_equal(records[0].global_arrays[0], records[1].global_arrays[0])


@pytest.mark.kafka
def test_secure_dp_with_dropouts_on_kafka_mirrors_sums_only_and_audits(running_kafka, tmp_path,
                                                                       capsys):
    prefix = unique_prefix()
    run_id = f"sd-{prefix}"
    bridge = ["bridge=kafka", f"bridge.bootstrap_servers={running_kafka.bootstrap}",
              f"bridge.topic_prefix={prefix}", f"bridge.spool_dir={tmp_path / 'spool'}"]
    cfg = compose_config([*SIX, *SECURE, "privacy=dp", "privacy.target_epsilon=4",
                          "privacy.secret_noise_seed=5", *bridge])
    run_job(cfg, run_id=run_id, output_dir=None, wrap_client_app=Drops({1}, {2}))
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(run_id)
    assert "client_update" not in [e.type for e in events]
    blob = json.dumps([e.payload for e in events])
    assert "secagg-" not in blob and '"masked"' not in blob  # no vector, share or key field
    aggregated = [e.payload for e in events if e.type == "round_aggregated"]
    assert len(aggregated) == 3 and all(p["secure_aggregation"] for p in aggregated)
    assert [p["privacy"]["releases"] for p in aggregated] == [1, 2, 3]
    # q = 1: all six sampled; in round 2 one left before and one after its masked vector
    assert [len(p["participants"]) for p in aggregated] == [6, 5, 6]
    code = audit_main(["verify", "--run", run_id, "--bootstrap", running_kafka.bootstrap,
                       "--topic-prefix", prefix])
    out = capsys.readouterr().out
    assert code == 0, out


def test_twenty_sites_with_seeded_dropouts_match_plain_fedavg_over_the_same_survivors():
    """The issue's acceptance run: secure=secagg client.dropout_rate=0.1 num_clients=20."""
    run = ["engine=inprocess", "num_clients=20", "client.dropout_rate=0.1", "num_rounds=3"]
    _, plain = _run(run)
    _, secure = _run([*run, "secure=secagg"])
    dropped = 0
    for p, s in zip(plain, secure, strict=True):
        assert s.secure.get("aborted") is None
        assert sorted(s.secure["participants"]) == sorted(u.node_id for u in p.updates)
        dropped += len(s.secure["dropped"])
        for a, b in zip(p.global_arrays, s.global_arrays, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    assert dropped > 0  # the seeded draws do drop sites (3, 3, 1 in these rounds)


class SiteThreshold(Drops):
    """Drops, and every site's own node config asks for a higher threshold than the server's."""

    def __init__(self, min_sites: int, before: set[int], after: set[int]) -> None:
        super().__init__(before, after)
        self.min_sites = min_sites

    def __call__(self, inner):
        dropping = super().__call__(inner)

        def app(message, context):
            context.node_config[W.MIN_SITES] = self.min_sites
            return dropping(message, context)
        return app


def test_a_site_threshold_above_the_servers_aborts_instead_of_a_wrong_model():
    """Sites share with t = 5 (their node config), the server assumes t = 3: with 4 unmask
    answers it cannot rebuild the secrets, detects it and keeps the model."""
    _, records = _run([*SIX, *SECURE], SiteThreshold(5, set(), {3, 4}))
    first, second, third = records
    assert first.secure.get("aborted") is None and len(first.secure["participants"]) == 6
    assert "inconsistent shares" in second.secure["aborted"]
    for a, b in zip(first.global_arrays, second.global_arrays, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.flower
def test_flower_engine_secagg_with_dropouts_matches_plain_fedavg(tmp_path):
    """Flower's simulation (Ray) keeps each node's state between the four exchanges and turns
    a dropout into an error reply: still `missing`, and the survivors' sum is FedAvg."""
    run = ["data.num_rows=1500", "num_clients=6", "num_rounds=2", "client.dropout_rate=0.2"]
    # t = 2 of 6: the seeded draws leave 2 sites in round 1 (seed 42)
    secure = ["secure=secagg", "secure.min_sites=2", "secure.threshold_fraction=0.3"]
    cfg = compose_config(["engine=flower", *run, *secure], output_dir=tmp_path)
    keep = Keep()
    run_job(cfg, run_id="flower-secagg", output_dir=tmp_path, observers=[keep])
    _, plain = _run(["engine=inprocess", *run])
    assert sum(len(p.missing) for p in plain) > 0
    for p, s in zip(plain, keep.records, strict=True):
        assert s.secure.get("aborted") is None
        assert s.rejected == [] and all("simulated dropout" in m.reason for m in s.missing)
        assert len(s.missing) == len(p.missing)
        assert s.secure["num_examples"] == sum(u.num_examples for u in p.updates)
        for a, b in zip(p.global_arrays, s.global_arrays, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
