"""Topic names derived from a prefix, event type → topic routing, idempotent creation."""

from __future__ import annotations

import logging
from typing import Any

from kafka_bridge.config import TopicSettings, for_client

log = logging.getLogger(__name__)

# One topic per concern: small run lifecycle, per-round summaries (what a dashboard tails),
# and the bulky per-client traffic (what an auditor recomputes from).
TOPIC_OF_TYPE = {
    "run_started": "runs", "run_finished": "runs", "run_failed": "runs",
    "round_started": "rounds", "round_aggregated": "rounds",
    "client_update": "updates", "reply_rejected": "updates",
}
KINDS = ("runs", "rounds", "updates")
_TOPIC_ALREADY_EXISTS = 36


def topic_names(prefix: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """`<prefix>.runs`, `<prefix>.rounds`, `<prefix>.updates` (or a subset)."""
    return [f"{prefix}.{kind}" for kind in kinds]


def topic_for(event_type: str, prefix: str) -> str:
    """Topic that carries events of this type."""
    return f"{prefix}.{TOPIC_OF_TYPE[event_type]}"


def topic_configs(settings: TopicSettings) -> dict[str, str]:
    """Per-topic broker configs set at creation."""
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(settings.retention_ms),
        "max.message.bytes": str(settings.max_message_bytes),
    }


def ensure_topics(client_kwargs: dict[str, Any], prefix: str,
                  settings: TopicSettings | None = None, timeout_s: float = 10.0) -> list[str]:
    """Create the missing bridge topics; existing ones are left as they are. Returns created."""
    from kafka.admin import KafkaAdminClient

    settings = settings or TopicSettings()
    timeout_ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(**for_client(KafkaAdminClient, {
        "request_timeout_ms": timeout_ms, "bootstrap_timeout_ms": timeout_ms, **client_kwargs}))
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in topic_names(prefix) if t not in existing]
        if not wanted:
            return []
        spec = {name: {"num_partitions": settings.partitions,
                       "replication_factor": settings.replication_factor,
                       "configs": topic_configs(settings)} for name in wanted}
        result = admin.create_topics(spec, timeout_ms=timeout_ms, raise_errors=False)
        created = []
        for topic in result["topics"]:
            code = topic.get("error_code", 0)
            if code == 0:
                created.append(topic["name"])
            elif code != _TOPIC_ALREADY_EXISTS:  # a concurrent creator won the race: fine
                raise RuntimeError(f"creating topic {topic['name']} failed: error {code} "
                                   f"{topic.get('error_message')}")
        if created:
            admin.wait_for_topics(created, timeout_ms=timeout_ms)
            log.info("created topics %s", created)
        return created
    finally:
        admin.close()
