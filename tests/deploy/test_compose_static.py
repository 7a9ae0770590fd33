"""docker-compose.yml and docker/Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SITES = 3


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yml as users run it: every variable at its default."""
    return yaml.safe_load(interpolate((REPO / "docker-compose.yml").read_text(), {}))


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_services_images_and_ports(compose: dict) -> None:
    services = compose["services"]
    expected = {"site-data", "certs", "register-nodes", "kafka", "superlink", "superexec-serverapp",
                "dashboard", "federation", *[f"supernode-{i}" for i in range(SITES)],
                *[f"clientapp-{i}" for i in range(SITES)]}
    assert set(services) == expected
    # official images by default; deploy.images' stand-ins only through these variables
    assert re.fullmatch(r"apache/kafka:4\.1\.\d+", services["kafka"]["image"])
    assert services["superlink"]["image"] == "flwr/superlink:1.42.0"
    raw = (REPO / "docker-compose.yml").read_text()
    for name in ("FEDCHURN_BROKER_IMAGE", "FEDCHURN_SUPERLINK_IMAGE", "FEDCHURN_SUPERNODE_IMAGE",
                 "FEDCHURN_SUPEREXEC_IMAGE"):
        assert "${" + name + ":-" in raw, name
    for i in range(SITES):
        assert services[f"supernode-{i}"]["image"] == "flwr/supernode:1.42.0"
    for name in ("superexec-serverapp", "dashboard", "federation", "site-data", "certs",
                 "register-nodes", *[f"clientapp-{i}" for i in range(SITES)]):
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile", name
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"kafka": ["127.0.0.1:9092:9092"], "superlink": ["127.0.0.1:8000:8000"],
                         "dashboard": ["127.0.0.1:8501:8501"]}
    env = services["kafka"]["environment"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "INTERNAL://kafka:19092,EXTERNAL://localhost:9092"
    assert set(env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].replace(":", ",").split(",")) >= {
        "INTERNAL", "EXTERNAL", "CONTROLLER"}


def test_flower_flags_are_the_1_42_ones(compose: dict) -> None:
    services = compose["services"]
    link = command_text(services["superlink"])
    assert "--isolation process" in link and "--port 8000" in link and "--insecure" in link
    raw = (REPO / "docker-compose.yml").read_text()
    assert "${SUPERLINK_SECURITY:---insecure}" in raw and "${SUPERNODE_AUTH:-}" in raw
    for old_flag in ("--fleet-api-address", "--serverappio-api-address", "--clientappio-api-address",
                     "--appio-api-address", "--plugin-type", "--exec-api-address"):
        assert old_flag not in raw, old_flag
    for i in range(SITES):
        node = command_text(services[f"supernode-{i}"])
        assert "--superlink superlink:8000" in node and "--isolation process" in node
        assert f"partition-id={i}" in node and 'data-path="/data/site.csv"' in node
        executor = services[f"clientapp-{i}"]
        assert executor["entrypoint"][-1] == "deploy.warm_superexec"
        assert f"supernode-{i}:9094" in executor["command"]
    assert "--runtime-api-address superlink:8000" in command_text(services["superexec-serverapp"])


def mounts(services: dict) -> dict[str, set[str]]:
    """Named volume -> the services that mount it."""
    seen: dict[str, set[str]] = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            seen.setdefault(volume.split(":")[0], set()).add(name)
    return seen


def test_each_service_mounts_only_the_data_and_keys_it_needs(compose: dict) -> None:
    services = compose["services"]
    seen = mounts(services)
    for i in range(SITES):
        assert seen[f"site-{i}-data"] == {"site-data", f"clientapp-{i}"}
        assert services[f"clientapp-{i}"]["volumes"] == [f"site-{i}-data:/data:ro"]
        assert seen[f"node-{i}-key"] == {"certs", f"supernode-{i}"}  # its own key only
    assert seen["ca"] == {"certs"}  # nobody else ever sees the CA key
    assert seen["superlink-tls"] == {"certs", "superlink"}
    assert seen["server-data"] == {"site-data", "superexec-serverapp", "federation", "register-nodes"}
    assert seen["kafka-spool"] == {"superexec-serverapp"}  # the mirror's spool survives recreation
    assert set(compose["volumes"]) >= {"kafka-spool", "ca", "tls-public", "superlink-tls"}
    for name, service in services.items():
        if name not in ("site-data", "certs"):
            for volume in service.get("volumes", []):
                target = volume.split(":")[1]
                assert volume.endswith(":ro") or target in ("/app/output", "/app/spool",
                                                            "/var/lib/kafka/data"), (name, volume)


