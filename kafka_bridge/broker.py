"""Local single-node KRaft Kafka broker run from Maven Central jars (no Docker): up/down/status."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kafka_bridge import _jars
from kafka_bridge._broker_files import LOG4J2, scram_format_args, server_properties
from kafka_bridge.config import ENV_VARS
from kafka_bridge.processes import (
    FileLock,
    free_port,
    parent_death_signal,
    pid_alive,
    popen_from_lasting_thread,
    port_free,
    terminate,
)

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE_DIR = REPO_ROOT / ".kafka"
DEFAULT_PORT = 9092
HOST = "127.0.0.1"
SASL_PASSWORD_ENV = ENV_VARS["sasl_plain_password"]  # the bridge's own name for it
READY_MARKERS = ("Kafka Server started", "Transitioning from RECOVERY to RUNNING")


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started or stopped."""


@dataclass
class LocalBroker:
    """A KRaft broker+controller whose config, data, log, pid and address live in `state_dir`."""

    state_dir: Path = DEFAULT_STATE_DIR
    lib_dir: Path | None = None
    port: int = DEFAULT_PORT
    heap: tuple[str, str] = ("256m", "512m")
    die_with_parent: bool = False  # tests: the JVM gets SIGTERM if this process dies
    # Loopback unless asked otherwise: "0.0.0.0" (all interfaces) is advertised as this
    # machine's name (socket.getfqdn()), a specific address as itself.
    listen_host: str = HOST
    # user -> password: adds a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512) on
    # loopback, at `sasl_bootstrap` (tests make a fresh password per session)
    sasl_users: dict[str, str] | None = field(default=None, repr=False)
    # (PKCS#12 file, password) with `sasl_users`: a SASL_SSL listener on loopback too, at
    # `sasl_ssl_bootstrap` (its certificate must name 127.0.0.1 for hostname checks)
    tls_keystore: tuple[Path, str] | None = field(default=None, repr=False)
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.lib_dir = Path(self.lib_dir or _jars.DEFAULT_LIB_DIR).resolve()

    # -- files ---------------------------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    @property
    def bootstrap_file(self) -> Path:
        return self.state_dir / "bootstrap"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    def _ports_file(self) -> Path:
        return self.state_dir / "ports.json"

    # -- status --------------------------------------------------------------------------------
    def running_pid(self) -> int | None:
        """Pid of this state dir's broker if it is alive, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return pid  # no /proc: trust the pid file
        return pid if str(self.state_dir).encode() in cmdline else None

    @property
    def bootstrap(self) -> str | None:
        """`host:port` of the running broker, None when it is down."""
        if self.running_pid() is None or not self.bootstrap_file.exists():
            return None
        return self.bootstrap_file.read_text().strip()

    @property
    def sasl_bootstrap(self) -> str | None:
        """`127.0.0.1:port` of the SASL_PLAINTEXT listener while the broker runs, else None."""
        if not self.sasl_users or self.bootstrap is None or not self._ports_file().exists():
            return None
        return f"{HOST}:{json.loads(self._ports_file().read_text())['sasl_port']}"

    @property
    def sasl_ssl_bootstrap(self) -> str | None:
        """`127.0.0.1:port` of the SASL_SSL listener while the broker runs, else None."""
        if not (self.sasl_users and self.tls_keystore) or self.bootstrap is None \
                or not self._ports_file().exists():
            return None
        return f"{HOST}:{json.loads(self._ports_file().read_text())['sasl_ssl_port']}"

    @property
    def advertised_host(self) -> str:
        """The host name clients are given: the bound address, or this machine's name."""
        return socket.getfqdn() if self.listen_host in ("0.0.0.0", "::", "") else self.listen_host

    # -- start ---------------------------------------------------------------------------------
    def _choose_ports(self) -> tuple[int, int, int | None, int | None]:
        saved = {}
        if self._ports_file().exists():
            saved = json.loads(self._ports_file().read_text())
        port = saved.get("port", self.port)
        if not port_free(self.listen_host, port):
            if saved:
                log.warning("saved port %s is taken; the broker gets a new address", port)
            port = free_port(self.listen_host)
        cport = saved.get("controller_port", 0)
        if not cport or not port_free(HOST, cport) or cport == port:
            cport = free_port(HOST, exclude={port})
        sport = saved.get("sasl_port") if self.sasl_users else None
        if self.sasl_users and (not sport or not port_free(HOST, sport) or sport in (port, cport)):
            sport = free_port(HOST, exclude={port, cport})
        tls = bool(self.sasl_users and self.tls_keystore)
        tport = saved.get("sasl_ssl_port") if tls else None
        if tls and (not tport or not port_free(HOST, tport) or tport in (port, cport, sport)):
            tport = free_port(HOST, exclude={port, cport, sport or 0})
        return port, cport, sport, tport

    def _write_config(self, port: int, cport: int, sport: int | None,
                      tport: int | None) -> Path:
        props = server_properties(self.listen_host, port, cport, self.data_dir,
                                  self.advertised_host, sport, self.sasl_users, tport,
                                  self.tls_keystore)
        path = self.state_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.state_dir / "log4j2.properties").write_text(LOG4J2)
        ports = {"port": port, "controller_port": cport}
        ports.update({k: v for k, v in (("sasl_port", sport), ("sasl_ssl_port", tport)) if v})
        self._ports_file().write_text(json.dumps(ports))
        return path

    def _format(self, props: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        cmd = [_jars.java(), "-cp", f"{self.lib_dir}/*", "kafka.tools.StorageTool", "format",
               f"--cluster-id={cluster_id}", "-c", str(props), "--standalone",
               *scram_format_args(self.sasl_users or {})]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise BrokerError(f"storage format failed:\n{res.stdout}\n{res.stderr}")

    def up(self, timeout: float = 90.0) -> str:
        """Start the broker (fetching jars, formatting storage if needed); return its address.

        Prefers the saved (or the requested) port; if that is taken, or the JVM cannot bind
        it, a free port is used instead and the new address is returned.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(self.state_dir / ".lock"):
            if (address := self.bootstrap) is not None:
                return address
            _jars.ensure_jars(self.lib_dir)
            started = time.monotonic()
            for attempt in range(3):
                port, cport, sport, tport = self._choose_ports()
                props = self._write_config(port, cport, sport, tport)
                self._format(props)
                address = f"{self.advertised_host}:{port}"
                try:
                    self._launch(props, address, started + timeout)
                    break
                except BrokerError as exc:
                    if attempt == 2 or "Address already in use" not in str(exc):
                        raise
                    log.warning("port race while starting the broker; retrying on free ports")
                    self._ports_file().unlink(missing_ok=True)
                    self.port = free_port(self.listen_host)
            self.bootstrap_file.write_text(address)
            log.info("broker up at %s in %.1fs", address, time.monotonic() - started)
            return address

    def _launch(self, props: Path, address: str, deadline: float) -> None:
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        # C1-only JIT + serial GC: starts in ~5 s instead of ~10 s on 2 cores; plenty for dev.
        cmd = [_jars.java(), f"-Xms{self.heap[0]}", f"-Xmx{self.heap[1]}",
               "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
               f"-Dlog4j2.configurationFile={self.state_dir / 'log4j2.properties'}",
               "-cp", f"{self.lib_dir}/*", "kafka.Kafka", str(props)]
        with open(self.log_file, "ab") as out:
            spawn = popen_from_lasting_thread if self.die_with_parent else subprocess.Popen
            self._proc = spawn(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=parent_death_signal if self.die_with_parent else None)
        self.pid_file.write_text(str(self._proc.pid))
        try:
            self._wait_ready(address, log_offset, deadline)
        except BaseException:
            self._stop_pid(self._proc.pid, 10.0)
            self.pid_file.unlink(missing_ok=True)
            raise

    def _wait_ready(self, address: str, log_offset: int, deadline: float) -> None:
        from kafka.admin import KafkaAdminClient  # lazy: the CLI works without kafka-python

        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:
                raise BrokerError(f"broker exited with {self._proc.returncode}:\n{self._tail()}")
            with open(self.log_file, "rb") as fh:
                fh.seek(log_offset)
                text = fh.read().decode("utf-8", "replace")
            if any(m in text for m in READY_MARKERS):
                break
            if time.monotonic() > deadline:
                raise BrokerError(f"broker not ready in time:\n{self._tail()}")
            time.sleep(0.2)
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=address, request_timeout_ms=5000,
                                         bootstrap_timeout_ms=5000)
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except Exception as exc:  # noqa: BLE001 - probe retried until the deadline
                if time.monotonic() > deadline:
                    raise BrokerError(f"admin probe failed: {exc!r}\n{self._tail()}") from exc
                time.sleep(0.3)

    def _tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    # -- stop ----------------------------------------------------------------------------------
    def _stop_pid(self, pid: int, timeout: float) -> None:
        if not terminate(pid, timeout, self._proc):
            raise BrokerError(f"broker {pid} survived SIGKILL")

    def down(self, timeout: float = 30.0) -> bool:
        """SIGTERM the broker, SIGKILL after `timeout`; True if one was running."""
        if not self.state_dir.exists():
            return False
        with FileLock(self.state_dir / ".lock"):
            pid = self.running_pid()
            if pid is not None:
                self._stop_pid(pid, timeout)
            self.pid_file.unlink(missing_ok=True)
            self.bootstrap_file.unlink(missing_ok=True)
            self._proc = None
            return pid is not None

    def reset(self) -> None:
        """Stop the broker and delete its data (the jars in lib_dir are kept)."""
        self.down()
        for name in ("data", "ports.json", "server.properties", "log4j2.properties"):
            path = self.state_dir / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


@contextmanager
def broker_for_benchmark(bootstrap: str | None, state_dir: Path) -> Iterator[str]:
    """`bootstrap` if given, else a temporary die-with-parent broker in `state_dir` on a free
    port (start time printed), stopped when the block ends."""
    if bootstrap:
        yield bootstrap
        return
    broker = LocalBroker(state_dir=Path(state_dir), port=free_port(HOST), die_with_parent=True)
    started = time.perf_counter()
    address = broker.up()
    print(f"temporary broker {address} started in {time.perf_counter() - started:.1f} s")
    try:
        yield address
    finally:
        broker.down()


def main(argv: list[str] | None = None) -> int:
    """`python -m kafka_bridge.broker up|down|status|reset|fetch [--state-dir DIR] [--port N]`."""
    parser = argparse.ArgumentParser(prog="python -m kafka_bridge.broker", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "reset", "fetch"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--lib-dir", type=Path, default=None)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="preferred broker port")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--listen-host", default=HOST,
                        help="address the broker binds (default loopback; 0.0.0.0 = every "
                             "interface, reachable from other machines)")
    parser.add_argument("--sasl-user", help="also listen for SASL_PLAINTEXT (PLAIN, "
                        "SCRAM-SHA-256/512) on 127.0.0.1 for this user; the password from "
                        f"{SASL_PASSWORD_ENV} (SCRAM only on a freshly formatted state dir)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    users = None
    if args.sasl_user:
        if not os.environ.get(SASL_PASSWORD_ENV):
            parser.error(f"--sasl-user needs the password in {SASL_PASSWORD_ENV}")
        users = {args.sasl_user: os.environ[SASL_PASSWORD_ENV]}
    broker = LocalBroker(state_dir=args.state_dir, lib_dir=args.lib_dir, port=args.port,
                         listen_host=args.listen_host, sasl_users=users)
    try:
        if args.command == "fetch":
            print(_jars.ensure_jars(broker.lib_dir))
        elif args.command == "up":
            print(broker.up(timeout=args.timeout))
            if broker.sasl_bootstrap:
                print(f"SASL_PLAINTEXT {broker.sasl_bootstrap}")
        elif args.command == "down":
            print("stopped" if broker.down(timeout=min(args.timeout, 30.0)) else "not running")
        elif args.command == "reset":
            broker.reset()
            print(f"reset {broker.state_dir}")
        else:
            address = broker.bootstrap
            print(f"running pid={broker.running_pid()} bootstrap={address}" if address
                  else "not running")
            return 0 if address else 3
    except (BrokerError, _jars.ToolMissingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
