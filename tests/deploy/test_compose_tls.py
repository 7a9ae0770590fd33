"""The secure switch in a real Docker engine: `--env-file deploy/tls.env` turns on TLS and
SuperNode authentication, with keys from the `certs` service, each SuperNode holding only its own."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafka_bridge.verify import verify_events
from tests.deploy.compose_stack import Stack, compose_stack, run_events

pytestmark = [pytest.mark.compose]

REPO = Path(__file__).resolve().parents[2]
TLS_ENV = dict(line.split("=", 1) for line in (REPO / "deploy" / "tls.env").read_text().splitlines()
               if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    # the image the default-mode module built; the switch changes flags, not images
    with compose_stack(request, "tls", rounds=1, extra_env=TLS_ENV, build=False) as running:
        yield running


def mounts(container: str) -> dict[str, str]:
    """Mount destination -> volume name of a container."""
    info = json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, text=True,
                                     check=True).stdout)[0]
    return {m["Destination"]: m.get("Name", m["Source"]) for m in info["Mounts"]}


def test_tls_and_node_auth_run_finishes_and_verifies(stack: Stack, tmp_path: Path) -> None:
    events = run_events(stack.bootstrap, stack.first_run)
    assert events[-1].type == "run_finished" and verify_events(events, stack.first_run).ok
    assert sum(e.type == "client_update" for e in events) == 3  # all three nodes authenticated
    link = stack.project.container("superlink")
    args = json.loads(subprocess.run(["docker", "inspect", link], capture_output=True, text=True,
                                     check=True).stdout)[0]["Args"]
    assert "--enable-supernode-auth" in args and "--insecure" not in args
    # the published SuperLink port speaks TLS with the certs service's CA (host side)
    subprocess.run(["docker", "cp", f"{link}:/certs/public/ca.crt", str(tmp_path / "ca.crt")], check=True)
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    port = int(stack.project("port", "superlink", "8000").strip().splitlines()[-1].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_each_supernode_mounts_only_its_own_key_and_nobody_but_certs_the_ca(stack: Stack) -> None:
    project = stack.project
    seen = {service: mounts(project.container(service))
            for service in ("superlink", "supernode-0", "supernode-1", "supernode-2",
                            "superexec-serverapp", "federation", "dashboard", "certs")}
    for i in range(3):
        keys = [v for v in seen[f"supernode-{i}"].values() if v.endswith("-key")]
        assert keys == [f"{project.name}_node-{i}-key"], seen[f"supernode-{i}"]
        node_key = subprocess.run(["docker", "exec", project.container(f"supernode-{i}"), "ls",
                                   "/certs/node"], capture_output=True, text=True).stdout.split()
        assert node_key == ["key"]
    for service, volumes in seen.items():
        has_ca = f"{project.name}_ca" in volumes.values()
        assert has_ca is (service == "certs"), service
