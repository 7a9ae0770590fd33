"""The one Streamlit launch command serves the dashboard on loopback only."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

import psutil

from deploy.dashboard_server import REPO_ROOT, streamlit_command
from kafka_bridge.processes import free_port


def test_dashboard_listens_on_loopback_only() -> None:
    port = free_port()
    env = {**os.environ, "FEDCHURN_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    server = subprocess.Popen(streamlit_command(port), cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert server.poll() is None, "streamlit exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        listening = [c.laddr for c in psutil.Process(server.pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN]
        assert listening, "no listening socket"
        assert {addr.ip for addr in listening} == {"127.0.0.1"}
        assert {addr.port for addr in listening} == {port}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
