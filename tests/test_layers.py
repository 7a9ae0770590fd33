"""The layer contract (pyproject's [tool.importlinter]): kept on this tree, broken by an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_an_upward_import_from_the_task_breaks_the_contract(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    model = root / "churn" / "model.py"
    model.write_text(model.read_text() + "\nimport strategy.fedavg  # noqa: E402,F401\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout
    assert "churn.model -> strategy.fedavg" in result.stdout


def test_the_private_audit_may_not_import_the_run_audit(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    private = root / "kafka_bridge" / "verify_private.py"
    private.write_text(private.read_text() + "\nimport kafka_bridge.verify  # noqa: E402,F401\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout
    assert "kafka_bridge.verify_private -> kafka_bridge.verify" in result.stdout


def test_siblings_may_not_import_each_other(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    observer = root / "kafka_bridge" / "observer.py"
    observer.write_text(observer.read_text() + "\nimport clients.client_app  # noqa: E402,F401\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout
    assert "kafka_bridge.observer -> clients.client_app" in result.stdout
