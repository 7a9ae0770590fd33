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


def server_properties(listen_host: str, port: int, controller_port: int, data_dir: Path,
                      advertised_host: str | None = None) -> dict[str, str]:
    """One combined broker+controller node, replication 1, explicit topics only.

    The client listener binds `listen_host` (loopback unless asked otherwise) and is
    advertised as `advertised_host` (default: `listen_host`); the controller listener only
    ever binds loopback, as nothing outside this node talks to it.
    """
    controller = f"CONTROLLER://{LOOPBACK}:{controller_port}"
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{listen_host}:{port},{controller}",
        "advertised.listeners": f"PLAINTEXT://{advertised_host or listen_host}:{port},{controller}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",  # the bridge creates its topics with settings
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
