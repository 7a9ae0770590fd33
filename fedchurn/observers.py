"""Build the round observers a run's `bridge` config asks for (Kafka mirror or none)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from churn.rounds import RoundObserver

log = logging.getLogger(__name__)


def build_observers(cfg: Mapping[str, Any], run_id: str) -> list[RoundObserver]:
    """`bridge=off` gives none; `bridge=kafka` gives a KafkaObserver for `run_id`."""
    bridge = dict(cfg.get("bridge") or {"name": "off"})
    name = bridge.pop("name", "off")
    if name in ("off", False, None):
        return []
    if name != "kafka":
        raise ValueError(f"unknown bridge {name!r}; use bridge=off or bridge=kafka")
    from kafka_bridge.observer import KafkaObserver

    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO
    warnings.filterwarnings("ignore", message=r".*(read_text|open_text) is deprecated",
                            category=DeprecationWarning)  # kafka-python's importlib.resources use

    observer = KafkaObserver(bridge)
    log.info("mirroring run %s to Kafka at %s (topic prefix %s)", run_id,
             observer.config.bootstrap_servers, observer.config.topic_prefix)
    return [observer]


def audit_public_keys(observers: Sequence[RoundObserver]) -> list[str]:
    """Hex public keys the Kafka mirrors among `observers` sign events with (for results.json:
    an auditor pins them with `fedchurn audit verify --public-key`)."""
    from kafka_bridge.observer import KafkaObserver

    return [o.public_key for o in observers if isinstance(o, KafkaObserver)]
