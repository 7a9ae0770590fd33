"""The `fedchurn` command: one subcommand per job, each handing its arguments to its module."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple


class Command(NamedTuple):
    module: str  # holds `main`
    hydra: bool  # True: main() reads Hydra overrides from sys.argv; False: main(argv)
    summary: str


COMMANDS: dict[str, Command] = {
    "simulate": Command("fedchurn.simulate", True,
                        "run a federation (Hydra overrides; -m for a sweep)"),
    "baselines": Command("fedchurn.baselines", True,
                         "centralized and local-only reference models (Hydra overrides)"),
    "inspect": Command("fedchurn.inspect", False,
                       "check a churn CSV: inferred schema, blanks, churn rate, leaks (no training)"),
    "score": Command("fedchurn.score", False, "score a customer CSV with a saved model"),
    "audit": Command("kafka_bridge.audit_cli", False,
                     "verify | list | export runs mirrored to Kafka or a JSONL file"),
    "split-sites": Command("fedchurn.split_sites", False,
                           "write one CSV per site and the server's test.csv"),
    "deploy-local": Command("deploy.local", False,
                            "the docker-compose topology as local processes (Flower deployment)"),
    "dashboard": Command("deploy.dashboard_server", False, "serve (up) or stop (down) the dashboard"),
    "compose-images": Command("deploy.images", False,
                              "build the compose file's images where no registry is reachable"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: fedchurn COMMAND [ARGS...]   (fedchurn COMMAND --help for its options)", "",
             "commands:"]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch `fedchurn COMMAND ARGS...`; the module is imported only when it runs."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"fedchurn: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    entry = importlib.import_module(command.module).main
    if command.hydra:  # Hydra parses sys.argv itself
        sys.argv = [f"fedchurn {name}", *rest]
        entry()
        return 0
    return int(entry(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
