"""Background processes of the local deployment: start in own sessions, stop whole trees, wait."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kafka_bridge.processes import (
    any_alive,
    descendants,
    group_alive,
    parent_death_signal,
    signal_group,
    signal_pids,
)


class DeployError(RuntimeError):
    """A component of the local topology failed to start, run or stop."""


@dataclass
class Managed:
    """One started command: its own process group (so its children die with it) and log file."""

    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session=True: the leader's pid is the group id

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ProcessSet:
    """Processes started for one deployment, stopped in reverse order by `stop_all`."""

    log_dir: Path
    env: Mapping[str, str]
    started: list[Managed] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> Managed:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=cwd, env=dict(env or self.env), start_new_session=True,
                preexec_fn=parent_death_signal,  # dies with the launcher, even by SIGKILL
            )
        managed = Managed(name, process, log)
        self.started.append(managed)
        return managed

    def get(self, name: str) -> Managed:
        return next(m for m in self.started if m.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL one component and everything it started (fault injection)."""
        managed = self.get(name)
        pids = descendants(managed.process.pid)
        signal_group(managed.pgid, signal.SIGKILL)
        signal_pids(pids, signal.SIGKILL)
        managed.process.wait(timeout=10)

    def stop_all(self, timeout: float = 20.0) -> list[str]:
        """SIGTERM every component (last started first) with its group and descendants (some
        Flower children detach into their own session), SIGKILL what remains; returns the
        names of components with survivors (should be [])."""
        survivors = []
        for managed in reversed(self.started):
            pids = {managed.process.pid} | descendants(managed.process.pid)
            signal_group(managed.pgid, signal.SIGTERM)
            signal_pids(pids, signal.SIGTERM)
            _wait(lambda m=managed, p=pids: not group_alive(m.pgid) and not any_alive(p), timeout)
            if group_alive(managed.pgid) or any_alive(pids):
                signal_group(managed.pgid, signal.SIGKILL)
                signal_pids(pids, signal.SIGKILL)
            try:
                managed.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if _wait(lambda m=managed, p=pids: not group_alive(m.pgid) and not any_alive(p), 5) is False:
                survivors.append(managed.name)
        return survivors


def _wait(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_for_port(host: str, port: int, timeout: float, watch: Managed | None = None) -> None:
    """Wait until something accepts TCP connections on host:port (the watched process alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watch is not None and not watch.alive():
            raise DeployError(f"{watch.name} exited (code {watch.process.returncode}):\n"
                              f"{watch.tail()}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise DeployError(f"nothing listens on {host}:{port} after {timeout:.0f} s"
                      + (f"; {watch.name} log:\n{watch.tail()}" if watch else ""))


def wait_for_text(managed: Managed, pattern: str, timeout: float, count: int = 1) -> None:
    """Wait until `pattern` occurs `count` times in the process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if managed.log.exists() and managed.log.read_text(errors="replace").count(pattern) >= count:
            return
        if not managed.alive():
            raise DeployError(f"{managed.name} exited before logging {pattern!r}:\n{managed.tail()}")
        time.sleep(0.3)
    raise DeployError(f"{managed.name} did not log {pattern!r} x{count} in {timeout:.0f} s:\n"
                      f"{managed.tail()}")
