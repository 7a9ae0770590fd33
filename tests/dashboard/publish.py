"""Test helpers: put real runs (Flower in-process + KafkaObserver) and odd messages on a broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd

from dashboard.demo_feed import feed_run
from kafka_bridge.observer import KafkaObserver

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "dashboard" / "app.py"


def unique_prefix() -> str:
    """A topic prefix of its own (all tests share one broker)."""
    return f"dash{uuid.uuid4().hex[:8]}"


def bridge_overrides(bootstrap: str, prefix: str, spool: Path) -> list[str]:
    """Hydra overrides that mirror a run to this broker and prefix."""
    return ["bridge=kafka", f"bridge.bootstrap_servers={bootstrap}", f"bridge.topic_prefix={prefix}",
            f"bridge.spool_dir={spool}"]


def real_run(bootstrap: str, prefix: str, run_id: str, out: Path, *, num_clients: int = 3,
             num_rounds: int = 3, num_rows: int = 1500) -> dict:
    """A real federated run (in-process Flower engine) mirrored through the Kafka bridge."""
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job

    overrides = ["engine=inprocess", f"data.num_rows={num_rows}", f"num_clients={num_clients}",
                 f"num_rounds={num_rounds}", *bridge_overrides(bootstrap, prefix, out / "spool")]
    cfg = compose_config(overrides, output_dir=out / run_id)
    return run_job(cfg, run_id=run_id, output_dir=out / run_id, overrides=overrides)


def failed_run(bootstrap: str, prefix: str, run_id: str, spool: Path) -> None:
    """A run that fails in round 2 (synthetic numbers, real bridge and broker)."""
    observer = KafkaObserver({"bootstrap_servers": bootstrap, "topic_prefix": prefix,
                              "spool_dir": str(spool)})
    feed_run(observer, run_id, num_rounds=3, fail_at_round=2)


def send_raw(bootstrap: str, topic: str, value: bytes) -> None:
    """One message that is not an event, straight onto a bridge topic."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, allow_auto_create_topics=False)
    try:
        producer.send(topic, key=b"junk", value=value).get(timeout=10)
    finally:
        producer.close()


def chart_data(chart) -> pd.DataFrame:
    """All rows behind an AppTest Vega-Lite chart element (inline values of the spec and its
    layers, and the Arrow datasets Streamlit moved out of it), stacked."""
    import json

    import pyarrow as pa

    spec = json.loads(chart.proto.spec)
    parts = [pd.DataFrame(values) for block in (spec, *spec.get("layer", []))
             if (values := (block.get("data") or {}).get("values")) is not None]
    parts += [pd.DataFrame(rows) for rows in (spec.get("datasets") or {}).values()]
    parts += [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
    return pd.concat(parts, ignore_index=True)
