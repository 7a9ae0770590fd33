"""Engines that run the same ServerApp and ClientApp: Flower's simulation (Ray) or in-process."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp

ENGINES = ("flower", "inprocess")


def run_engine(engine_cfg: Mapping[str, Any], server_app: ServerApp, client_app: ClientApp,
               num_supernodes: int, seed: int = 0) -> None:
    """Run the apps on the engine `engine_cfg["name"]` names, Flower's own log at
    `flower_log_level` (default WARNING: the per-round progress comes from our observer)."""
    name = engine_cfg.get("name")
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; use one of {ENGINES}")
    flwr_logger = logging.getLogger("flwr")
    previous_level = flwr_logger.level
    flwr_logger.setLevel(str(engine_cfg.get("flower_log_level", "WARNING")))
    try:
        if name == "flower":
            from fedchurn.engines.flower import run_flower

            run_flower(server_app, client_app, num_supernodes, engine_cfg)
        else:
            from fedchurn.engines.inprocess import run_inprocess
            from fedchurn.engines.node_workers import default_workers

            workers = engine_cfg.get("workers")
            run_inprocess(server_app, client_app, num_supernodes, seed=seed,
                          workers=default_workers() if workers is None else int(workers))
    finally:
        flwr_logger.setLevel(previous_level)
