"""Pytest plugin: session-scoped real Kafka brokers (own temp dir, free ports) for bridge tests:
a PLAINTEXT one and one that also has SASL_PLAINTEXT and SASL_SSL listeners with a per-session
password and CA."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafka_bridge.broker import HOST, LocalBroker
from kafka_bridge.processes import free_port
from tests.kafka_tls import TlsFiles, make_tls


class KafkaBrokerHandle:
    """The test session's broker: `.bootstrap`, and `stop()`/`start()` of the SAME broker."""

    def __init__(self, state_dir: Path, sasl_users: dict[str, str] | None = None,
                 tls: TlsFiles | None = None) -> None:
        # a random free port, never 9092: a developer's `make kafka-up` broker may hold it
        self._broker = LocalBroker(state_dir=state_dir, port=free_port(HOST),
                                   die_with_parent=True, sasl_users=sasl_users,
                                   tls_keystore=(tls.keystore, tls.password) if tls else None)
        self.bootstrap: str = ""
        self.start_seconds: float | None = None

    @property
    def state_dir(self) -> Path:
        """Config, data, log and pid of this broker."""
        return self._broker.state_dir

    @property
    def sasl_bootstrap(self) -> str | None:
        """The SASL_PLAINTEXT listener's address (brokers made with `sasl_users`)."""
        return self._broker.sasl_bootstrap

    @property
    def sasl_ssl_bootstrap(self) -> str | None:
        """The SASL_SSL listener's address (brokers made with `sasl_users` and `tls`)."""
        return self._broker.sasl_ssl_bootstrap

    @property
    def pid(self) -> int | None:
        """The broker JVM's pid while it runs."""
        return self._broker.running_pid()

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._broker.running_pid() is not None

    def start(self, timeout: float = 90.0) -> str:
        """Start (or restart with the same data dir and port); returns the bootstrap address."""
        import time

        t0 = time.monotonic()
        address = self._broker.up(timeout=timeout)
        self.start_seconds = time.monotonic() - t0
        if self.bootstrap and address != self.bootstrap:
            self._broker.down()
            raise RuntimeError(f"restarted broker moved from {self.bootstrap} to {address}")
        self.bootstrap = address
        return address

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (SIGKILL after timeout) and wait until the process is gone."""
        self._broker.down(timeout=timeout)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBrokerHandle]:
    """A real single-node KRaft broker for the whole session; fails loudly without Java."""
    handle = KafkaBrokerHandle(tmp_path_factory.mktemp("kafka-broker"))
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def running_kafka(kafka_broker: KafkaBrokerHandle) -> KafkaBrokerHandle:
    """The session broker, restarted first if an earlier test left it stopped."""
    if not kafka_broker.running:
        kafka_broker.start()
    return kafka_broker


SASL_USER = "fedchurn-test"


@pytest.fixture(scope="session")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KafkaBrokerHandle,
                                                                             str, TlsFiles]]:
    """(broker, password, TLS files) of a broker whose SASL_PLAINTEXT and SASL_SSL listeners
    take PLAIN and SCRAM-SHA-256/512 for one user with a password and CA made for this
    session only."""
    password = secrets.token_hex(16)
    tls = make_tls(tmp_path_factory.mktemp("kafka-tls"))
    handle = KafkaBrokerHandle(tmp_path_factory.mktemp("kafka-sasl"), {SASL_USER: password}, tls)
    handle.start()
    try:
        yield handle, password, tls
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def sasl_kafka(sasl_broker) -> tuple[KafkaBrokerHandle, dict[str, str]]:
    """(broker, the bridge's SASL_PLAINTEXT settings) of the session's SASL broker."""
    handle, password, _ = sasl_broker
    return handle, {"bootstrap_servers": handle.sasl_bootstrap or "",
                    "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
                    "sasl_plain_username": SASL_USER, "sasl_plain_password": password}


@pytest.fixture(scope="session")
def sasl_ssl_kafka(sasl_broker) -> tuple[KafkaBrokerHandle, dict[str, str]]:
    """(broker, the bridge's SASL_SSL settings: the session CA, hostname checked)."""
    handle, password, tls = sasl_broker
    return handle, {"bootstrap_servers": handle.sasl_ssl_bootstrap or "",
                    "security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN",
                    "sasl_plain_username": SASL_USER, "sasl_plain_password": password,
                    "ssl_cafile": str(tls.ca_file)}
