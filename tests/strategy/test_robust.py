"""One hostile site of ten: FedAvg breaks, median / trimmed mean / Krum hold; the auditor agrees."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pytest

from churn.rounds import ClientUpdate
from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from kafka_bridge.verify_rules import expected_global
from strategy.factory import StrategyContext, build_strategy, strategy_names
from tests.strategy.recorder import Recorder

ATTACK = ["client.attack=scale", "client.attack_scale=-10", "client.attack_partitions=[3]"]


def _telco(telco_csv: Path, *extra: str, observers: list | None = None) -> dict:
    cfg = compose_config(["engine=inprocess", "data=telco", f"data.path={telco_csv}",
                          "num_clients=10", "num_rounds=5", *extra])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow of the poisoned model
        return run_job(cfg, run_id="robust", output_dir=None, observers=observers or [])


@functools.lru_cache(maxsize=1)
def _honest_auc(telco_csv: Path) -> float:
    return _telco(telco_csv)["final"]["federated_auc"]


def test_a_scaled_update_ruins_plain_fedavg(telco_csv: Path) -> None:
    attacked = _telco(telco_csv, *ATTACK)["final"]["federated_auc"]
    assert attacked < _honest_auc(telco_csv) - 0.2


@pytest.mark.parametrize("strategy", ["median", "trimmed_mean", "krum"])
def test_robust_aggregation_keeps_the_honest_auc(telco_csv: Path, tmp_path: Path,
                                                 strategy: str) -> None:
    from kafka_bridge.observer import KafkaObserver
    from kafka_bridge.verify import verify_events
    from tests.kafka_bridge.helpers import dead_bootstrap, observer_config, spooled_events

    spool = tmp_path / "spool"
    observer = KafkaObserver(observer_config(spool, dead_bootstrap(), "robust",
                                             flush_timeout_s=0.0, connect_timeout_s=0.2))
    recorder = Recorder()
    results = _telco(telco_csv, f"strategy={strategy}", *ATTACK, observers=[observer, recorder])
    assert abs(results["final"]["federated_auc"] - _honest_auc(telco_csv)) < 0.01
    assert all(r.aggregation == strategy for r in recorder.records)
    verdict = verify_events(spooled_events(spool))  # the auditor recomputes the robust rule
    assert verdict.ok, verdict.problems + [p for r in verdict.rounds for p in r.problems]
    assert [r.average for r in verdict.rounds] == ["ok"] * 5


def _updates(values: list[float], sizes: list[int] | None = None) -> list[ClientUpdate]:
    sizes = sizes or [10] * len(values)
    return [ClientUpdate(node_id=i, partition_id=i, num_examples=n, metrics={"m": v},
                         arrays=[np.full((1, 3), v), np.array([v])])
            for i, (v, n) in enumerate(zip(values, sizes, strict=True))]


@pytest.mark.parametrize("name, options, expected", [
    ("median", {}, 2.0), ("trimmed_mean", {"beta": 0.2}, 2.0),
    ("krum", {"num_malicious_nodes": 1, "num_nodes_to_select": 0}, 2.0),
    ("krum", {"num_malicious_nodes": 1, "num_nodes_to_select": 1}, 2.0),
])
def test_each_rule_ignores_the_outlier_and_matches_the_auditor(name: str, options: dict,
                                                               expected: float) -> None:
    strategy = build_strategy(StrategyContext(
        options={"name": name, **options}, num_features=3, spec_fingerprint="x", hub=None,
        node_partitions={}, sampling_seed=0, C=1.0, num_nodes=5))
    updates = _updates([1.0, 2.0, 3.0, 2.0, 1000.0], [10, 10, 10, 10, 10])
    arrays, _ = strategy.aggregate_updates(1, updates)
    assert np.allclose(arrays[0], expected, atol=1.0 if name == "trimmed_mean" else 0.0)
    assert arrays[0].max() < 10
    audit = expected_global(name, options, [(u.node_id, u.num_examples, u.arrays) for u in updates])
    for ours, theirs in zip(arrays, audit, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_factory_knows_every_strategy_and_refuses_others() -> None:
    assert set(strategy_names()) >= {"fedavg", "fedprox", "newton", "median", "trimmed_mean",
                                     "krum"}
    with pytest.raises(ValueError, match="unknown strategy 'fedsgd'"):
        build_strategy(StrategyContext(options={"name": "fedsgd"}, num_features=3,
                                       spec_fingerprint="x", hub=None, node_partitions={},
                                       sampling_seed=0, C=1.0, num_nodes=2))
