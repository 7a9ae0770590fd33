"""`python -m kafka_bridge replay|spool-status|demo|topics|schema`: operate the bridge's spool/topics."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from kafka_bridge.config import BridgeConfig
from kafka_bridge.producer import EventProducer
from kafka_bridge.spool import (
    Spool,
    SpoolBusyError,
    SpoolPrefixError,
    fallback_spools,
    recorded_prefix,
)
from kafka_bridge.topics import ensure_topics

SECURITY_FLAGS = {  # replay flag -> BridgeConfig field (the password only from the environment)
    "security_protocol": "security_protocol", "sasl_mechanism": "sasl_mechanism",
    "sasl_username": "sasl_plain_username", "ssl_cafile": "ssl_cafile",
    "ssl_certfile": "ssl_certfile", "ssl_keyfile": "ssl_keyfile",
}
PASSWORD_ENV = "FEDCHURN_KAFKA_SASL_PASSWORD"


def replay(spool_dir: str | Path, config: BridgeConfig | dict, timeout_s: float = 60.0
           ) -> dict[str, int]:
    """Deliver every undelivered event of a spool directory with the full bridge `config`
    (security included); the topic prefix is the one the spool recorded, if it did."""
    cfg = BridgeConfig.from_dict(config)
    recorded = recorded_prefix(spool_dir)
    cfg = replace(cfg, spool_dir=str(spool_dir), flush_timeout_s=timeout_s,
                  topic_prefix=recorded or cfg.topic_prefix)
    return EventProducer(cfg).close()


def replay_config(args: argparse.Namespace, env: dict[str, str]) -> dict:
    """Bridge config for `replay`: --config file (conf/bridge/kafka.yaml form), then flags,
    then the SASL password from FEDCHURN_KAFKA_SASL_PASSWORD."""
    cfg: dict = {}
    if args.config:
        from omegaconf import OmegaConf  # resolves ${oc.env:...} like the Hydra run did

        cfg = dict(OmegaConf.to_container(OmegaConf.load(args.config), resolve=True))
        cfg.pop("name", None)
    for flag, key in SECURITY_FLAGS.items():
        if getattr(args, flag):
            cfg[key] = getattr(args, flag)
    if args.bootstrap:
        cfg["bootstrap_servers"] = args.bootstrap
    if args.topic_prefix:
        cfg["topic_prefix"] = args.topic_prefix
    if env.get(PASSWORD_ENV):
        cfg["sasl_plain_password"] = env[PASSWORD_ENV]
    if not cfg.get("bootstrap_servers"):
        raise ValueError("replay needs --bootstrap or a --config naming bootstrap_servers")
    return cfg


def replay_all(spool: Path, cfg: dict, timeout_s: float) -> dict[str, int]:
    """Replay a spool and its fallback `proc-*` spools; a fallback spool fully delivered is
    removed (its events are on Kafka: merged), one still pending stays and is reported."""
    totals = {"delivered": 0, "spooled": 0, "pending": 0}
    for directory in [spool, *fallback_spools(spool)]:
        recorded = recorded_prefix(directory)
        if cfg.get("topic_prefix") and recorded and recorded != cfg["topic_prefix"]:
            raise SpoolPrefixError(f"{directory} recorded topic prefix {recorded!r}, not "
                                   f"{cfg['topic_prefix']!r}: omit --topic-prefix to use it")
        for key, n in replay(directory, cfg, timeout_s).items():
            totals[key] = totals.get(key, 0) + n
        if directory != spool and Spool(directory).close_if_settled():
            shutil.rmtree(directory)
            print(f"fallback spool {directory} delivered and removed", file=sys.stderr)
    return totals


def main(argv: list[str] | None = None) -> int:
    """CLI; exit 1 if events remain undelivered or the spool is busy."""
    parser = argparse.ArgumentParser(prog="python -m kafka_bridge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("replay", help="deliver a spool's (and its proc-* fallbacks') pending "
                       "events to Kafka")
    p.add_argument("--spool", required=True, type=Path)
    p.add_argument("--config", type=Path, help="bridge settings (YAML, conf/bridge/kafka.yaml "
                   "keys; ${oc.env:...} resolved)")
    p.add_argument("--bootstrap")
    p.add_argument("--topic-prefix", help="default: the prefix the spool recorded")
    for flag in SECURITY_FLAGS:
        p.add_argument("--" + flag.replace("_", "-"))
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("spool-status", help="count pending events in a spool")
    p.add_argument("--spool", required=True, type=Path)
    p = sub.add_parser("demo", help="publish a synthetic consistent run (dashboard testing)")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic-prefix", default="fedchurn")
    p.add_argument("--spool", type=Path, default=Path(".kafka/spool"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--clients", type=int, default=4)
    sub.add_parser("schema", help="print the JSON Schema of the current event version")
    p = sub.add_parser("topics", help="create the bridge topics (idempotent)")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic-prefix", default="fedchurn")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    if args.command == "schema":
        from kafka_bridge.schema import schema_text

        sys.stdout.write(schema_text())
        return 0
    try:
        if args.command == "replay":
            totals = replay_all(args.spool, replay_config(args, dict(os.environ)), args.timeout)
            print(json.dumps(totals))
            return 0 if totals["pending"] == 0 else 1
        if args.command == "spool-status":
            for directory in [args.spool, *fallback_spools(args.spool)]:
                spool = Spool(directory)
                print(json.dumps({"spool": str(spool.directory), "pending": spool.pending_count,
                                  "pending_bytes": spool.pending_bytes,
                                  "topic_prefix": spool.topic_prefix}))
                spool.close()
            return 0
        if args.command == "demo":
            from kafka_bridge.observer import KafkaObserver
            from kafka_bridge.synthetic import every_event_kind, play, synthetic_run

            observer = KafkaObserver({"bootstrap_servers": args.bootstrap, "spool_dir":
                                      str(args.spool), "topic_prefix": args.topic_prefix})
            run = synthetic_run(num_rounds=args.rounds, num_clients=args.clients,
                                **every_event_kind(args.clients))
            play(observer, run)
            print(json.dumps({"run_id": run.info.run_id, **(observer.last_stats or {})}))
            return 0
        created = ensure_topics({"bootstrap_servers": args.bootstrap}, args.topic_prefix)
        print(json.dumps({"created": created}))
        return 0
    except (SpoolBusyError, SpoolPrefixError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
