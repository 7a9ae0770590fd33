"""Compose-test plumbing: stand-in images, one compose project on free 127.0.0.1 ports, phase times.

Images that cannot be pulled here are built by deploy.images (debootstrap base, host wheels,
Kafka from Maven jars) and selected with the compose file's own image variables. Each phase's
time is printed when the stack is torn down and added to .artifacts/compose-times.json.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy import images
from deploy.compose import ComposeProject, daemon_problem
from deploy.procs import DeployError
from kafka_bridge.events import Event
from kafka_bridge.processes import free_port
from kafka_bridge.reader import EventReader

REPO = Path(__file__).resolve().parents[2]
TIMES = REPO / ".artifacts" / "compose-times.json"
RUN_LINE = re.compile(r"run (compose-\S+): Flower run (\d+) submitted")


@dataclass
class Stack:
    """A running compose project and what the host reaches of it."""

    project: ComposeProject
    bootstrap: str
    dashboard_url: str
    first_run: str = ""
    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - started


def run_events(bootstrap: str, run_name: str) -> list[Event]:
    with EventReader(bootstrap) as reader:
        return reader.read_run(run_name)


def submitted_run(log: str, after: frozenset[str] = frozenset()) -> str:
    """The last run name the submitter printed that is not in `after`."""
    names = [m.group(1) for m in RUN_LINE.finditer(log) if m.group(1) not in after]
    assert names, f"no run submitted:\n{log[-3000:]}"
    return names[-1]


def report(request: pytest.FixtureRequest, label: str, phases: Mapping[str, float]) -> None:
    """Print the phase times past pytest's capture and keep them in .artifacts."""
    line = f"compose phases ({label}): " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
    TIMES.parent.mkdir(exist_ok=True)
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    times[label] = {k: round(v, 1) for k, v in phases.items()}
    TIMES.write_text(json.dumps(times, indent=1) + "\n")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}", flush=True)


def stand_in_images(phases: dict[str, float]) -> dict[str, str]:
    """Build (or find, by content hash) the stand-ins; the compose variables that select them."""
    started = time.monotonic()
    base = images.build_base(images.apt_mirror(), log=print)
    phases["base build"] = time.monotonic() - started
    started = time.monotonic()
    flwr = images.build_flwr(base, log=print)
    kafka = images.build_kafka(base, log=print)
    phases["stand-in build"] = time.monotonic() - started
    return {"FEDCHURN_BROKER_IMAGE": kafka, "FEDCHURN_SUPERLINK_IMAGE": flwr["superlink"],
            "FEDCHURN_SUPERNODE_IMAGE": flwr["supernode"], "FEDCHURN_SUPEREXEC_IMAGE": flwr["superexec"]}


@contextmanager
def compose_stack(request: pytest.FixtureRequest, label: str, rounds: int,
                  extra_env: Mapping[str, str] | None = None, build: bool = True) -> Iterator[Stack]:
    """`up [--build] -d` a fresh project with synthetic data, wait for the submitter's run,
    yield; always `down -v`."""
    if problem := daemon_problem():
        pytest.fail(f"the compose tests need a Docker engine: {problem}. As root, `make test` "
                    "(.ci/run) installs docker.io and starts dockerd.")
    phases: dict[str, float] = {}
    image_env = stand_in_images(phases)
    kafka_port, dash_port, link_port = free_port(), free_port(), free_port()
    empty = tempfile.mkdtemp(prefix="fedchurn-no-split-")  # no split there: synthetic site data
    os.chmod(empty, 0o755)  # the containers' user (uid 49999) reads it
    env = {**os.environ, **image_env, **(extra_env or {}),
           # no buildx here: the classic builder (it never pulls a Dockerfile frontend image)
           "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0",
           "FEDCHURN_TAG": "compose-test", "FEDCHURN_SITE_DATA": empty,
           "FEDCHURN_BROKER_PORT": str(kafka_port), "FEDCHURN_DASHBOARD_PORT": str(dash_port),
           "FEDCHURN_SUPERLINK_PORT": str(link_port), "ROUNDS": str(rounds), "ROUND_TIMEOUT": "60"}
    project = ComposeProject(f"fedchurn-test-{os.getpid()}-{secrets.token_hex(3)}", env)
    stack = Stack(project, f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{dash_port}", phases=phases)
    try:
        if build:  # timed on its own; `up --build` below then finds every layer cached
            with stack.phase("image build"):
                project("build")
        with stack.phase("up"):
            try:
                project("up", "--build" if build else "--no-build", "-d")
            except DeployError as exc:
                raise DeployError(f"{exc}\n--- logs ---\n{project.logs()[-6000:]}") from None
        with stack.phase("run"):
            code = project.wait_exit("federation", timeout=600)
        log = project.logs("federation")
        assert code == 0, f"the submitter exited {code}:\n{log[-4000:]}\n" + project.logs()[-6000:]
        stack.first_run = submitted_run(log)
        yield stack
    finally:
        with stack.phase("down"):
            project.down()
        os.rmdir(empty)
        report(request, label, phases)
