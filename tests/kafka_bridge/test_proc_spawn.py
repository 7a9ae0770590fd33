"""A child with a parent-death signal outlives the short-lived thread that started it."""

from __future__ import annotations

import subprocess
import threading
import time

from kafka_bridge._proc import parent_death_signal, popen_from_lasting_thread


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
