"""The project's Hydra config outside a Hydra run (commands, scripts, tests), and absolute data
paths so other processes (Ray actors, SuperNodes) read the same file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedchurn import CONF_DIR


def compose_config(overrides: Sequence[str] = (), output_dir: Path | None = None) -> dict[str, Any]:
    """`conf/config.yaml` with `overrides`, resolved to plain containers, without a Hydra run."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    cfg.output_dir = str(output_dir) if output_dir is not None else None
    return OmegaConf.to_container(cfg, resolve=True)


def absolute_path(path: str | Path) -> str:
    """`path` with `~` expanded, made absolute against the directory the command started in
    (Hydra's original cwd inside a Hydra run)."""
    from hydra.utils import to_absolute_path

    return to_absolute_path(str(Path(path).expanduser()))


def with_absolute_path(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a `data` group whose file paths (`path`, `test_path`, `schema`) are absolute."""
    out = dict(data)
    for key in ("path", "test_path", "schema"):
        if out.get(key) and out[key] != "???":
            out[key] = absolute_path(out[key])
    return out
