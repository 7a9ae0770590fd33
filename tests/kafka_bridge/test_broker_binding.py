"""The local broker listens on loopback only unless asked otherwise (checked on the real JVM)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import psutil

from kafka_bridge._broker_files import server_properties
from kafka_bridge.broker import LocalBroker


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def test_the_real_broker_listens_only_on_loopback(kafka_broker) -> None:
    assert kafka_broker.pid is not None
    listening = [c.laddr for c in psutil.Process(kafka_broker.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    port = int(kafka_broker.bootstrap.rsplit(":", 1)[1])
    assert port in {a.port for a in listening}
    assert len(listening) >= 2, listening  # the client and the controller listener
    # the JVM listens on IPv6 sockets: loopback shows as ::ffff:127.0.0.1, all interfaces as ::
    assert all(_loopback(a.ip) for a in listening), listening
    assert kafka_broker.bootstrap.startswith("127.0.0.1:")


def test_asking_for_every_interface_binds_it_and_advertises_the_machine(tmp_path: Path) -> None:
    broker = LocalBroker(state_dir=tmp_path, listen_host="0.0.0.0")
    assert broker.advertised_host == socket.getfqdn()
    props = server_properties(broker.listen_host, 9100, 9101, tmp_path, broker.advertised_host)
    assert props["listeners"] == "PLAINTEXT://0.0.0.0:9100,CONTROLLER://127.0.0.1:9101"
    assert props["advertised.listeners"] == \
        f"PLAINTEXT://{socket.getfqdn()}:9100,CONTROLLER://127.0.0.1:9101"
    assert LocalBroker(state_dir=tmp_path).listen_host == "127.0.0.1"


def test_a_cluster_id_starting_with_a_dash_formats_the_storage(tmp_path: Path,
                                                               monkeypatch) -> None:
    # one random cluster id in 64 starts with `-`; passed as `-t ID` the real StorageTool read
    # it as an option and failed (CI of 2026-12-02): this formats with such an id on the JVM
    import uuid

    import kafka_bridge.broker as broker_module
    from kafka_bridge import _jars

    dashed = uuid.UUID(bytes=b"\xf8" + bytes(15))
    monkeypatch.setattr(broker_module.uuid, "uuid4", lambda: dashed)
    broker = LocalBroker(state_dir=tmp_path, lib_dir=_jars.ensure_jars())
    broker.state_dir.mkdir(parents=True, exist_ok=True)
    broker._format(broker._write_config(9100, 9101, None, None))
    meta = (broker.data_dir / "meta.properties").read_text()
    assert "cluster.id=-AAAAAAAAAAAAAAAAAAAAA" in meta, meta
