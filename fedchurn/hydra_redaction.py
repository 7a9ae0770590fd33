"""Hydra callback that writes Hydra's own run files (.hydra/*.yaml, multirun.yaml) redacted."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from churn.redaction import redact

# conf/config.yaml sets hydra.output_subdir: null so Hydra itself writes nothing; the files
# keep their usual place and names.
SUBDIR = ".hydra"


def _save(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(redact(data)), path)


class RedactedHydraFiles(Callback):
    """config.yaml, hydra.yaml and overrides.yaml as Hydra writes them, secrets as "***"; a
    multirun's multirun.yaml is rewritten the same way (Hydra's sweeper writes it first)."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        everything = OmegaConf.to_container(config, resolve=False)
        hydra_node = everything.pop("hydra")
        folder = Path(config.hydra.runtime.output_dir) / (config.hydra.output_subdir or SUBDIR)
        _save(everything, folder / "config.yaml")
        _save({"hydra": hydra_node}, folder / "hydra.yaml")
        _save(list(config.hydra.overrides.task), folder / "overrides.yaml")
        if config.hydra.mode == RunMode.MULTIRUN:
            self._redact_multirun_file(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._redact_multirun_file(Path(str(config.hydra.sweep.dir)))

    @staticmethod
    def _redact_multirun_file(sweep_dir: Path) -> None:
        path = sweep_dir / "multirun.yaml"
        if path.is_file():
            # rewritten in place (same inode) with its mtime kept: the sweep's run-id suffix
            # (fedchurn.simulate._sweep_suffix) is derived from both and must not change per job
            before = path.stat()
            _save(OmegaConf.to_container(OmegaConf.load(path), resolve=False), path)
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
