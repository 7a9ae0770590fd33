"""Submit the federation to a running SuperLink with `flwr run` and wait for it (local and compose).

    python -m deploy.submit --superlink superlink:8000 --manifest /data/manifest.json \
        [--root-certificates /certs/ca.crt [--register-keys /certs]] [--rounds 5] [--wait]

The run config is built from the split's `manifest.json` (data settings of the site files);
the connection goes to `$FLWR_HOME/config.toml` (`[superlink.fedchurn]`), never to
pyproject.toml. With `--register-keys DIR`, `DIR/node-<i>.pub` are registered first
(SuperNode authentication).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from churn.rounds import unique_run_id
from deploy.procs import DeployError

REPO_ROOT = Path(__file__).resolve().parents[1]
# The Flower app `flwr run` bundles: the checkout, or (installed package, e.g. in the image)
# the working directory, /app in docker/Dockerfile.
APP_DIR = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
CONNECTION = "fedchurn"


def deployment_run_id(run_name: str, flower_run_id: int) -> str:
    """`<run-name>-<last 6 hex of Flower's run id>` (a rerun under the same run-name gets its
    own id; Flower's 64-bit run ids are random), or `flwr-<Flower run id>` without a name.
    The ServerApp makes it; deploy.local and this module compute the same id to audit the run."""
    return unique_run_id(run_name, f"{flower_run_id:06x}"[-6:]) if run_name else f"flwr-{flower_run_id}"


def run_config_from_manifest(manifest: Mapping[str, Any], *, test_path: str, rounds: int,
                             min_nodes: int = 2, round_timeout: float = 120.0,
                             run_name: str = "", output_dir: str = "", code_version: str = "",
                             extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run config for the site files the manifest describes (keys of [tool.flwr.app.config])."""
    min_nodes = min(min_nodes, int(manifest["sites"]))
    config: dict[str, Any] = {
        "run-name": run_name, "num-server-rounds": rounds, "num-clients": int(manifest["sites"]),
        "data-config": json.dumps(manifest["data_config"], sort_keys=True),
        "partition-config": json.dumps(manifest["partition"], sort_keys=True),
        "seed": int(manifest["seed"]), "test-size": float(manifest["test_size"]),
        "min-train-nodes": min_nodes, "min-evaluate-nodes": min_nodes,
        "min-available-nodes": min_nodes, "round-timeout": float(round_timeout),
        "test-path": test_path, "output-dir": output_dir, "code-version": code_version,
    }
    config.update(extra or {})
    return config


@dataclass
class FlwrCli:
    """The `flwr` CLI with its own FLWR_HOME holding one SuperLink connection."""

    home: Path
    address: str
    root_certificates: Path | None = None  # None: insecure
    app_dir: Path = APP_DIR
    env: Mapping[str, str] | None = None

    def write_connection(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        conn = ([f'root-certificates = "{self.root_certificates}"'] if self.root_certificates
                else ["insecure = true"])
        (self.home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            f'address = "{self.address}"\n' + "\n".join(conn) + "\n")

    def __call__(self, args: Sequence[str], timeout: float = 180) -> str:
        env = {**(self.env or os.environ), "FLWR_HOME": str(self.home)}
        flwr = Path(sys.executable).parent / "flwr"
        done = subprocess.run([str(flwr) if flwr.exists() else "flwr", *args], cwd=self.app_dir,
                              env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise DeployError(f"flwr {' '.join(args)} failed ({done.returncode}):\n"
                              f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return done.stdout

    def register(self, public_key: Path, name: str) -> None:
        self(["supernode", "register", str(public_key), CONNECTION, "--name", name])

    def run(self, run_config_file: Path) -> str:
        out = self(["run", str(self.app_dir), CONNECTION, "--run-config", str(run_config_file),
                    "--format", "json"])
        return str(json.loads(out[out.index("{"):])["run-id"])

    def status(self, run_id: str) -> str:
        """The run's status text, e.g. "running" or "finished:completed".

        Asked in this process through Flower's Control API client (a `flwr ls` process per
        poll would cost seconds of CPU each on a 2-core machine)."""
        from flwr.cli.typing import SuperLinkConnection
        from flwr.cli.utils import init_http_client_from_connection
        from flwr.common.serde import run_from_proto
        from flwr.proto.control_pb2 import ListRunsRequest  # pylint: disable=E0611

        conn = SuperLinkConnection(
            name=CONNECTION, address=self.address,
            root_certificates=str(self.root_certificates) if self.root_certificates else None,
            insecure=self.root_certificates is None)
        previous = os.environ.get("FLWR_HOME")
        os.environ["FLWR_HOME"] = str(self.home)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # "Using SuperLink: ..." per poll
                client = init_http_client_from_connection(conn)
            try:
                res = client.ListRuns(ListRunsRequest(run_id=int(run_id)))
            finally:
                client.close()
        finally:
            if previous is None:
                os.environ.pop("FLWR_HOME", None)
            else:
                os.environ["FLWR_HOME"] = previous
        run = run_from_proto(res.run_dict[int(run_id)])
        status = run.status.status
        return f"{status}:{run.status.sub_status}" if run.status.sub_status else status

    def wait(self, run_id: str, timeout: float, still_ok: Any = None) -> str:
        """Poll until the run is finished; `still_ok()` may raise to abort early."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(run_id)
            if status.startswith("finished"):
                return status
            if still_ok is not None:
                still_ok()
            time.sleep(3)
        raise DeployError(f"run {run_id} not finished after {timeout:.0f} s")

    def log(self, run_id: str) -> str:
        return self(["log", run_id, CONNECTION, "--show"])


def parse_entries(items: Sequence[str]) -> dict[str, Any]:
    """KEY=VALUE run-config entries; numbers and booleans as JSON, everything else as text."""
    entries: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        entries[key] = value if isinstance(parsed, dict | list) else parsed
    return entries


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m deploy.submit`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superlink", required=True, help="HOST:PORT of the SuperLink")
    parser.add_argument("--manifest", type=Path, required=True, help="manifest.json of the split")
    parser.add_argument("--test-path", default="/data/test.csv", help="test.csv as the ServerApp sees it")
    parser.add_argument("--output-dir", default="", help="where the ServerApp saves the model")
    parser.add_argument("--root-certificates", type=Path, help="CA file: TLS (default insecure)")
    parser.add_argument("--register-keys", type=Path, help="folder with node-<i>.pub to register")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-nodes", type=int, default=2)
    parser.add_argument("--round-timeout", type=float, default=120.0)
    parser.add_argument("--run-name", default="")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("FLWR_HOME", "/tmp/flwr-home")))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more run-config entries, e.g. local-iterations=20")
    parser.add_argument("--app-dir", type=Path, default=APP_DIR, help="the Flower app to run")
    parser.add_argument("--wait", action="store_true", help="wait for the run and print its log")
    parser.add_argument("--timeout", type=float, default=3600.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    manifest = json.loads(args.manifest.read_text())
    cli = FlwrCli(args.home, args.superlink, args.root_certificates, args.app_dir)
    cli.write_connection()
    if args.register_keys:
        for site in range(int(manifest["sites"])):
            cli.register(args.register_keys / f"node-{site}.pub", f"site-{site}")
    run_name = args.run_name or f"compose-{time.strftime('%Y%m%d-%H%M%S')}"
    config = run_config_from_manifest(manifest, test_path=args.test_path, rounds=args.rounds,
                                      min_nodes=args.min_nodes, round_timeout=args.round_timeout,
                                      run_name=run_name, output_dir=args.output_dir,
                                      code_version=os.environ.get("FEDCHURN_CODE_VERSION", ""),
                                      extra=parse_entries(args.set))
    config_file = args.home / "run-config.toml"
    config_file.write_text(tomli_w.dumps(config))
    run_id = cli.run(config_file)
    run_name = deployment_run_id(run_name, int(run_id))  # the id the events carry
    print(f"run {run_name}: Flower run {run_id} submitted", flush=True)
    if not args.wait:
        return 0
    status = cli.wait(run_id, args.timeout)
    print(cli.log(run_id))
    print(f"run {run_name}: {status}", flush=True)
    return 0 if status == "finished:completed" else 1


if __name__ == "__main__":
    sys.exit(main())