def test_healthchecks_and_start_order(compose: dict) -> None:
    services = compose["services"]
    for name in ("kafka", "superlink", "dashboard", *[f"supernode-{i}" for i in range(SITES)]):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["retries"] >= 10, name
    for i in range(SITES):
        assert "--health-server-address 0.0.0.0:8081" in command_text(services[f"supernode-{i}"])
    assert "--health-server-address 0.0.0.0:8081" in command_text(services["superlink"])
    run_after = services["federation"]["depends_on"]
    assert run_after["kafka"]["condition"] == "service_healthy"
    assert run_after["superlink"]["condition"] == "service_healthy"
    for i in range(SITES):
        assert run_after[f"supernode-{i}"]["condition"] == "service_healthy"
        assert f"clientapp-{i}" in run_after
    assert services["superexec-serverapp"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["federation"]["restart"] == "no"


def test_tls_env_switches_every_component(compose: dict) -> None:
    env = dict(line.split("=", 1) for line in (REPO / "deploy" / "tls.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert "--ssl-certfile /certs/superlink/server.pem" in env["SUPERLINK_SECURITY"]
    assert "--enable-supernode-auth" in env["SUPERLINK_SECURITY"]
    assert env["FLWR_CLIENT_TLS"] == "--root-certificates /certs/public/ca.crt"
    assert env["SUPERNODE_AUTH"] == "--auth-supernode-private-key /certs/node/key"
    assert env["FEDERATION_TLS"] == "--root-certificates /certs/public/ca.crt"
    assert env["NODE_REGISTRATION"] == "--register-keys /certs/public"
    for i in range(SITES):  # keys are registered before any SuperNode starts
        after = compose["services"][f"supernode-{i}"]["depends_on"]["register-nodes"]
        assert after["condition"] == "service_completed_successfully"
    text = (REPO / "docker-compose.yml").read_text()
    for key in env:
        assert "${" + key in text, key
    for name in ("FEDCHURN_KAFKA_SECURITY_PROTOCOL", "FEDCHURN_KAFKA_SASL_MECHANISM",
                 "FEDCHURN_KAFKA_SASL_USERNAME", "FEDCHURN_KAFKA_SASL_PASSWORD"):
        assert name in compose["services"]["superexec-serverapp"]["environment"]


def test_dockerfile_bakes_pinned_dependencies_on_flowers_image() -> None:
    text = (REPO / "docker" / "Dockerfile").read_text()
    froms = re.findall(r"(?m)^FROM\s+(\S+)", text)
    assert froms == ["${FEDCHURN_SUPEREXEC_IMAGE}"]
    assert "ARG FEDCHURN_SUPEREXEC_IMAGE=flwr/superexec:1.42.0-py3.11-" in text
    assert "-r /app/docker/requirements.lock" in text
    assert "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1" in text
    lock = [line for line in (REPO / "docker" / "requirements.lock").read_text().splitlines()
            if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.+\-]+", line) for line in lock), lock
    names = {line.split("==")[0].lower().replace("_", "-") for line in lock}
    assert "flwr==1.42.0" in lock and "ray" not in names
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.split(r"[\[<>=!~ ]", dep, maxsplit=1)[0].lower().replace("_", "-")
        assert name in names, dep
    for path in re.findall(r"(?m)^COPY\s+(?:--\S+\s+)*(.+?)\s+\S+$", text):
        for source in path.split():
            assert (REPO / source).exists(), source
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"deploy/data", "deploy/certs", ".venv"} <= set(ignored)


def test_compose_config_dry_run_where_a_compose_cli_exists(tmp_path: Path) -> None:
    """`docker compose config` needs no engine; this machine's docker CLI lacks the plugin, so
    the check runs only where one is installed (then it validates against the compose spec)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        cmd = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        cmd = ["docker-compose"]
    else:
        pytest.fail("no `docker compose` plugin or docker-compose binary: run `make test-tools`")
    for env_file in (None, REPO / "deploy" / "tls.env"):
        args = [*cmd, "-f", str(REPO / "docker-compose.yml")]
        if env_file:
            args += ["--env-file", str(env_file)]
        done = subprocess.run([*args, "config", "--quiet"], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${NAME}` / `${NAME:-default}` substitution."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}",
                  lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


@pytest.mark.parametrize("env_file", [None, "deploy/tls.env"])
def test_every_command_parses_with_the_installed_flower_clis(env_file: str | None) -> None:
    """Each service's command (after env substitution) is accepted by the 1.42 argument parser of
    the program it runs, so a renamed or removed flag fails here rather than in a container."""
    import shlex

    from flwr.common.config import parse_config_args
    from flwr.supercore.cli.flower_superexec import _parse_args as superexec_parser
    from flwr.superlink.cli.flower_superlink import _parse_args_run_superlink
    from flwr.supernode.cli.flower_supernode import _parse_args_run_supernode

    from deploy.submit import build_parser as submit_parser
    from deploy.warm_superexec import build_parser as warm_parser

    env = {}
    if env_file:
        env = dict(line.split("=", 1) for line in (REPO / env_file).read_text().splitlines()
                   if line and not line.startswith("#"))
    services = yaml.safe_load(interpolate((REPO / "docker-compose.yml").read_text(), env))["services"]

    def argv(name: str) -> list[str]:
        command = services[name]["command"]
        return list(command) if isinstance(command, list) else shlex.split(command)

    link = _parse_args_run_superlink().parse_args(argv("superlink"))
    assert link.insecure is (env_file is None) and link.isolation == "process"
    assert link.enable_supernode_auth is (env_file is not None)
    superexec_parser().parse_args(argv("superexec-serverapp"))
    for i in range(SITES):
        node = _parse_args_run_supernode().parse_args(argv(f"supernode-{i}"))
        assert parse_config_args([node.node_config]) == {"partition-id": i, "data-path": "/data/site.csv"}
        assert (node.root_certificates is None) is (env_file is None)
        executor = warm_parser().parse_args(argv(f"clientapp-{i}"))
        assert executor.runtime_api_address == f"supernode-{i}:9094"
    submit = submit_parser().parse_args(argv("federation"))
    assert submit.superlink == "superlink:8000" and submit.wait and submit.register_keys is None
    assert (submit.root_certificates is None) is (env_file is None)
    register = submit_parser().parse_args(argv("register-nodes"))
    assert register.register_only and (register.register_keys is None) is (env_file is None)
