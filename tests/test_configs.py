"""Every option of every config group, and every experiment, composes and builds what it names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from churn import protocol as P
from churn.datasets import load_dataset
from churn.partitioning import partition_rows
from churn.split import stratified_split
from churn.synthetic import generate_synthetic_telco
from clients.behaviour import ClientBehaviour
from dashboard.settings import MonitorSettings
from fedchurn import CONF_DIR
from fedchurn.config import compose_config
from fedchurn.engines import ENGINES
from fedchurn.engines.flower import backend_config
from kafka_bridge.config import BridgeConfig
from strategy.factory import StrategyContext, build_strategy
from strategy.fedavg import ChurnFedAvg
from strategy.observer_hub import ObserverHub
from strategy.privacy_setup import private_strategy, with_resolved_privacy

NOT_RUN_GROUPS = {"hydra", "experiment", "dashboard"}  # composed apart (see the tests below)
GROUPS = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir() and p.name not in NOT_RUN_GROUPS)
OPTIONS = [(g, f.stem) for g in GROUPS for f in sorted((CONF_DIR / g).glob("*.yaml"))]
EXPERIMENTS = sorted(f.stem for f in (CONF_DIR / "experiment").glob("*.yaml"))


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small churn CSV with the synthetic (Telco-shaped) columns, for `data=csv`."""
    data = generate_synthetic_telco(400, seed=3)
    frame = data.features.assign(Churn=np.where(data.target == 1, "Yes", "No"))
    path = tmp_path_factory.mktemp("data") / "customers.csv"
    frame.to_csv(path, index=False)
    return path


def overrides_for(group: str, option: str, csv_file: Path) -> list[str]:
    extra = {"data/csv": [f"data.path={csv_file}", "data.target=Churn", "data.positive=Yes",
                          "data.categorical=[Contract,InternetService]",
                          "data.numeric=[tenure,MonthlyCharges]", "data.allow_extra_columns=true"]}
    return [f"{group}={option}", *extra.get(f"{group}/{option}", [])]


def _context(cfg: dict[str, Any], plan: Any = None) -> StrategyContext:
    return StrategyContext(options=cfg["strategy"], num_features=5, spec_fingerprint="f" * 16,
                           hub=ObserverHub([]), node_partitions={}, sampling_seed=0, C=cfg["C"],
                           num_nodes=cfg["num_clients"], num_rounds=cfg["num_rounds"],
                           sampling={}, plan=plan)


def build_data(cfg: dict[str, Any]) -> None:
    data = load_dataset(cfg["data"])
    assert len(data.target) > 100 and set(np.unique(data.target)) == {0, 1}


def build_partition(cfg: dict[str, Any]) -> None:
    data = load_dataset(cfg["data"])
    train, _ = stratified_split(data, cfg["test_size"], cfg["seed"])
    parts = partition_rows(train, cfg["partition"], cfg["num_clients"], cfg["seed"])
    assert len(parts) == cfg["num_clients"]
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(train.target)))


STRATEGY_CLASSES = {"fedavg": "ChurnFedAvg", "fedprox": "ChurnFedProx", "newton": "ChurnNewton",
                    "median": "ChurnMedian", "trimmed_mean": "ChurnTrimmedMean",
                    "krum": "ChurnKrum"}


def build_strategy_group(cfg: dict[str, Any]) -> None:
    strategy = build_strategy(_context(cfg))
    assert type(strategy).__name__ == STRATEGY_CLASSES[cfg["strategy"]["name"]]


def build_client(cfg: dict[str, Any]) -> None:
    behaviour = ClientBehaviour.from_client_config(cfg["client"], cfg["seed"])
    run_config = {**behaviour.to_run_config(), P.SEED: cfg["seed"]}  # the seed travels apart
    assert ClientBehaviour.from_run_config(run_config) == behaviour


def build_engine(cfg: dict[str, Any]) -> None:
    assert cfg["engine"]["name"] in ENGINES
    if cfg["engine"]["name"] == "flower":
        assert backend_config(cfg["engine"])["client_resources"]["num_cpus"] > 0
    else:
        assert cfg["engine"]["workers"] is None or int(cfg["engine"]["workers"]) >= 1


def build_reference(cfg: dict[str, Any]) -> None:
    from churn.experiment import prepare_experiment
    from fedchurn.baselines import compute_baselines

    experiment = prepare_experiment(cfg)
    result = compute_baselines(experiment, experiment.feature_spec(cfg["imputation"]), cfg["C"],
                               local_only=cfg["reference"]["local_only"])
    assert len(result["local"]) == (cfg["num_clients"] if cfg["reference"]["local_only"] else 0)


def build_bridge(cfg: dict[str, Any]) -> None:
    bridge = dict(cfg["bridge"])
    if bridge.pop("name") == "kafka":
        config = BridgeConfig.from_dict(bridge)
        assert config.bootstrap_servers and config.topic_prefix == "fedchurn"


def build_privacy(cfg: dict[str, Any]) -> None:
    resolved = with_resolved_privacy(cfg, cfg["num_clients"])
    strategy = private_strategy(resolved["privacy"], resolved["secure"],
                                _context(cfg).base_kwargs(), cfg["num_rounds"], cfg["num_clients"])
    if cfg["privacy"]["name"] == "dp":
        assert resolved["privacy"]["noise_multiplier"] > 0
        assert type(strategy).__name__ == "DPChurnFedAvg"
    else:
        assert strategy is None


def build_secure(cfg: dict[str, Any]) -> None:
    strategy = private_strategy(cfg["privacy"], cfg["secure"], _context(cfg).base_kwargs(),
                                cfg["num_rounds"], cfg["num_clients"])
    if cfg["secure"]["name"] == "secagg":
        assert isinstance(strategy, ChurnFedAvg)
        assert type(strategy).__name__ == "SecureChurnFedAvg"
    else:
        assert strategy is None


BUILDERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "data": build_data, "partition": build_partition, "strategy": build_strategy_group,
    "client": build_client, "engine": build_engine, "bridge": build_bridge,
    "privacy": build_privacy, "secure": build_secure, "reference": build_reference,
}


def test_every_config_group_has_a_build_check() -> None:
    assert set(GROUPS) == set(BUILDERS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_builds(group: str, option: str, csv_file: Path) -> None:
    cfg = compose_config(overrides_for(group, option, csv_file))
    if "name" in cfg[group]:
        assert cfg[group]["name"] == option
    BUILDERS[group](cfg)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_builds(experiment: str) -> None:
    cfg = compose_config([f"experiment={experiment}"])
    default = compose_config([])
    assert cfg != default  # the experiment changed something
    for build in (build_data, build_partition, build_strategy_group, build_engine):
        build(cfg)


@pytest.mark.parametrize("num_clients", [2, 7, 50])
def test_client_count_is_one_scalar_that_sweeps(num_clients: int) -> None:
    cfg = compose_config([f"num_clients={num_clients}", "partition=dirichlet"])
    build_partition(cfg)


def test_dashboard_settings_and_sweep_callback_build() -> None:
    settings = MonitorSettings.load()
    assert settings.topic_prefix == "fedchurn" and settings.refresh_seconds > 0
    callbacks = OmegaConf.load(CONF_DIR / "hydra" / "callbacks" / "sweep_summary.yaml")
    assert type(instantiate(callbacks.sweep_summary)).__name__ == "SweepSummaryCallback"
