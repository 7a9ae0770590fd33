"""A SuperExec for `--isolation process` SuperNodes that forks pre-imported ClientApp processes.

Flower 1.42's SuperExec starts a fresh `flwr-clientapp` process for every message (train,
evaluate, query), so each one pays Python + flwr + numpy/pandas/scikit-learn imports again;
there is no long-lived ClientApp process in 1.42. This SuperExec imports those libraries once
and then forks one child per task; the child runs Flower's own `run_clientapp` with the task's
token, so the task protocol, isolation per message and the reply path stay Flower's.

    flower-supernode --isolation process --port 9094 ...
    python -m deploy.warm_superexec --runtime-api-address 127.0.0.1:9094 --insecure

Only ClientApp tasks are forked; anything else is handed to Flower's subprocess executor.
Project modules are not pre-imported by default, so the code a run uses is still the FAB's.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from flwr.supercore.constant import ExecutorType, TaskType
from flwr.supercore.superexec import run_superexec as superexec_module
from flwr.supercore.superexec.executor.subprocess_executor import SubprocessExecutor
from flwr.supercore.superexec.executor.types import ExecutionSpec, LaunchResult
from flwr.supernode.runtime.run_clientapp import run_clientapp

PRELOAD = ("numpy", "pandas", "scipy.optimize", "sklearn.linear_model", "sklearn.metrics",
           "sklearn.model_selection", "sklearn.preprocessing")


class ForkExecutor(SubprocessExecutor):
    """Forks this (pre-imported) process for each ClientApp task; reaps finished children."""

    def __init__(self) -> None:
        self.children: set[int] = set()

    def launch(self, spec: ExecutionSpec) -> LaunchResult:
        if spec.task_type != TaskType.CLIENT_APP:
            return super().launch(spec)
        certificates = None
        if not spec.insecure and spec.root_certificates_path:
            with open(spec.root_certificates_path, "rb") as file:
                certificates = file.read()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child: never returns into the SuperExec loop
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                run_clientapp(runtime_api_address=spec.runtime_api_address, token=spec.token,
                              insecure=spec.insecure, certificates=certificates,
                              parent_pid=spec.parent_pid, runtime_dependency_install=False)
                code = 0
            except SystemExit as ex:
                code = ex.code if isinstance(ex.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children.add(pid)
        return LaunchResult.accepted()

    def reconcile(self) -> None:
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)

    def close(self) -> None:
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m deploy.warm_superexec`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-api-address", required=True, help="the SuperNode's Runtime API")
    tls = parser.add_mutually_exclusive_group(required=True)
    tls.add_argument("--insecure", action="store_true")
    tls.add_argument("--root-certificates", help="CA of the Runtime API's certificate")
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--preload", nargs="*", default=list(PRELOAD),
                        help="modules imported once before any task (default: the ML stack)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for module in args.preload:
        importlib.import_module(module)
    executor = ForkExecutor()
    # Flower's loop picks its executor through this module-level name; use ours instead.
    superexec_module.get_executor = lambda *_a, **_k: executor
    superexec_module.run_superexec(
        runtime_api_address=args.runtime_api_address, insecure=args.insecure,
        root_certificates_path=args.root_certificates, parent_pid=args.parent_pid,
        executor_type=ExecutorType.SUBPROCESS,
    )


if __name__ == "__main__":
    main()
