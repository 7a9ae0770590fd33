"""Run the apps on Flower's simulation engine (`run_simulation`, Ray), quietly, and shut Ray down."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp

# Ray reads these at start-up: no accelerator-override tip, no usage-stats prompt, and
# repeated actor log lines folded into one.
_QUIET_RAY_ENV = {
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "1",
}


class _DropDeprecationNotice(logging.Filter):
    """Flower warns that `run_simulation` is deprecated in favour of `flwr run`; we use it on
    purpose (it is the in-Python simulation API), so the notice is dropped while we run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "DEPRECATED FEATURE" not in record.getMessage()


def backend_config(engine_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Flower's backend_config: CPUs per ClientApp actor and for Ray as a whole.

    With `ray_address` the run joins that existing cluster (`ray.init(address=...)`): the
    cluster's nodes bring their own CPUs, so `ray_cpus` is not passed (Ray refuses it when
    connecting), and Flower sizes its actor pool from each node's CPUs / `client_cpus`.
    """
    init_args: dict[str, Any] = {
        "logging_level": str(engine_cfg.get("ray_log_level", "ERROR")),
        "log_to_driver": bool(engine_cfg.get("ray_log_to_driver", True)),
    }
    address = engine_cfg.get("ray_address")
    if address:
        init_args["address"] = str(address)
    else:
        init_args["num_cpus"] = int(engine_cfg.get("ray_cpus", 2))
    return {"client_resources": {"num_cpus": float(engine_cfg.get("client_cpus", 1))},
            "init_args": init_args}


def run_flower(server_app: ServerApp, client_app: ClientApp, num_supernodes: int,
               engine_cfg: Mapping[str, Any]) -> None:
    """`flwr.simulation.run_simulation` with our resources; Ray is always shut down after
    (for a joined cluster that only disconnects this driver; the cluster keeps running)."""
    for key, value in _QUIET_RAY_ENV.items():
        os.environ.setdefault(key, value)
    flwr_logger, alembic_logger = logging.getLogger("flwr"), logging.getLogger("alembic")
    notice_filter, alembic_level = _DropDeprecationNotice(), alembic_logger.level
    flwr_logger.addFilter(notice_filter)
    alembic_logger.setLevel(logging.WARNING)  # Flower's link state logs its DB set-up at INFO
    import ray
    from flwr.simulation import run_simulation

    try:
        run_simulation(server_app=server_app, client_app=client_app,
                       num_supernodes=num_supernodes, backend_config=backend_config(engine_cfg))
    finally:
        flwr_logger.removeFilter(notice_filter)
        alembic_logger.setLevel(alembic_level)
        if ray.is_initialized():
            ray.shutdown()
