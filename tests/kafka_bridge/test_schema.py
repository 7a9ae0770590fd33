"""The committed JSON Schema is generated from the definition parse_event uses, and real events
(and only valid ones) pass it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kafka_bridge.schema import json_schema, schema_text
from tests.kafka_bridge.json_strategies import real_event_dicts

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "kafka_bridge" / "schema.json"


def test_the_committed_schema_is_up_to_date():
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "regenerate: python -m kafka_bridge schema > kafka_bridge/schema.json")


def test_real_events_validate_and_integer_node_ids_do_not():
    schema = json_schema()
    events = real_event_dicts()
    for event in events:
        jsonschema.validate(event, schema)
    update = next(e for e in events if e["type"] == "client_update")
    assert isinstance(update["payload"]["node_id"], str)  # 64-bit ids travel as strings
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**update, "payload": {**update["payload"], "node_id": 2**60}}, schema)
    finished = json.loads(json.dumps(events[-1]))
    del finished["payload"]["event_count"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(finished, schema)
