"""Dashboard settings: conf/dashboard/default.yaml overridden by FEDCHURN_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from kafka_bridge.config import ENV_VARS, SECURITY_KEYS, BridgeConfig, settings_from_env

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "conf" / "dashboard" / "default.yaml"
ENV_BOOTSTRAP = ENV_VARS["bootstrap_servers"]
ENV_TOPIC_PREFIX = ENV_VARS["topic_prefix"]
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
    # SASL/SSL settings of the bridge (BridgeConfig field -> value), from the environment
    security: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path | None = DEFAULT_FILE, env: Mapping[str, str] | None = None) -> MonitorSettings:
        """Defaults, then the YAML file (if it exists), then the environment (the bridge's
        `ENV_VARS`, the same names the ServerApp and replay read, and ENV_REFRESH)."""
        settings = cls()
        if path is not None and Path(path).is_file():
            data: dict[str, Any] = yaml.safe_load(Path(path).read_text()) or {}
            known = {f.name for f in fields(cls)} - {"security"}
            settings = replace(settings, **{k: v for k, v in data.items() if k in known})
        env = os.environ if env is None else env
        bridge = settings_from_env(env)
        overrides: dict[str, Any] = {k: bridge[k] for k in ("bootstrap_servers", "topic_prefix")
                                     if k in bridge}
        overrides["security"] = {k: v for k, v in bridge.items() if k in SECURITY_KEYS}
        if env.get(ENV_REFRESH):
            overrides["refresh_seconds"] = float(env[ENV_REFRESH])
        return replace(settings, **overrides)

    def bridge_config(self) -> BridgeConfig:
        """The reader's bridge settings: address, prefix, security, connect timeout."""
        return BridgeConfig.from_dict({
            "bootstrap_servers": self.bootstrap_servers, "topic_prefix": self.topic_prefix,
            **self.security,
            "client_options": {"bootstrap_timeout_ms": int(self.connect_timeout_seconds * 1000)}})
