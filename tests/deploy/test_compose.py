"""docker-compose.yml in a real Docker engine: the whole federation, audit from the host, the
dashboard in Chromium, a SuperNode stopped mid-run; always `down -v` at the end.

Images that cannot be pulled here are built by deploy.images (debootstrap base, host wheels,
Kafka from Maven jars) and selected with the compose file's own image variables. Each phase's
time is printed at the end of the module and written to .artifacts/compose-times.json.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy import images
from deploy.compose import ComposeProject, daemon_problem
from deploy.procs import free_port
from kafka_bridge.audit_cli import main as audit_main
from kafka_bridge.reader import EventReader
from kafka_bridge.verify import verify_events

pytestmark = [pytest.mark.compose]

ROUNDS = 3
REPO = Path(__file__).resolve().parents[2]
RUN_LINE = re.compile(r"run (compose-\S+): Flower run (\d+) submitted")


@dataclass
class Stack:
    project: ComposeProject
    bootstrap: str
    dashboard_url: str
    first_run: str
    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - started


def run_events(bootstrap: str, run_name: str) -> list:
    with EventReader(bootstrap) as reader:
        return reader.read_run(run_name)


def submitted_run(log: str, after: set[str] = frozenset()) -> str:
    names = [m.group(1) for m in RUN_LINE.finditer(log) if m.group(1) not in after]
    assert names, f"no run submitted:\n{log[-3000:]}"
    return names[-1]


def report(request: pytest.FixtureRequest, phases: dict[str, float]) -> None:
    line = "compose phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
    out = REPO / ".artifacts" / "compose-times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({k: round(v, 1) for k, v in phases.items()}, indent=1) + "\n")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}", flush=True)


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    if problem := daemon_problem():
        pytest.fail(f"the compose tests need a Docker engine: {problem}. As root, `make test` "
                    "(.ci/run) installs docker.io and starts dockerd.")
    phases: dict[str, float] = {}
    started = time.monotonic()
    base = images.build_base(images.apt_mirror(), log=print)
    phases["base build"] = time.monotonic() - started
    started = time.monotonic()
    flwr = images.build_flwr(base, log=print)
    kafka = images.build_kafka(base, log=print)
    phases["stand-in build"] = time.monotonic() - started
    kafka_port, dash_port, link_port = free_port(), free_port(), free_port()
    empty = tempfile.mkdtemp(prefix="fedchurn-no-split-")  # no split here: synthetic site data
    env = {**os.environ, "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0",
           "FEDCHURN_KAFKA_IMAGE": kafka, "FEDCHURN_SUPERLINK_IMAGE": flwr["superlink"],
           "FEDCHURN_SUPERNODE_IMAGE": flwr["supernode"], "FEDCHURN_SUPEREXEC_IMAGE": flwr["superexec"],
           "FEDCHURN_TAG": "compose-test", "FEDCHURN_SITE_DATA": empty,
           "FEDCHURN_KAFKA_PORT": str(kafka_port), "FEDCHURN_DASHBOARD_PORT": str(dash_port),
           "FEDCHURN_SUPERLINK_PORT": str(link_port), "ROUNDS": str(ROUNDS), "ROUND_TIMEOUT": "60"}
    project = ComposeProject(f"fedchurn-test-{os.getpid()}-{secrets.token_hex(3)}", env)
    stack = Stack(project, f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{dash_port}", "", phases)
    try:
        with stack.phase("image build"):
            project("build")
        with stack.phase("up"):
            project("up", "-d")
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
        report(request, phases)


def test_run_reads_from_kafka_on_the_published_port_and_verifies(stack: Stack) -> None:
    events = run_events(stack.bootstrap, stack.first_run)
    kinds = [e.type for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("round_aggregated") == ROUNDS and kinds.count("client_update") == 3 * ROUNDS
    assert verify_events(events, stack.first_run).ok
    assert audit_main(["verify", "--run", stack.first_run, "--bootstrap", stack.bootstrap]) == 0


def test_ports_are_published_on_loopback_only(stack: Stack) -> None:
    for service, port in (("kafka", "9092"), ("dashboard", "8501"), ("superlink", "8000")):
        bound = stack.project("port", service, port).strip().splitlines()[-1]
        assert bound.startswith("127.0.0.1:"), (service, bound)


def test_dashboard_in_chromium_shows_the_run_and_its_rounds(stack: Stack) -> None:
    from tests.dashboard.browser import chromium_driver, page_text, plotted_rounds, wait_for

    driver = chromium_driver()
    try:
        driver.get(stack.dashboard_url)
        wait_for(lambda: stack.first_run in page_text(driver), 90, "the run on the Runs page")
        driver.get(f"{stack.dashboard_url}/run?run={stack.first_run}")
        wait_for(lambda: "status\nfinished" in page_text(driver), 90, "the finished run's page")
        wait_for(lambda: plotted_rounds(driver) == ROUNDS, 60, f"{ROUNDS} AUC points")
        assert "Traceback" not in page_text(driver)
    finally:
        driver.quit()


def test_supernode_stopped_mid_run_is_recorded_missing_and_the_run_finishes(stack: Stack) -> None:
    project = stack.project
    with stack.phase("fault run"):
        project("up", "-d", "--no-deps", "--force-recreate", "federation")
        log = project.wait_log("federation", "submitted", timeout=120)
        run_name = submitted_run(log, after={stack.first_run})
        deadline = time.monotonic() + 300
        while not any(e.type == "round_aggregated" for e in run_events(stack.bootstrap, run_name)):
            assert time.monotonic() < deadline, "round 1 of the fault run never finished"
            time.sleep(3)
        project("stop", "--timeout", "5", "supernode-2")
        code = project.wait_exit("federation", timeout=600)
    assert code == 0, project.logs("federation")[-4000:]
    events = run_events(stack.bootstrap, run_name)
    assert events[-1].type == "run_finished"
    assert verify_events(events, run_name).ok
    rounds = [e.payload for e in events if e.type == "round_aggregated"]
    assert len(rounds) == ROUNDS
    # a stopped node's pending message comes back as Flower's error (a `reply_rejected` event)
    # or not at all (listed `missing` in round_aggregated); later rounds sample the live two
    failures = [e.payload for e in events if e.type == "reply_rejected"]
    failures += [m for r in rounds for m in r.get("missing", [])]
    assert failures and {f["partition_id"] for f in failures} <= {2, None}, failures
    from dashboard.run_state import build_runs
    from dashboard.tables import round_log

    log_table = round_log(build_runs(events)[run_name])
    assert (log_table["rejected"] + log_table["missing"]).sum() >= 1
