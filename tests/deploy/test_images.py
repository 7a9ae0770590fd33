"""deploy.images without an engine: the Debian mirror apt uses, and content-hash tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import images
from deploy.procs import DeployError

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_comes_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(DEB822)
    assert images.apt_mirror(tmp_path, tmp_path / "none.list") == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_lists(tmp_path: Path) -> None:
    (tmp_path / "extra.list").write_text(
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian/ bookworm main\n")
    assert images.apt_mirror(tmp_path, tmp_path / "none.list") == "http://one.example/debian"


def test_no_bookworm_archive_is_a_readable_error(tmp_path: Path) -> None:
    (tmp_path / "old.list").write_text("deb http://old.example/debian bullseye main\n")
    with pytest.raises(DeployError, match="no Debian 'bookworm' archive.*--mirror"):
        images.apt_mirror(tmp_path, tmp_path / "none.list")


def test_tags_change_with_every_input() -> None:
    assert images.digest("a", b"b") == images.digest("a", b"b")
    assert len({images.digest("a", "b"), images.digest("ab"), images.digest("a", "c")}) == 3
    assert len(images.digest("x")) == 12
