"""The compose topology as local processes: Kafka, SuperLink, one SuperNode per site, dashboard.

    fedchurn deploy-local --data deploy/data --rounds 3 [--tls [--auth]]
        [--isolation warm|subprocess|process] [--kill-site 2 --kill-at-round 2] [--hold]

`--data` is a folder written by `fedchurn split-sites` (site-<i>.csv, test.csv,
manifest.json). Everything is started, `flwr run` submits the app with a run config built
here, the run is awaited, and every process (and its children) is stopped afterwards; logs
stay in `--state-dir`. `--hold` keeps the topology up until Ctrl-C, e.g. to use the dashboard.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from deploy.dashboard_server import streamlit_command
from deploy.procs import DeployError, ProcessSet, wait_for_port
from deploy.submit import deployment_run_id, parse_entries, run_config_from_manifest
from deploy.topology import Topology
from kafka_bridge.processes import free_port, port_free

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_MARKER = ".fedchurn-deploy-state"
ROUND_LINE = re.compile(r"round\s+(\d+)\S*\s+participants\s+(\d+)/(\d+).*?\(([\d.]+) s\)")


@dataclass
class DeployOptions:
    """What to start and how to run the federation."""

    data_dir: Path
    state_dir: Path = REPO_ROOT / "deploy" / "data" / ".run"
    rounds: int = 3
    isolation: str = "warm"  # subprocess | process | warm (deploy.warm_superexec)
    tls: bool = False
    auth: bool = False
    certs_dir: Path | None = None
    bootstrap: str | None = None  # an existing broker; None starts a local one
    kafka: bool = True
    dashboard_port: int = 8501  # 0: no dashboard
    min_nodes: int = 2
    round_timeout: float = 120.0
    kill_site: int | None = None
    kill_at_round: int = 2
    run_name: str = ""
    run_config: dict[str, Any] = field(default_factory=dict)
    timeout: float = 900.0
    hold: bool = False
    task_poll_interval: float = 0.2


@dataclass
class DeployResult:
    """What the run did; `leftovers` names components that survived the stop (should be [])."""

    run_name: str
    flower_run_id: str
    status: str
    bootstrap: str | None
    round_seconds: list[float]
    participants: list[int]
    wall_s: float
    state_dir: Path
    killed_site: int | None = None
    leftovers: list[str] = field(default_factory=list)
    events: int = 0  # events of this run found in Kafka
    audit_ok: bool | None = None  # `fedchurn audit verify` verdict (None: no Kafka)


def run_config(opts: DeployOptions, manifest: dict[str, Any], bootstrap: str | None) -> dict[str, Any]:
    """The `flwr run --run-config` file: data settings from the split, paths on this machine."""
    from churn.provenance import code_version

    kafka = {"kafka-bootstrap": bootstrap or "",
             "kafka-spool-dir": str(opts.state_dir / "spool") if bootstrap else ""}
    return run_config_from_manifest(
        manifest, rounds=opts.rounds,
        test_path=str(opts.data_dir / "test.csv") if (opts.data_dir / "test.csv").is_file() else "",
        min_nodes=opts.min_nodes, round_timeout=opts.round_timeout, run_name=opts.run_name,
        output_dir=str(opts.state_dir / "output"), code_version=code_version(),
        extra={**kafka, **opts.run_config})


def deploy(opts: DeployOptions) -> DeployResult:
    """Start the topology, run the federation once, stop everything; raise DeployError on failure."""
    started = time.monotonic()
    opts.data_dir = opts.data_dir.resolve()
    manifest = json.loads((opts.data_dir / "manifest.json").read_text())
    opts.run_name = opts.run_name or f"deploy-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    if opts.dashboard_port and opts.kafka and not port_free("127.0.0.1", opts.dashboard_port):
        raise DeployError(f"port {opts.dashboard_port} is taken (another dashboard?); "
                          "pass --dashboard-port PORT, or 0 for none")
    state = opts.state_dir = opts.state_dir.resolve()
    if state.exists() and any(state.iterdir()):
        if not (state / STATE_MARKER).exists():
            raise DeployError(f"--state-dir {state} is not empty and not a deploy_local state folder")
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    (state / STATE_MARKER).write_text("written by deploy.local; deleted on its next run\n")
    topo = Topology(state, REPO_ROOT, isolation=opts.isolation, tls=opts.tls, auth=opts.auth,
                    certs_dir=opts.certs_dir, sites=int(manifest["sites"]),
                    task_poll_interval=opts.task_poll_interval)
    procs = ProcessSet(state / "logs", topo.env())
    broker = None
    result = DeployResult(opts.run_name, "", "not started", opts.bootstrap, [], [], 0.0, state)
    try:
        if opts.kafka and opts.bootstrap is None:
            from kafka_bridge.broker import LocalBroker

            broker = LocalBroker(state_dir=state / "kafka", port=free_port(), die_with_parent=True)
            result.bootstrap = broker.up(timeout=120)
        topo.prepare()
        topo.start_superlink(procs)
        for site in range(int(manifest["sites"])):
            topo.start_supernode(procs, site, opts.data_dir / f"site-{site}.csv")
        if opts.dashboard_port and result.bootstrap:
            dash = procs.start("dashboard", streamlit_command(opts.dashboard_port), cwd=REPO_ROOT,
                               env={**topo.env(), "FEDCHURN_KAFKA_BOOTSTRAP": result.bootstrap})
            wait_for_port("127.0.0.1", opts.dashboard_port, 120, dash)
            print(f"dashboard: http://localhost:{opts.dashboard_port}", flush=True)
        cfg_file = state / "run-config.toml"
        cfg_file.write_text(tomli_w.dumps(run_config(opts, manifest, result.bootstrap)))
        result.flower_run_id = topo.cli.run(cfg_file)
        result.run_name = deployment_run_id(opts.run_name, int(result.flower_run_id))
        print(f"run {result.run_name}: Flower run {result.flower_run_id} submitted", flush=True)
        if opts.kill_site is not None and _wait_for_round(topo, procs, result.flower_run_id, opts):
            procs.kill(f"supernode-{opts.kill_site}")
            result.killed_site = opts.kill_site
            print(f"killed supernode-{opts.kill_site} in round {opts.kill_at_round}", flush=True)
        result.status = topo.cli.wait(result.flower_run_id, opts.timeout,
                                      lambda: _check_alive(procs, "superlink"))
        log_text = topo.cli.log(result.flower_run_id)
        (state / "logs" / "serverapp.log").write_text(log_text)
        rounds = ROUND_LINE.findall(log_text)
        result.round_seconds = [float(r[3]) for r in rounds]
        result.participants = [int(r[1]) for r in rounds]
        if result.bootstrap:
            result.events, result.audit_ok = audit(result.bootstrap, result.run_name)
        if opts.hold:
            if result.bootstrap:
                print(f"audit: fedchurn audit verify --run {result.run_name} "
                      f"--bootstrap {result.bootstrap}", flush=True)
            print("topology is up; Ctrl-C stops it", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        result.leftovers = procs.stop_all()
        if broker is not None:
            broker.down()
        result.wall_s = time.monotonic() - started
    return result


def audit(bootstrap: str, run_name: str, timeout: float = 60.0) -> tuple[int, bool]:
    """(number of events, verdict) of `fedchurn audit verify` for the run, once it is complete."""
    from kafka_bridge.reader import EventReader
    from kafka_bridge.report import format_verdict
    from kafka_bridge.verify import verify_events

    deadline = time.monotonic() + timeout
    with EventReader(bootstrap) as reader:
        while True:
            events = reader.read_run(run_name)
            done = any(e.type in ("run_finished", "run_failed") for e in events)
            if done or time.monotonic() > deadline:
                break
            time.sleep(1)
    verdict = verify_events(events, run_name)
    print(format_verdict(verdict), flush=True)
    return len(events), bool(verdict.ok)


def _wait_for_round(topo: Topology, procs: ProcessSet, run_id: str, opts: DeployOptions) -> bool:
    """Wait until the site to kill has received its `kill_at_round`-th train message; False if
    the run ended first."""
    node = procs.get(f"supernode-{opts.kill_site}")
    deadline = time.monotonic() + opts.timeout
    while time.monotonic() < deadline:
        if node.log.read_text(errors="replace").count("Receiving: train message") >= opts.kill_at_round:
            return True
        if topo.cli.status(run_id).startswith("finished"):
            return False
        time.sleep(1)
    raise DeployError(f"round {opts.kill_at_round} did not start within {opts.timeout:.0f} s")


def _check_alive(procs: ProcessSet, name: str) -> None:
    if not procs.get(name).alive():
        raise DeployError(f"{name} died:\n{procs.get(name).tail()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedchurn deploy-local", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "deploy" / "data",
                        help="folder from fedchurn.split_sites (default deploy/data)")
    parser.add_argument("--state-dir", type=Path, default=DeployOptions.state_dir)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--isolation", choices=("subprocess", "process", "warm"),
                        default="warm")
    parser.add_argument("--tls", action="store_true", help="TLS between SuperLink, SuperNodes, flwr")
    parser.add_argument("--auth", action="store_true", help="SuperNode authentication (needs --tls)")
    parser.add_argument("--certs-dir", type=Path, help="from scripts/gen-certs.sh (default: generated)")
    parser.add_argument("--bootstrap", help="use this Kafka broker instead of starting one")
    parser.add_argument("--no-kafka", action="store_true", help="no broker, no mirror, no dashboard")
    parser.add_argument("--dashboard-port", type=int, default=8501, help="0: no dashboard")
    parser.add_argument("--min-nodes", type=int, default=2)
    parser.add_argument("--round-timeout", type=float, default=120.0)
    parser.add_argument("--kill-site", type=int, help="SIGKILL this site's SuperNode mid-run")
    parser.add_argument("--kill-at-round", type=int, default=2)
    parser.add_argument("--run-name", default="")
    parser.add_argument("--run-config", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra run-config entries, e.g. local-iterations=20 "
                        "strategy-config='{\"name\": \"fedprox\"}'")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--hold", action="store_true", help="keep everything up until Ctrl-C")
    args = parser.parse_args(argv)
    if args.auth and not args.tls:
        parser.error("--auth needs --tls (Flower refuses SuperNode authentication without TLS)")
    extra = parse_entries(args.run_config)
    opts = DeployOptions(
        data_dir=args.data, state_dir=args.state_dir, rounds=args.rounds,
        isolation=args.isolation, tls=args.tls, auth=args.auth, certs_dir=args.certs_dir,
        bootstrap=args.bootstrap, kafka=not args.no_kafka,
        dashboard_port=0 if args.no_kafka else args.dashboard_port, min_nodes=args.min_nodes,
        round_timeout=args.round_timeout, kill_site=args.kill_site,
        kill_at_round=args.kill_at_round, run_name=args.run_name, run_config=extra,
        timeout=args.timeout, hold=args.hold)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the topology on SIGTERM too
    try:
        result = deploy(opts)
    except DeployError as err:
        print(f"deploy-local failed: {err}", file=sys.stderr)
        return 1
    summary = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(result).items()}
    print(json.dumps(summary, indent=2))
    ok = (result.status == "finished:completed" and not result.leftovers
          and result.audit_ok is not False)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
