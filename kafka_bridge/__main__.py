"""`python -m kafka_bridge replay|spool-status|demo|topics|schema`: operate the bridge's spool/topics."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kafka_bridge.config import ENV_VARS, BridgeConfig, settings_from_env
from kafka_bridge.login_check import KafkaLoginError, check_login
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


def replay_config(spool_dir: str | Path, *, config_file: Path | None = None,
                  flags: Mapping[str, str | None] | None = None,
                  env: Mapping[str, str] | None = None) -> BridgeConfig:
    """The bridge settings of a replay, later ones winning: the environment (`ENV_VARS`,
    security and password included), a `--config` file (conf/bridge/kafka.yaml keys,
    `${oc.env:...}` resolved), then the command-line flags (BridgeConfig field -> value)."""
    settings: dict[str, Any] = settings_from_env(os.environ if env is None else env)
    if config_file is not None:
        from omegaconf import OmegaConf  # resolves ${oc.env:...} like the Hydra run did

        loaded = OmegaConf.to_container(OmegaConf.load(config_file), resolve=True)
        settings.update({k: v for k, v in dict(loaded).items() if v is not None and k != "name"})
    settings.update({k: v for k, v in (flags or {}).items() if v})
    settings["spool_dir"] = str(spool_dir)
    if not settings.get("bootstrap_servers"):
        raise ValueError(f"no Kafka address: pass --bootstrap, a --config naming "
                         f"bootstrap_servers, or set {ENV_VARS['bootstrap_servers']}")
    return BridgeConfig.from_dict(settings)


def replay(spool_dir: str | Path, config: BridgeConfig | dict, timeout_s: float = 60.0,
           topic_prefix: str | None = None) -> dict[str, int]:
    """Deliver every undelivered event of a spool directory with the full bridge `config`
    (security included), to the topic prefix the spool recorded (else `topic_prefix`, else
    the config's). A refused SASL login raises KafkaLoginError before the spool is opened."""
    cfg = BridgeConfig.from_dict(config)
    prefix = recorded_prefix(spool_dir) or topic_prefix or cfg.topic_prefix
    cfg = replace(cfg, spool_dir=str(spool_dir), flush_timeout_s=timeout_s, topic_prefix=prefix)
    check_login(cfg)
    return EventProducer(cfg).close()


def replay_all(spool: Path, cfg: BridgeConfig, timeout_s: float,
               topic_prefix: str | None = None) -> dict[str, int]:
    """Replay a spool and its fallback `proc-*` spools; a fallback spool fully delivered is
    removed (its events are on Kafka: merged), one still pending stays and is reported.
    `topic_prefix` is the prefix the user asked for explicitly (None: each spool's own)."""
    totals = {"delivered": 0, "spooled": 0, "pending": 0}
    for directory in [spool, *fallback_spools(spool)]:
        recorded = recorded_prefix(directory)
        if topic_prefix and recorded and recorded != topic_prefix:
            raise SpoolPrefixError(f"{directory} recorded topic prefix {recorded!r}, not "
                                   f"{topic_prefix!r}: omit --topic-prefix to use it")
        for key, n in replay(directory, cfg, timeout_s, topic_prefix).items():
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
                       "events to Kafka (settings also from the FEDCHURN_KAFKA_* variables)")
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
            flags = {field: getattr(args, flag) for flag, field in SECURITY_FLAGS.items()}
            flags.update(bootstrap_servers=args.bootstrap, topic_prefix=args.topic_prefix)
            cfg = replay_config(args.spool, config_file=args.config, flags=flags)
            totals = replay_all(args.spool, cfg, args.timeout, args.topic_prefix)
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
    except (SpoolBusyError, SpoolPrefixError, KafkaLoginError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
