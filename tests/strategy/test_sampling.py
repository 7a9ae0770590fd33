"""Seeded node sampling: a fraction of sites per round, the same ones on every repeat."""

from __future__ import annotations

from pathlib import Path

from fedchurn.config import compose_config
from fedchurn.simulate import public_config, run_job
from tests.strategy.recorder import Recorder


def _partitions_per_round(tmp_path: Path) -> list[list[int]]:
    recorder = Recorder()
    cfg = compose_config(["engine=inprocess", "data.num_rows=900", "num_clients=6",
                          "num_rounds=3", "strategy.fraction_train=0.5"], output_dir=tmp_path)
    run_job(cfg, run_id="sampling", output_dir=tmp_path, observers=[recorder])
    return [sorted(u.partition_id for u in r.updates) for r in recorder.records]


def test_fraction_train_samples_the_same_sites_on_every_repeat(tmp_path: Path) -> None:
    first = _partitions_per_round(tmp_path / "a")
    assert [len(p) for p in first] == [3, 3, 3]
    assert len({tuple(p) for p in first}) > 1  # rounds draw different sites
    assert _partitions_per_round(tmp_path / "b") == first


def test_secrets_never_reach_results_or_observers() -> None:
    cfg = {"bridge": {"name": "kafka", "sasl_plain_password": "hunter2", "ssl_keyfile": None},
           "num_clients": 3}
    assert public_config(cfg) == {"bridge": {"name": "kafka", "sasl_plain_password": "***",
                                             "ssl_keyfile": None}, "num_clients": 3}
