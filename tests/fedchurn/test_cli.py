"""The `fedchurn` console script: every subcommand dispatches, a run through it writes results."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fedchurn.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("fedchurn")


def fedchurn(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([str(SCRIPT), *args], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=timeout)


def test_help_lists_every_command() -> None:
    shown = fedchurn("--help")
    assert shown.returncode == 0
    for name in COMMANDS:
        assert f"  {name} " in shown.stdout


def test_unknown_command_exits_2_with_usage() -> None:
    shown = fedchurn("train-everything")
    assert shown.returncode == 2
    assert "unknown command 'train-everything'" in shown.stderr and "simulate" in shown.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_answers_help_under_its_own_name(name: str) -> None:
    shown = fedchurn(name, "--help")
    assert shown.returncode == 0, shown.stderr
    if not COMMANDS[name].hydra:  # argparse prints the prog name it was given
        assert f"usage: fedchurn {name}" in shown.stdout
    else:  # Hydra's help names the config groups
        assert "strategy: " in shown.stdout and "partition: " in shown.stdout


def test_simulate_through_the_console_script_writes_results(tmp_path: Path) -> None:
    run_dir = tmp_path / "cli-run"
    done = fedchurn("simulate", "engine=inprocess", "num_clients=2", "num_rounds=1",
                    f"hydra.run.dir={run_dir}")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert re.fullmatch(r"cli-run-[0-9a-f]{6}", results["run_id"])  # the dir + a per-run suffix
    assert len(results["rounds"]) == 2  # round 0 (initial model) and round 1
    assert results["final"]["federated_auc"] > 0.6
