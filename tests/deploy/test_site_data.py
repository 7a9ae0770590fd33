"""deploy.site_data: the user's split into the compose volumes, synthetic data when there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.procs import DeployError
from deploy.site_data import fill, find_split


def volumes(root: Path, sites: int) -> Path:
    for name in [*(f"site-{i}" for i in range(sites)), "server"]:
        (root / name).mkdir(parents=True)
    return root


def test_a_complete_split_is_copied_one_file_per_site(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        (src / f"site-{i}.csv").write_text(f"row,{i}\n")
    (src / "test.csv").write_text("test\n")
    (src / "manifest.json").write_text(json.dumps({"sites": 2}))
    out = volumes(tmp_path / "v", 2)
    assert fill(src, 2, out) == f"the split in {src}"
    assert [(out / f"site-{i}" / "site.csv").read_text() for i in range(2)] == ["row,0\n", "row,1\n"]
    assert sorted(p.name for p in (out / "server").iterdir()) == ["manifest.json", "test.csv"]


def test_a_partial_split_names_the_missing_files_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "site-0.csv").write_text("x\n")
    with pytest.raises(DeployError, match=r"missing manifest.json, site-1.csv, test.csv.*split-sites"):
        find_split(tmp_path, 2)


def test_an_empty_folder_means_synthetic_data(tmp_path: Path) -> None:
    assert find_split(tmp_path, 3) is False


def test_an_unreadable_folder_says_who_must_read_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.access", lambda *_a: False)
    with pytest.raises(DeployError, match=r"not readable by uid \d+.*chmod -R o\+rX deploy/data"):
        find_split(tmp_path, 3)
