"""server.properties and log4j2 config of the local single-node KRaft broker."""

from __future__ import annotations

from pathlib import Path

LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


LOOPBACK = "127.0.0.1"
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


def sasl_properties(users: dict[str, str], listeners: tuple[str, ...]) -> dict[str, str]:
    """PLAIN (users from its JAAS line) and SCRAM (credentials stored at format time:
    `scram_format_args`) on each SASL listener named (`sasl_plaintext`, `sasl_ssl`); the
    brokers' own traffic stays on PLAINTEXT. For tests and development: the passwords sit in
    the state dir's server.properties, and SASL_PLAINTEXT sends PLAIN passwords unencrypted."""
    plain_users = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    props = {"sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS)}
    for listener in listeners:
        props[f"listener.name.{listener}.plain.sasl.jaas.config"] = \
            f"{_PLAIN_MODULE} required {plain_users};"
        for mech in SASL_MECHANISMS[1:]:
            props[f"listener.name.{listener}.{mech.lower()}.sasl.jaas.config"] = \
                f"{_SCRAM_MODULE} required;"
    return props


def keystore_properties(listener: str, keystore: Path, password: str) -> dict[str, str]:
    """The TLS identity of one listener: a PKCS#12 keystore holding the server's key and
    certificate chain (Java reads PKCS#12 natively; a PEM key would need its own format)."""
    prefix = f"listener.name.{listener}.ssl"
    return {f"{prefix}.keystore.type": "PKCS12", f"{prefix}.keystore.location": str(keystore),
            f"{prefix}.keystore.password": password, f"{prefix}.key.password": password}


def scram_format_args(users: dict[str, str]) -> list[str]:
    """StorageTool `format` arguments that store SCRAM credentials for `users` (KRaft keeps
    them in the cluster metadata; names and passwords must not hold `,` `]` or `=`)."""
    return [arg for mech in SASL_MECHANISMS[1:] for name, password in users.items()
            for arg in ("--add-scram", f"{mech}=[name={name},password={password}]")]


def server_properties(listen_host: str, port: int, controller_port: int, data_dir: Path,
                      advertised_host: str | None = None, sasl_port: int | None = None,
                      sasl_users: dict[str, str] | None = None,
                      sasl_ssl_port: int | None = None,
                      keystore: tuple[Path, str] | None = None) -> dict[str, str]:
    """One combined broker+controller node, replication 1, explicit topics only.

    The client listener binds `listen_host` (loopback unless asked otherwise) and is
    advertised as `advertised_host` (default: `listen_host`); the controller listener only
    ever binds loopback, as nothing outside this node talks to it. With `sasl_port` and
    `sasl_users` a SASL_PLAINTEXT listener is added on loopback (`sasl_properties`), and with
    `sasl_ssl_port` and `keystore` (path, password) a SASL_SSL one beside it.
    """
    controller = f"CONTROLLER://{LOOPBACK}:{controller_port}"
    sasl_listeners = {}
    if sasl_users and sasl_port:
        sasl_listeners["SASL_PLAINTEXT"] = sasl_port
    if sasl_users and sasl_ssl_port and keystore:
        sasl_listeners["SASL_SSL"] = sasl_ssl_port
    sasl = (sasl_properties(sasl_users or {}, tuple(n.lower() for n in sasl_listeners))
            if sasl_listeners else {})
    if "SASL_SSL" in sasl_listeners and keystore:
        sasl.update(keystore_properties("sasl_ssl", *keystore))
    extra = "".join(f",{name}://{LOOPBACK}:{p}" for name, p in sasl_listeners.items())
    protocols = "".join(f",{name}:{name}" for name in sasl_listeners)
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{listen_host}:{port},{controller}{extra}",
        "advertised.listeners":
            f"PLAINTEXT://{advertised_host or listen_host}:{port},{controller}{extra}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT" + protocols,
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",  # the bridge creates its topics with settings
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        **sasl,
    }
