"""Flower deployment-engine processes of the local topology: SuperLink, SuperNodes, SuperExecs.

Flower 1.42 facts this relies on (read in its source, checked by running it):
- `flower-superlink` serves Fleet, Control and Runtime APIs on one HTTP port (`--port`).
- `--isolation subprocess` makes SuperLink/SuperNode start their own `flower-superexec`;
  `--isolation process` expects one started separately (done here). Either way the SuperExec
  starts one `flwr-clientapp` process per message and one `flwr-serverapp` per run.
- `flwr` reads SuperLink connections from `$FLWR_HOME/config.toml` (`deploy.submit`).
- `warm` (ours): SuperNodes in `--isolation process` served by `deploy.warm_superexec`,
  which forks pre-imported ClientApp processes; the SuperLink stays in subprocess isolation.
- SuperNode authentication needs TLS; keys are OpenSSH ECDSA pairs and the SuperLink learns
  the public keys through `flwr supernode register`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deploy.procs import DeployError, ProcessSet, wait_for_port, wait_for_text
from deploy.submit import FlwrCli
from kafka_bridge.processes import free_port

HOST = "127.0.0.1"


@dataclass
class Topology:
    """Addresses, certificates and commands of one local deployment in `state`."""

    state: Path
    app_dir: Path
    isolation: str = "subprocess"
    tls: bool = False
    auth: bool = False
    certs_dir: Path | None = None
    sites: int = 3
    task_poll_interval: float = 0.2
    link_port: int = field(default_factory=free_port)

    @property
    def certs(self) -> Path:
        return self.certs_dir or self.state / "certs"

    @property
    def cli(self) -> FlwrCli:
        """`flwr` against this deployment (its own FLWR_HOME in the state folder)."""
        return FlwrCli(self.state / "flwr", f"{HOST}:{self.link_port}",
                       self.certs / "ca.crt" if self.tls else None, self.app_dir, self.env())

    @property
    def bin_dir(self) -> Path:
        return Path(sys.executable).parent

    def env(self, flwr_home: Path | None = None) -> dict[str, str]:
        """Environment of every component: venv on PATH (SuperExec starts `flwr-*` by name)."""
        return {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "FLWR_HOME": str(flwr_home or self.state / "flwr"),
                "FLWR_TELEMETRY_ENABLED": "0",
                "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
                "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": str(self.task_poll_interval),
                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

    def prepare(self) -> None:
        """Certificates (when TLS is on) and the `flwr` CLI's connection file."""
        if self.tls and not (self.certs / "server.pem").exists():
            script = self.app_dir / "scripts" / "gen-certs.sh"
            subprocess.run(["bash", str(script), str(self.certs), str(self.sites)], check=True,
                           capture_output=True, text=True)
        self.cli.write_connection()

    def _client_tls(self) -> list[str]:
        return ["--root-certificates", str(self.certs / "ca.crt")] if self.tls else ["--insecure"]

    def start_superlink(self, procs: ProcessSet) -> None:
        link_isolation = "process" if self.isolation == "process" else "subprocess"
        argv = [str(self.bin_dir / "flower-superlink"), "--host", HOST, "--port", str(self.link_port),
                "--isolation", link_isolation, "--disable-runtime-dependency-installation",
                "--database", str(self.state / "superlink.db")]
        if self.tls:
            argv += ["--ssl-ca-certfile", str(self.certs / "ca.crt"),
                     "--ssl-certfile", str(self.certs / "server.pem"),
                     "--ssl-keyfile", str(self.certs / "server.key")]
        else:
            argv.append("--insecure")
        if self.auth:
            argv.append("--enable-supernode-auth")
        link = procs.start("superlink", argv, cwd=self.state)
        wait_for_port(HOST, self.link_port, 120, link)
        if self.isolation == "process":
            procs.start("superexec-serverapp",
                        [str(self.bin_dir / "flower-superexec"), "--runtime-api-address",
                         f"{HOST}:{self.link_port}", *self._client_tls()], cwd=self.state)
        if self.auth:
            for site in range(self.sites):
                self.cli.register(self.certs / f"node-{site}.pub", f"site-{site}")

    def start_supernode(self, procs: ProcessSet, site: int, data_file: Path) -> None:
        if not data_file.is_file():
            raise DeployError(f"{data_file} is missing; run fedchurn split-sites first")
        port = free_port()
        home = self.state / f"node-{site}"
        home.mkdir(parents=True, exist_ok=True)
        argv = [str(self.bin_dir / "flower-supernode"), "--superlink", f"{HOST}:{self.link_port}",
                *self._client_tls(), "--host", HOST, "--port", str(port),
                "--isolation", "subprocess" if self.isolation == "subprocess" else "process",
                "--node-config", f'partition-id={site} data-path="{data_file.resolve()}"']
        if self.auth:
            argv += ["--auth-supernode-private-key", str(self.certs / f"node-{site}")]
        env = self.env(flwr_home=home)
        node = procs.start(f"supernode-{site}", argv, cwd=home, env=env)
        wait_for_port(HOST, port, 120, node)
        executor = {"process": [str(self.bin_dir / "flower-superexec")],
                    "warm": [sys.executable, "-m", "deploy.warm_superexec"]}.get(self.isolation)
        if executor:
            procs.start(f"superexec-{site}", [*executor, "--runtime-api-address", f"{HOST}:{port}",
                                              "--insecure"], cwd=home, env=env)
        wait_for_text(node, "SuperNode ID", 120)
