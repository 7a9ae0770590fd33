"""Process, port and file-lock helpers for the local broker and the spool."""

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


def free_port(host: str, exclude: set[int] | None = None) -> int:
    """A port the kernel reports free on host (not in `exclude`)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in (exclude or set()):
            return port


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


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

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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
