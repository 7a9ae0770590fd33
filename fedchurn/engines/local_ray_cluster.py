"""A Ray cluster of several nodes on this machine (tests, benchmarks), stopped by its own pids.

Each node is a `ray start --block` child in its own process group with its own `--temp-dir`;
stopping terminates those groups and then any process whose command line names one of the
temp dirs (raylet, GCS, workers), never `ray stop`, which would end every Ray process on the
machine, other users' clusters included.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from kafka_bridge.processes import free_port, signal_group, signal_pids

_RAY = str(Path(sys.executable).with_name("ray"))


# Ports Ray's components take by default; `ray start` refuses a worker-port range that holds
# one (seen in CI: a random range 52219-52419 around the dashboard agent's 52365).
_RAY_DEFAULT_PORTS = (6379, 8265, 10001, 52365)
_WORKER_PORTS = 200


def _worker_port_range() -> tuple[int, int]:
    """A free start port whose range of `_WORKER_PORTS` misses Ray's default ports."""
    while True:
        low = free_port()
        high = low + _WORKER_PORTS
        if high < 65536 and not any(low <= port <= high for port in _RAY_DEFAULT_PORTS):
            return low, high


def _node_command(temp_dir: str, cpus: int, head_port: int, head: bool) -> list[str]:
    low, high = _worker_port_range()
    command = [_RAY, "start", "--block", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}",
               "--num-gpus=0", f"--temp-dir={temp_dir}", "--disable-usage-stats",
               "--object-store-memory=100000000", f"--min-worker-port={low}",
               f"--max-worker-port={high}"]
    if head:
        return [*command, "--head", f"--port={head_port}", "--include-dashboard=false"]
    return [*command, f"--address=127.0.0.1:{head_port}"]


def alive_nodes(address: str) -> int:
    """How many nodes the cluster at `address` reports alive (asked from a fresh driver)."""
    probe = (f"import ray; ray.init(address={address!r}, logging_level='ERROR', "
             "log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    lines = done.stdout.strip().splitlines()
    return int(lines[-1]) if done.returncode == 0 and lines and lines[-1].isdigit() else 0


@dataclass(frozen=True)
class LocalRayCluster:
    """The head's address (`engine.ray_address`) and each node's temp dir (its logs)."""

    address: str
    temp_dirs: list[str]


@contextmanager
def local_ray_cluster(nodes: int = 2, cpus_per_node: int = 2,
                      timeout: float = 180.0) -> Iterator[LocalRayCluster]:
    """Start `nodes` Ray nodes on 127.0.0.1 and yield them; stop them all on exit."""
    port = free_port()
    temp_dirs = [tempfile.mkdtemp(prefix=f"fcray{k}_", dir="/tmp") for k in range(nodes)]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    procs: list[subprocess.Popen] = []
    address = f"127.0.0.1:{port}"
    try:
        for k, temp_dir in enumerate(temp_dirs):
            log = open(Path(temp_dir) / "ray-start.log", "w")  # noqa: SIM115 - lives with the node
            procs.append(subprocess.Popen(_node_command(temp_dir, cpus_per_node, port, k == 0),
                                          env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
            # each node waits for the one before it: a worker node needs the head's GCS
            _wait_for(lambda d=temp_dir, p=procs[-1]: _started(d, p), timeout, f"Ray node {k}",
                      temp_dir)
        yield LocalRayCluster(address, temp_dirs)
    finally:
        _stop(procs, temp_dirs)
        for temp_dir in temp_dirs:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _started(temp_dir: str, proc: subprocess.Popen) -> bool:
    """The node's `ray start` said it is up; an exited one raises (its log says why)."""
    log = Path(temp_dir) / "ray-start.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    if proc.poll() is not None:
        raise RuntimeError(f"ray start exited with {proc.returncode}:\n{text[-2000:]}")
    return "Ray runtime started" in text


def _wait_for(ready: Callable[[], bool], timeout: float, what: str, temp_dir: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            log = Path(temp_dir) / "ray-start.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise TimeoutError(f"{what} did not come up in {timeout:.0f} s; ray start said:\n{tail}")
        time.sleep(0.5)


def _stop(procs: list[subprocess.Popen], temp_dirs: list[str]) -> None:
    for proc in reversed(procs):  # workers first, the head last (each in its own session)
        signal_group(proc.pid, signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while (left := _processes_naming(temp_dirs)) and time.monotonic() < deadline:
        signal_pids(left, signal.SIGTERM if time.monotonic() < deadline - 10 else signal.SIGKILL)
        time.sleep(0.5)
    signal_pids(_processes_naming(temp_dirs), signal.SIGKILL)


def _processes_naming(temp_dirs: list[str]) -> set[int]:
    """Pids whose command line mentions one of our temp dirs (this cluster's processes only)."""
    found = set()
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if proc.pid != os.getpid() and any(d in cmdline for d in temp_dirs):
            found.add(proc.pid)
    return found
