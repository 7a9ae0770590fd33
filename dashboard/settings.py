"""Dashboard settings: conf/dashboard/default.yaml overridden by FEDCHURN_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "conf" / "dashboard" / "default.yaml"
ENV_BOOTSTRAP = "FEDCHURN_KAFKA_BOOTSTRAP"
ENV_TOPIC_PREFIX = "FEDCHURN_TOPIC_PREFIX"
ENV_REFRESH = "FEDCHURN_DASHBOARD_REFRESH_S"


@dataclass(frozen=True)
class MonitorSettings:
    """Where the events are and how often the dashboard looks for new ones."""

    bootstrap_servers: str = "localhost:9092"
    topic_prefix: str = "fedchurn"
    refresh_seconds: float = 2.0
    stale_after_seconds: float = 120.0
    connect_timeout_seconds: float = 3.0
    catch_up_timeout_seconds: float = 120.0

    @classmethod
    def load(cls, path: Path | None = DEFAULT_FILE, env: dict[str, str] | None = None) -> MonitorSettings:
        """Defaults, then the YAML file (if it exists), then the environment."""
        settings = cls()
        if path is not None and Path(path).is_file():
            data: dict[str, Any] = yaml.safe_load(Path(path).read_text()) or {}
            known = {f.name for f in fields(cls)}
            settings = replace(settings, **{k: v for k, v in data.items() if k in known})
        env = os.environ if env is None else env
        overrides: dict[str, Any] = {}
        if env.get(ENV_BOOTSTRAP):
            overrides["bootstrap_servers"] = env[ENV_BOOTSTRAP]
        if env.get(ENV_TOPIC_PREFIX):
            overrides["topic_prefix"] = env[ENV_TOPIC_PREFIX]
        if env.get(ENV_REFRESH):
            overrides["refresh_seconds"] = float(env[ENV_REFRESH])
        return replace(settings, **overrides)
