"""Audit CLI logic (`fedchurn audit`): verify a run, list runs, export a run."""

from __future__ import annotations

import argparse
import logging
import sys

from kafka_bridge.jsonl import read_jsonl, write_jsonl
from kafka_bridge.reader import EventReader, order_events
from kafka_bridge.report import format_runs, format_verdict
from kafka_bridge.verify import verify_events


def _add_source(p: argparse.ArgumentParser, files: bool) -> None:
    p.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka HOST:PORT")
    p.add_argument("--topic-prefix", default="fedchurn")
    if files:
        p.add_argument("--events", help="verify an exported JSONL file instead of Kafka")


def build_parser(prog: str = "fedchurn audit") -> argparse.ArgumentParser:
    """Subcommands: verify, list, export."""
    parser = argparse.ArgumentParser(prog=prog, description="Audit federated runs mirrored "
                                     "to Kafka by the fedchurn bridge.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify", help="check seq, digests, counts and FedAvg of one run")
    p.add_argument("--run", help="run id (optional with --events holding a single run)")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="do not fail a run that has no run_finished/run_failed yet")
    p.add_argument("--public-key", help="hex Ed25519 key the run must be signed with (from "
                   "results.json `audit_public_key` or `public-key --key`)")
    _add_source(p, files=True)
    p = sub.add_parser("public-key", help="print the public key of a deployment's signing key")
    p.add_argument("--key", required=True, help="the signing key file (signing-key.pem)")
    p = sub.add_parser("list", help="list runs with their status")
    _add_source(p, files=True)
    p = sub.add_parser("export", help="write one run's events to a JSONL file")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    _add_source(p, files=False)
    return parser


def _load(args: argparse.Namespace) -> tuple[dict[str, list], int]:
    if getattr(args, "events", None):
        runs: dict[str, list] = {}
        for event in read_jsonl(args.events):
            runs.setdefault(event.run_id, []).append(event)
        return runs, 0
    with EventReader(args.bootstrap, args.topic_prefix) as reader:
        return reader.read_all(dedupe=False), reader.malformed_count  # verify checks copies


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 = verified, 1 = mismatch/gap/problem, 2 = usage or I/O error."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # client noise; failures reported below
    if args.command == "public-key":
        return _print_public_key(args.key)
    try:
        runs, malformed = _load(args)
    except Exception as exc:  # noqa: BLE001 - reported as a usage/I-O failure
        print(f"error: cannot read events: {exc}", file=sys.stderr)
        return 2
    if malformed:
        print(f"warning: skipped {malformed} malformed message(s) on the topics", file=sys.stderr)
    if args.command == "list":
        print(format_runs({run: order_events(evs) for run, evs in runs.items()}))
        return 0
    run_id = args.run
    if run_id is None:
        if len(runs) != 1:
            print(f"error: --run is required ({len(runs)} runs in the input)", file=sys.stderr)
            return 2
        run_id = next(iter(runs))
    events = runs.get(run_id, [])
    if args.command == "export":
        if not events:
            print(f"error: no events for run {run_id}", file=sys.stderr)
            return 2
        print(f"wrote {write_jsonl(events, args.out)} events to {args.out}")
        return 0
    verdict = verify_events(events, run_id, allow_incomplete=args.allow_incomplete,
                            public_key=args.public_key)
    print(format_verdict(verdict))
    return 0 if verdict.ok else 1


def _print_public_key(path: str) -> int:
    """Print the hex public key of an existing signing key file (never creates one)."""
    from pathlib import Path

    from kafka_bridge.signing import load_or_create_key, public_key_hex

    if not Path(path).is_file():
        print(f"error: no signing key at {path}", file=sys.stderr)
        return 2
    try:
        print(public_key_hex(load_or_create_key(path)))
    except ValueError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    return 0
