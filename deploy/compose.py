"""Drive docker-compose.yml for one compose project: the CLI, up/stop/down, one-shot waits, logs."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploy.procs import DeployError

REPO = Path(__file__).resolve().parents[1]


def compose_cli() -> list[str]:
    """`docker compose` (v2 plugin) where installed, else Debian's `docker-compose` (v1.29)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise DeployError("neither `docker compose` nor `docker-compose` is installed: "
                      "apt-get install -y docker-compose (scripts/install-test-tools.sh)")


def daemon_problem() -> str | None:
    """Why no Docker daemon answers, or None when one does."""
    if shutil.which("docker") is None:
        return "the docker CLI is missing: apt-get install -y docker.io"
    done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                          text=True, timeout=60)
    if done.returncode != 0:
        return f"no Docker daemon answers `docker info`: {done.stderr.strip()[-500:]}"
    return None


@dataclass
class ComposeProject:
    """One `-p NAME` project of docker-compose.yml with its own environment."""

    name: str
    env: Mapping[str, str]
    file: Path = REPO / "docker-compose.yml"
    cli: list[str] = field(default_factory=compose_cli)

    def __call__(self, *args: str, timeout: float = 900, check: bool = True) -> str:
        cmd = [*self.cli, "-f", str(self.file), "-p", self.name, *args]
        done = subprocess.run(cmd, cwd=self.file.parent, env=dict(self.env), capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise DeployError(f"{' '.join(cmd[len(self.cli):])} failed ({done.returncode}):\n"
                              f"{done.stdout[-3000:]}\n{done.stderr[-4000:]}")
        return done.stdout + done.stderr

    def container(self, service: str) -> str:
        """The id of the service's (first) container, running or exited."""
        ids = self("ps", "-a", "-q", service).split()
        ids = [i for i in ids if len(i) >= 12 and all(c in "0123456789abcdef" for c in i)]
        if not ids:
            raise DeployError(f"service {service} has no container in project {self.name}")
        return ids[0]

    def wait_exit(self, service: str, timeout: float) -> int:
        """Block until the one-shot service's container exits; its exit code."""
        done = subprocess.run(["docker", "wait", self.container(service)], capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise DeployError(f"docker wait {service}: {done.stderr}")
        return int(done.stdout.strip())

    def logs(self, *services: str) -> str:
        return self("logs", "--no-color", *services, check=False)

    def wait_log(self, service: str, needle: str, timeout: float) -> str:
        """The service's log once it contains `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in (text := self.logs(service)):
                return text
            time.sleep(2)
        raise DeployError(f"{service} did not log {needle!r} in {timeout:.0f} s:\n{text[-3000:]}")

    def down(self, extra: Sequence[str] = ("-v", "--remove-orphans")) -> str:
        return self("down", *extra, "--timeout", "10", check=False)
