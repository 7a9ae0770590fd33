"""Background processes of the local deployment: start in own sessions, stop whole trees, wait."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


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
                preexec_fn=_die_with_parent,
            )
        managed = Managed(name, process, log)
        self.started.append(managed)
        return managed

    def get(self, name: str) -> Managed:
        return next(m for m in self.started if m.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL one component and everything it started (fault injection)."""
        managed = self.get(name)
        pids = _descendants(managed.process.pid)
        _signal_group(managed.pgid, signal.SIGKILL)
        _signal_pids(pids, signal.SIGKILL)
        managed.process.wait(timeout=10)

    def stop_all(self, timeout: float = 20.0) -> list[str]:
        """SIGTERM every component (last started first) with its group and descendants (some
        Flower children detach into their own session), SIGKILL what remains; returns the
        names of components with survivors (should be [])."""
        survivors = []
        for managed in reversed(self.started):
            pids = {managed.process.pid} | _descendants(managed.process.pid)
            _signal_group(managed.pgid, signal.SIGTERM)
            _signal_pids(pids, signal.SIGTERM)
            _wait(lambda m=managed, p=pids: not _group_exists(m.pgid) and not _alive(p), timeout)
            if _group_exists(managed.pgid) or _alive(pids):
                _signal_group(managed.pgid, signal.SIGKILL)
                _signal_pids(pids, signal.SIGKILL)
            try:
                managed.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if _wait(lambda m=managed, p=pids: not _group_exists(m.pgid) and not _alive(p), 5) is False:
                survivors.append(managed.name)
        return survivors


def _die_with_parent() -> None:
    """In the child: SIGTERM when the launcher dies, even by SIGKILL (Linux PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_pids(pids: set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _processes() -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent pid, process group) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return table


def _descendants(pid: int) -> set[int]:
    """All live descendants of `pid`, found through parent links."""
    table = _processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (_, ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> bool:
    table = _processes()
    return any(pid in table and table[pid][0] != "Z" for pid in pids)


def _group_exists(pgid: int) -> bool:
    """True while any non-zombie process is in the group."""
    return any(pgroup == pgid and state != "Z" for state, _, pgroup in _processes().values())


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


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the kernel reports free on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
