"""Start and stop the Streamlit dashboard as a background process: `up` prints its URL."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from kafka_bridge.config import ENV_VARS
from kafka_bridge.processes import pid_alive, signal_group, wait_pid_exit

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = REPO_ROOT / ".dashboard"
APP = REPO_ROOT / "dashboard" / "app.py"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The one command line that serves `dashboard/app.py`: on loopback unless `address` says
    otherwise (Streamlit's own default is every interface), headless, no usage statistics."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true",
            "--browser.gatherUsageStats", "false"]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_dashboard(port: int, bootstrap: str, topic_prefix: str | None = None,
                    timeout: float = 60.0) -> str:
    """Serve `dashboard/app.py` on `port` in the background; return its URL once healthy."""
    STATE_DIR.mkdir(exist_ok=True)
    pid_file = STATE_DIR / "streamlit.pid"
    url = f"http://localhost:{port}"
    if pid_file.exists() and pid_alive(int(pid_file.read_text())) and _healthy(port):
        return url
    env = {**os.environ, ENV_VARS["bootstrap_servers"]: bootstrap}
    if topic_prefix:
        env[ENV_VARS["topic_prefix"]] = topic_prefix
    log = (STATE_DIR / "streamlit.log").open("ab")
    process = subprocess.Popen(
        streamlit_command(port), cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard exited (code {process.returncode}); "
                               f"see {STATE_DIR / 'streamlit.log'}")
        if _healthy(port):
            return url
        time.sleep(0.5)
    stop_dashboard()
    raise TimeoutError(f"the dashboard did not answer on port {port} within {timeout:.0f} s")


def stop_dashboard(timeout: float = 15.0) -> bool:
    """Stop the dashboard started by `start_dashboard`; True if one was running."""
    pid_file = STATE_DIR / "streamlit.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    if not pid_alive(pid):
        return False
    signal_group(pid, signal.SIGTERM)  # started with start_new_session: its pid is the group
    if not wait_pid_exit(pid, timeout):
        signal_group(pid, signal.SIGKILL)
    return True


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fedchurn dashboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="serve the dashboard in the background")
    up.add_argument("--port", type=int, default=8501)
    up.add_argument("--bootstrap", default=os.environ.get(ENV_VARS["bootstrap_servers"], "localhost:9092"))
    up.add_argument("--topic-prefix", default=None)
    sub.add_parser("down", help="stop it")
    args = parser.parse_args(argv)
    if args.command == "up":
        url = start_dashboard(args.port, args.bootstrap, args.topic_prefix)
        print(f"dashboard: {url}  (Kafka {args.bootstrap}; stop everything with `make stop`)")
    else:
        print("dashboard stopped" if stop_dashboard() else "no dashboard was running")


if __name__ == "__main__":
    main()
