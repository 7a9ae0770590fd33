"""Bridge configuration: broker address, topic prefix, spool dir, security pass-through."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SECURITY_KEYS = (
    "security_protocol", "sasl_mechanism", "sasl_plain_username", "sasl_plain_password",
    "sasl_kerberos_service_name", "sasl_kerberos_domain_name", "ssl_cafile", "ssl_certfile",
    "ssl_keyfile", "ssl_password", "ssl_crlfile", "ssl_ciphers", "ssl_check_hostname",
)

# One environment variable per setting: read by the deployment's ServerApp
# (mirror_setup.bridge_config), `python -m kafka_bridge replay` and the dashboard, set by
# docker-compose.yml and named in conf/bridge/kafka.yaml (the password's oc.env).
ENV_VARS: dict[str, str] = {
    "bootstrap_servers": "FEDCHURN_KAFKA_BOOTSTRAP",
    "topic_prefix": "FEDCHURN_KAFKA_TOPIC_PREFIX",
    "spool_dir": "FEDCHURN_KAFKA_SPOOL_DIR",
    "security_protocol": "FEDCHURN_KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "FEDCHURN_KAFKA_SASL_MECHANISM",
    "sasl_plain_username": "FEDCHURN_KAFKA_SASL_USERNAME",
    "sasl_plain_password": "FEDCHURN_KAFKA_SASL_PASSWORD",
    "ssl_cafile": "FEDCHURN_KAFKA_SSL_CAFILE",
    "ssl_certfile": "FEDCHURN_KAFKA_SSL_CERTFILE",
    "ssl_keyfile": "FEDCHURN_KAFKA_SSL_KEYFILE",
    "ssl_password": "FEDCHURN_KAFKA_SSL_PASSWORD",
}
# Names read before there was one name per setting; setting one alone gets a warning.
RENAMED_ENV_VARS = {"FEDCHURN_KAFKA_PASSWORD": "FEDCHURN_KAFKA_SASL_PASSWORD",
                    "FEDCHURN_TOPIC_PREFIX": "FEDCHURN_KAFKA_TOPIC_PREFIX"}


def settings_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The BridgeConfig fields the `ENV_VARS` set in `env` (empty values mean "not set")."""
    for old, new in RENAMED_ENV_VARS.items():
        if env.get(old) and not env.get(new):
            log.warning("%s is not read any more; set %s instead", old, new)
    return {name: env[var] for name, var in ENV_VARS.items() if env.get(var)}


@dataclass(frozen=True)
class TopicSettings:
    """How the bridge's topics are created (only when they do not exist yet)."""

    partitions: int = 3
    replication_factor: int = 1
    retention_ms: int = 90 * 24 * 3600 * 1000  # 90 days of audit trail
    max_message_bytes: int = 8 * 1024 * 1024  # room for large mirrored client updates


@dataclass(frozen=True)
class BridgeConfig:
    """Everything the producer, reader and observer need; build with `BridgeConfig.from_dict`."""

    bootstrap_servers: str | list[str] = "127.0.0.1:9092"
    topic_prefix: str = "fedchurn"
    mirror_client_updates: bool = True
    spool_dir: str | Path = ".kafka/spool"  # relative paths resolve against the cwd
    flush_timeout_s: float = 10.0  # bounded wait for delivery when a run ends
    connect_timeout_s: float = 3.0  # per (re)connection attempt of the sender thread
    spool_fsync_each_event: bool = False  # True: fsync in publish() (slower caller)
    spool_max_bytes: int = 1024**3  # undelivered bytes the spool holds; beyond: dropped, warned
    # Ed25519 event-signing key (PEM, made on first use, mode 0600); None: in the spool dir
    signing_key_file: str | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: str | None = field(default=None, repr=False)
    sasl_kerberos_service_name: str | None = None
    sasl_kerberos_domain_name: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: str | None = field(default=None, repr=False)
    ssl_crlfile: str | None = None
    ssl_ciphers: str | None = None
    ssl_check_hostname: bool | None = None
    topics: TopicSettings = TopicSettings()
    client_options: dict[str, Any] = field(default_factory=dict)  # extra kafka-python kwargs

    @classmethod
    def from_dict(cls, data: dict[str, Any] | BridgeConfig | None) -> BridgeConfig:
        """From a plain/Hydra dict; unknown keys raise (typos must not silently disable TLS)."""
        if isinstance(data, BridgeConfig):
            return data
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown kafka bridge config keys: {unknown}")
        if isinstance(data.get("topics"), dict):
            data["topics"] = TopicSettings(**data["topics"])
        if data.get("client_options") is not None:
            data["client_options"] = dict(data["client_options"])
        return cls(**data)

    def client_kwargs(self, client_cls: type | None = None) -> dict[str, Any]:
        """bootstrap + security options (non-None) + client_options, as kafka-python kwargs.

        With `client_cls` (KafkaProducer, KafkaConsumer, KafkaAdminClient) only the options
        that class accepts are kept, so one `client_options` dict can serve all three.
        """
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers}
        for key in SECURITY_KEYS:
            value = getattr(self, key)
            if value is not None:
                kwargs[key] = value
        kwargs.update(self.client_options)
        return for_client(client_cls, kwargs) if client_cls is not None else kwargs

    @property
    def spool_path(self) -> Path:
        """The spool directory as an absolute path."""
        return Path(self.spool_dir).expanduser().resolve()

    @property
    def signing_key_path(self) -> Path:
        """The signing key file: `signing_key_file`, else `signing-key.pem` in the spool dir
        (the spool is already the deployment's own durable state; never a shared parent)."""
        if self.signing_key_file:
            return Path(self.signing_key_file).expanduser().resolve()
        return self.spool_path / "signing-key.pem"


def for_client(client_cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keep only the kwargs a kafka-python client class accepts (its DEFAULT_CONFIG keys)."""
    accepted = getattr(client_cls, "DEFAULT_CONFIG", None)
    return dict(kwargs) if accepted is None else {k: v for k, v in kwargs.items() if k in accepted}
