"""privacy=dp: the accountant against dp-accounting, clipping, seeded noise, results.json and Kafka."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from dp_accounting import dp_event, pld, rdp
from dp_accounting.privacy_accountant import NeighboringRelation

from churn.privacy_accounting import calibrate_noise, epsilon_after
from churn.rounds import RoundObserver, RoundRecord
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.events import array_digest, make_event
from kafka_bridge.reader import EventReader
from kafka_bridge.verify import verify_events
from strategy.privacy import clip_delta
from tests.dashboard.publish import chart_data
from tests.dashboard.test_pages import chart_titled, open_page
from tests.kafka_bridge.helpers import unique_prefix

SMALL = ["engine=inprocess", "data.num_rows=1500", "num_clients=4", "num_rounds=3", "privacy=dp"]


class Keep(RoundObserver):
    """Keeps every RoundRecord (arrays included) of a run."""

    def __init__(self) -> None:
        self.records: list[RoundRecord] = []

    def run_started(self, info): ...
    def round_started(self, server_round, sampled_nodes): ...
    def round_finished(self, record): self.records.append(record)
    def run_finished(self, summary): ...
    def run_failed(self, error): ...


def _run(tmp_path: Path | None, *overrides: str) -> tuple[dict, list[RoundRecord]]:
    cfg = compose_config([*SMALL, *overrides], output_dir=tmp_path)
    keep = Keep()
    results = run_job(cfg, run_id="dp-test", output_dir=tmp_path, observers=[keep])
    return results, keep.records


def _norm(arrays: list[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.sum(np.square(a))) for a in arrays))


@pytest.mark.parametrize("rounds,z,q", [(10, 1.1, 1.0), (8, 1.0, 0.2), (5, 3.0, 0.5)])
def test_rdp_epsilon_matches_dp_accounting(rounds, z, q):
    reference = rdp.RdpAccountant(neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE)
    for _ in range(rounds):  # one release at a time, as the strategy composes them
        reference.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(z)))
    assert epsilon_after(rounds, z, q, 1e-5) == pytest.approx(reference.get_epsilon(1e-5), rel=1e-12)


def test_pld_epsilon_matches_dp_accounting_and_is_tighter():
    reference = pld.PLDAccountant(neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE)
    reference.compose(dp_event.GaussianDpEvent(4.0), 3)
    value = epsilon_after(3, 4.0, 1.0, 1e-5, "pld")
    assert value == pytest.approx(reference.get_epsilon(1e-5), rel=1e-6)  # same PLD, q=1 wrapper
    assert value < epsilon_after(3, 4.0, 1.0, 1e-5, "rdp")


def test_calibrated_noise_meets_the_target():
    for target in (0.5, 2.0, 8.0):
        z = calibrate_noise(target, 5, 1.0, 1e-5)
        assert target * 0.999 <= epsilon_after(5, z, 1.0, 1e-5) <= target
    assert calibrate_noise(math.inf, 5, 1.0, 1e-5) == 0.0
    assert epsilon_after(5, 0.0, 1.0, 1e-5) == math.inf


def test_clip_delta_bounds_the_norm():
    rng = np.random.default_rng(0)
    reference = [rng.normal(size=(1, 6)), rng.normal(size=(1,))]
    big = [reference[0] + 10, reference[1] - 10]
    delta, before = clip_delta(big, reference, 1.5)
    assert before > 1.5 and _norm(delta) == pytest.approx(1.5, rel=1e-12)
    small = [reference[0] + 1e-3, reference[1]]
    delta, before = clip_delta(small, reference, 1.5)
    assert _norm(delta) == pytest.approx(before) and np.allclose(delta[0], 1e-3)


def test_dp_run_clips_on_the_clients_and_reports_epsilon(tmp_path):
    results, records = _run(tmp_path, "privacy.clipping_norm=0.05", "privacy.noise_multiplier=1.5",
                            "privacy.secret_noise_seed=7", "num_clients=6",
                            "strategy.fraction_train=0.5")
    previous = [np.zeros((1, results["num_features"])), np.zeros(1)]
    sampled = []
    for record in records:
        assert record.privacy is not None
        assert record.privacy["clipped_on_server"] == 0  # Flower's fixedclipping_mod did it
        for update in record.updates:
            assert _norm([u - p for u, p in zip(update.arrays, previous, strict=True)]) <= 0.05 * (
                1 + 1e-9)
        assert record.privacy["denominator"] == 3.0  # q * N, whatever the Poisson draw
        sampled.append(len(record.sampled_nodes))
        previous = record.global_arrays
    written = json.loads((tmp_path / "results.json").read_text())
    expected = [epsilon_after(t, 1.5, 0.5, 1e-5) for t in (1, 2, 3)]
    assert written["privacy"]["epsilon_per_round"] == pytest.approx(expected, rel=1e-12)
    assert written["privacy"]["epsilon"] == pytest.approx(expected[-1], rel=1e-12)
    assert [r["privacy"]["epsilon"] for r in written["rounds"][1:]] == pytest.approx(expected)
    assert written["config"]["privacy"]["secret_noise_seed"] == "***"
    assert written["config"]["privacy"]["noise_multiplier"] == 1.5


def test_noise_is_added_seeded_and_reproducible():
    common = ("privacy.noise_multiplier=2.0", "privacy.clipping_norm=1.0", "num_rounds=2")
    a, rec_a = _run(None, *common, "privacy.secret_noise_seed=1")
    b, rec_b = _run(None, *common, "privacy.secret_noise_seed=1")
    c, rec_c = _run(None, *common, "privacy.secret_noise_seed=2")
    for x, y in zip(rec_a[-1].global_arrays, rec_b[-1].global_arrays, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(rec_a[-1].global_arrays[0], rec_c[-1].global_arrays[0])
    # Round 1 from the zero model: the release minus the mean of the clipped deltas is the
    # noise divided by N = 4, with std z*S/N = 0.5 per coordinate.
    first = rec_a[0]
    mean = sum(u.arrays[0] for u in first.updates) / 4.0
    noise = (first.global_arrays[0] - mean).ravel() * 4.0
    assert 1.2 < float(np.std(noise)) < 2.8 and abs(float(np.mean(noise))) < 1.0
    assert a["privacy"]["epsilon"] == pytest.approx(epsilon_after(2, 2.0, 1.0, 1e-5))


def test_privacy_is_off_by_default():
    cfg = compose_config(["engine=inprocess"])
    assert cfg["privacy"] == {"name": "none"}


@pytest.mark.kafka
def test_kafka_carries_epsilon_audit_passes_and_dashboard_shows_it(running_kafka, tmp_path, capsys,
                                                                   monkeypatch):
    prefix = unique_prefix()
    bridge = ["bridge=kafka", f"bridge.bootstrap_servers={running_kafka.bootstrap}",
              f"bridge.topic_prefix={prefix}", f"bridge.spool_dir={tmp_path / 'spool'}"]
    cfg = compose_config([*SMALL, "privacy.target_epsilon=3", "privacy.secret_noise_seed=5",
                          *bridge], output_dir=tmp_path)
    results = run_job(cfg, run_id=f"dp-{prefix}", output_dir=tmp_path)
    with EventReader(running_kafka.bootstrap, prefix) as reader:
        events = reader.read_run(f"dp-{prefix}")
    started = events[0].payload["config"]["privacy"]
    assert started["name"] == "dp" and started["target_epsilon"] == 3.0
    assert started["secret_noise_seed"] == "***"
    aggregated = [e.payload for e in events if e.type == "round_aggregated"]
    assert [p["privacy"]["epsilon"] for p in aggregated] == pytest.approx(
        results["privacy"]["epsilon_per_round"])
    assert aggregated[-1]["privacy"]["epsilon"] <= 3.0
    code = audit_main(["verify", "--run", f"dp-{prefix}", "--bootstrap", running_kafka.bootstrap,
                       "--topic-prefix", prefix])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "noise ok" in out and "differential privacy" in out
    # The auditor notices a release without its noise (the noise-free average, digest redone).
    updates = [e.payload for e in events if e.type == "client_update" and e.round == 2]
    previous = np.asarray(aggregated[0]["coef"])
    deltas = sum(np.asarray(u["coef"]) - previous for u in updates)
    agg = next(e for e in events if e.type == "round_aggregated" and e.round == 2)
    coef = previous + deltas / aggregated[1]["privacy"]["denominator"]
    arrays = [coef, np.asarray(agg.payload["intercept"])]
    forged = make_event(agg.run_id, agg.seq, agg.type,
                        {**agg.payload, "coef": coef.tolist(), "digest": array_digest(arrays)})
    verdict = verify_events([forged if e is agg else e for e in events])
    assert not verdict.ok and "noise" in " ".join(verdict.rounds[1].problems)
    at = open_page(monkeypatch, running_kafka.bootstrap, prefix, "app_pages/run_detail.py",
                   run=f"dp-{prefix}")
    assert any("client-level DP: ε = " in i.value and "δ = 1e-05" in i.value for i in at.info)
    epsilon = chart_data(chart_titled(at, "privacy spent: ε per round"))
    spent = epsilon[epsilon["series"] == "ε spent"]
    assert list(spent["round"]) == [1, 2, 3]
    assert list(spent["value"]) == pytest.approx(results["privacy"]["epsilon_per_round"])
