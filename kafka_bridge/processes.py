"""Process, port and file-lock helpers: the local broker, the spool, deploy/ and the tests use these."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

log = logging.getLogger(__name__)


class FileLock:
    """Exclusive advisory lock on a file (flock); blocking unless `blocking=False`."""

    def __init__(self, path: Path, blocking: bool = True) -> None:
        self.path = Path(path)
        self.blocking = blocking
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False if non-blocking and held elsewhere."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def port_free(host: str, port: int) -> bool:
    """True if a listener could bind host:port now (SO_REUSEADDR, like the JVM)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", exclude: set[int] | None = None) -> int:
    """A port the kernel reports free on host (not in `exclude`)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in (exclude or set()):
            return port


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def any_alive(pids: set[int]) -> bool:
    """True while any of `pids` is a live (non-zombie) process."""
    return any(pid_alive(pid) for pid in pids)


def descendants(pid: int) -> set[int]:
    """Pids of every live descendant of `pid` (children of children too)."""
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def group_alive(pgid: int) -> bool:
    """True while any non-zombie process is in process group `pgid`."""
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group; a group already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def signal_pids(pids: set[int], sig: int) -> None:
    """Send `sig` to each pid; processes already gone are fine."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_pid_exit(pid: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Wait up to `timeout` s for pid to exit (reaping it if it is our child); True if gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.pid == pid:
            if proc.poll() is not None:
                return True
        elif not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def terminate(pid: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """SIGTERM, wait up to `timeout` s, then SIGKILL; True once the process is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    if wait_pid_exit(pid, timeout, proc):
        return True
    log.warning("process %s ignored SIGTERM for %.0fs; sending SIGKILL", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return wait_pid_exit(pid, 10.0, proc)


def parent_death_signal() -> None:
    """In a child before exec: ask Linux for SIGTERM when the parent dies (no orphans).

    Linux means the parent *thread*: spawn with `popen_from_lasting_thread`, or the child
    dies as soon as a short-lived thread that started it returns.
    """
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the child outlives a killed parent
        pass


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def popen_from_lasting_thread(*args: Any, **kwargs: Any) -> subprocess.Popen:
    """`subprocess.Popen(*args, **kwargs)` run by one worker thread that lives as long as the
    process. PR_SET_PDEATHSIG fires when the thread that forked the child exits, so a broker
    started from a helper thread (a test's outage script) was SIGTERMed right after it."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-bridge-spawner")
    return _spawner.submit(subprocess.Popen, *args, **kwargs).result()
