"""One ServerPlan builder: the simulation's Hydra config becomes the deployment's run config."""

from __future__ import annotations

import tomllib
from pathlib import Path

from churn.site_data import load_experiment
from fedchurn.config import compose_config
from fedchurn.simulate import client_settings
from strategy.privacy_setup import with_resolved_privacy
from strategy.run_plan import server_plan, server_run_config

REPO = Path(__file__).resolve().parents[2]


def app_defaults() -> dict:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["flwr"]["app"]["config"]


def simulation_plan(overrides: list[str], out: Path | None = None):
    cfg = compose_config(["data.num_rows=400", "num_clients=3", *overrides])
    settings = client_settings(cfg)
    experiment = load_experiment(settings)
    cfg = with_resolved_privacy(cfg, len(experiment.parts))
    run_config = {**settings.to_run_config(),
                  **server_run_config(cfg, run_id="sim-1", code_version="abc", output_dir=out)}
    plan = server_plan(run_config, test=experiment.test, config={"shown": 1},
                       reference={"ref": 2}, privacy=cfg["privacy"], secure=cfg["secure"])
    return cfg, run_config, plan, experiment


def test_simulation_speaks_the_deployment_run_config_keys() -> None:
    _, run_config, _, _ = simulation_plan([])
    assert set(run_config) <= set(app_defaults())  # the keys `flwr run` accepts


def test_plan_from_hydra_keeps_every_setting(tmp_path: Path) -> None:
    cfg, _, plan, experiment = simulation_plan(
        ["strategy=fedprox", "strategy.timeout=33", "strategy.regularisation=local",
         "num_rounds=4", "client.local_iterations=7", "C=0.5", "imputation=mean", "seed=9",
         "privacy=dp", "privacy.secret_noise_seed=3"], out=tmp_path)
    assert plan.run_id == "sim-1" and plan.code_version == "abc"
    assert plan.num_nodes == len(experiment.parts) == 3 and plan.num_rounds == 4
    assert plan.test is experiment.test and plan.output_dir == tmp_path
    assert plan.strategy == cfg["strategy"] and plan.strategy["proximal_mu"] == 0.1
    assert plan.timeout == 33.0 and plan.regularisation == "local"
    assert (plan.local_iterations, plan.C, plan.imputation, plan.seed) == (7, 0.5, "mean", 9)
    assert plan.privacy == cfg["privacy"] and plan.privacy["noise_multiplier"] > 0
    assert plan.secure == {"name": "none"}
    assert plan.config == {"shown": 1} and plan.reference == {"ref": 2}


def test_hydra_defaults_and_pyproject_defaults_plan_the_same_run() -> None:
    _, _, sim, _ = simulation_plan([])
    # the one default that differs on purpose: a deployed round waits 120 s, not 600 s
    deployed = server_plan({**app_defaults(), "round-timeout": 600.0}, test=sim.test)
    for name in ("num_nodes", "num_rounds", "local_iterations", "C", "imputation",
                 "regularisation", "seed", "timeout"):
        assert getattr(sim, name) == getattr(deployed, name), name
    sampling = ("fraction_train", "fraction_evaluate", "min_train_nodes", "min_evaluate_nodes",
                "min_available_nodes", "name")
    assert {k: sim.strategy[k] for k in sampling} == {k: deployed.strategy[k] for k in sampling}
