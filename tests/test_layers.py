"""The layer contract (pyproject's [tool.importlinter]): kept on this tree, broken by an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("churn", "clients", "strategy", "kafka_bridge", "dashboard", "deploy", "fedchurn")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, text=True,
                          capture_output=True, timeout=120)


def test_the_tree_keeps_the_one_way_stack() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def _copy_tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


# (module that gains an import, the module it imports): each must break a contract
FORBIDDEN = [
    ("churn.model", "strategy.fedavg"),  # the task imports an app: upward
    ("kafka_bridge.observer", "clients.client_app"),  # one app imports a sibling
    ("kafka_bridge.verify_private", "kafka_bridge.verify"),  # the audit's one-way order
]


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, importer: str, imported: str) -> None:
    root = _copy_tree(tmp_path)
    module = root / (importer.replace(".", "/") + ".py")
    module.write_text(module.read_text() + f"\nimport {imported}  # noqa: E402,F401\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout
    assert f"{importer} -> {imported}" in result.stdout
