"""JSON Schema (draft 2020-12) of the current event version, generated from `events.PAYLOAD_SPEC`.

`python -m kafka_bridge schema > kafka_bridge/schema.json` writes it; a test checks that the
committed file matches, so the schema cannot drift from what `parse_event` enforces.
"""

from __future__ import annotations

import json
from typing import Any

from kafka_bridge.events import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    NODE_ID_FIELDS,
    NODE_ID_LISTS,
    PAYLOAD_SPEC,
    SCHEMA_VERSION,
    V2_PAYLOAD_SPEC,
)

_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", dict: "object",
               list: "array", type(None): "null"}
NODE_ID = {"type": "string", "pattern": "^[0-9]{1,20}$",
           "description": "Flower node id (uint64) as a decimal string: above 2**53 a JSON "
                          "number would lose digits in readers that use doubles"}
HEX = {n: {"type": "string", "pattern": f"^[0-9a-f]{{{n}}}$"} for n in (32, 64, 128)}


def _field(etype: str, key: str, types: tuple[type, ...]) -> dict[str, Any]:
    if key in NODE_ID_FIELDS.get(etype, ()):
        return NODE_ID
    if key in NODE_ID_LISTS.get(etype, ()):
        return {"type": "array", "items": NODE_ID}
    names = [_JSON_TYPES[t] for t in types]
    return {"type": names[0] if len(names) == 1 else names}


def _payload(etype: str) -> dict[str, Any]:
    spec = {**PAYLOAD_SPEC[etype], **V2_PAYLOAD_SPEC.get(etype, {})}
    return {"type": "object", "required": list(spec),
            "properties": {key: _field(etype, key, types) for key, types in spec.items()}}


def json_schema() -> dict[str, Any]:
    """The schema of one Kafka message of the current version (what `parse_event` checks,
    bar the nesting limit and the byte limit, given in the description)."""
    variants = [{"properties": {"type": {"const": etype}, "payload": _payload(etype)}}
                for etype in PAYLOAD_SPEC]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://fedchurn.invalid/kafka-event-v{SCHEMA_VERSION}.json",
        "title": f"fedchurn Kafka bridge event, schema version {SCHEMA_VERSION}",
        "description": f"One UTF-8 JSON message of at most {MAX_EVENT_BYTES} bytes, nested at "
                       f"most {MAX_DEPTH} levels. Non-finite floats travel as "
                       '{"$float": "NaN" | "Infinity" | "-Infinity"}. Extra payload keys are '
                       "allowed. See README.md, \"Kafka events\".",
        "type": "object",
        "required": ["schema_version", "event_id", "run_id", "seq", "ts", "type", "payload",
                     "prev"],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "event_id": HEX[32],
            "run_id": {"type": "string", "minLength": 1},
            "seq": {"type": "integer", "minimum": 0},
            "ts": {"type": "string", "format": "date-time"},
            "type": {"enum": list(PAYLOAD_SPEC)},
            "payload": {"type": "object"},
            "prev": HEX[64],
            "sig": HEX[128],
        },
        "oneOf": variants,
    }


def schema_text() -> str:
    """The committed form of the schema (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(json_schema(), indent=2) + "\n"
