"""Process helpers on real processes: descendants, groups, liveness, ports, parent-death signal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

from kafka_bridge.processes import (
    any_alive,
    descendants,
    free_port,
    group_alive,
    parent_death_signal,
    pid_alive,
    popen_from_lasting_thread,
    port_free,
    signal_group,
)


def _wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_process_tree_is_found_and_stopped_by_its_group() -> None:
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    try:
        assert _wait(lambda: len(descendants(leader.pid)) == 2)
        children = descendants(leader.pid)
        assert group_alive(leader.pid) and any_alive(children) and pid_alive(leader.pid)
        signal_group(leader.pid, signal.SIGTERM)
        leader.wait(timeout=10)
        assert _wait(lambda: not any_alive(children))
        assert _wait(lambda: not group_alive(leader.pid))
        assert not pid_alive(leader.pid)  # reaped
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
            leader.wait()


def test_zombie_is_not_alive() -> None:
    child = subprocess.Popen(["true"])
    assert _wait(lambda: not pid_alive(child.pid))  # exited, not reaped yet: a zombie
    child.wait()


def test_free_port_is_free_until_someone_listens() -> None:
    port = free_port("127.0.0.1")
    assert port_free("127.0.0.1", port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not port_free("127.0.0.1", port)
        assert free_port("127.0.0.1", exclude={port}) != port


def _start_in_thread(spawn) -> subprocess.Popen:  # noqa: ANN001 - Popen-like callable
    box: list[subprocess.Popen] = []
    thread = threading.Thread(target=lambda: box.append(
        spawn(["sleep", "30"], preexec_fn=parent_death_signal)))
    thread.start()
    thread.join()
    return box[0]


def test_child_survives_the_thread_that_spawned_it():
    plain, lasting = _start_in_thread(subprocess.Popen), _start_in_thread(popen_from_lasting_thread)
    try:
        deadline = time.monotonic() + 10
        while plain.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert plain.returncode == -15  # what happened to the broker a helper thread restarted
        assert lasting.poll() is None
    finally:
        for proc in (plain, lasting):
            proc.kill()
            proc.wait()
