"""Versioned event schema (JSON, exact floats), array digests, and strict parsing."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
_FLOAT_TAG = "$float"  # non-finite floats travel as {"$float": "NaN" | "Infinity" | "-Infinity"}
_NUM = (int, float)
_OPT_INT = (int, type(None))

# Required payload keys and their allowed JSON types, per event type (extra keys are allowed).
PAYLOAD_SPEC: dict[str, dict[str, tuple[type, ...]]] = {
    "run_started": {
        "config": (dict,), "dataset_fingerprint": (str,), "code_version": (str,),
        "feature_names": (list,), "spec_fingerprint": (str,), "num_clients": (int,),
        "reference": (dict,), "mirror_client_updates": (bool,),
    },
    "round_started": {"round": (int,), "sampled_nodes": (list,)},
    "client_update": {
        "round": (int,), "node_id": (int,), "partition_id": _OPT_INT, "num_examples": (int,),
        "metrics": (dict,), "digest": (str,), "shapes": (list,),
    },
    "reply_rejected": {
        "round": (int,), "node_id": (int,), "partition_id": _OPT_INT, "reason": (str,),
        "phase": (str,),
    },
    "round_aggregated": {
        "round": (int,), "coef": (list,), "intercept": (list,), "digest": (str,),
        "shapes": (list,), "train_metrics": (dict,), "evaluate_metrics": (dict,),
        "server_metrics": (dict,), "participants": (list,), "num_examples": (int,),
        "rejected": (int,), "evaluate_rejected": (int,), "durations": (dict,),
    },
    "run_finished": {"summary": (dict,)},
    "run_failed": {"error": (str,)},
}
EVENT_TYPES = tuple(PAYLOAD_SPEC)
# Optional payload keys: checked for type when present; old readers ignore them.
OPTIONAL_PAYLOAD_SPEC: dict[str, dict[str, tuple[type, ...]]] = {
    "round_aggregated": {"federated_eval": (dict,)},
}


class MalformedEventError(ValueError):
    """Bytes that are not a valid schema-v1 event; the message says what is wrong."""


def utc_now() -> str:
    """UTC timestamp as ISO-8601 with microseconds and a `Z` suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy → Python, tuples → lists, keys → str, non-finite → tagged."""
    if isinstance(obj, bool | None | str):
        return obj
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return {_FLOAT_TAG: "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")}
    if isinstance(obj, int):
        return obj
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, list | tuple | set | frozenset):
        if type(obj) is list and set(map(type, obj)) == {float} and all(map(math.isfinite, obj)):
            return list(obj)  # fast path (coef rows): already plain, finite floats
        return [to_jsonable(v) for v in obj]
    raise TypeError(f"not JSON-serializable in an event: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; floats are repr-exact, NaN/±inf are tagged objects."""
    return _encode(to_jsonable(obj))


def _encode(plain: Any) -> bytes:
    """`dumps` of an object that is already plain JSON types (see `to_jsonable`)."""
    return json.dumps(plain, allow_nan=False, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _FLOAT_TAG in obj:
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[obj[_FLOAT_TAG]])
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"bare {name} is not JSON; non-finite floats must be tagged")


def loads(data: bytes | str) -> Any:
    """Inverse of `dumps` (strict: bare NaN/Infinity tokens are rejected)."""
    return json.loads(data, object_hook=_untag, parse_constant=_reject_constant)


def array_digest(arrays: list[Any]) -> str:
    """sha256 hex over a canonical encoding of a list of arrays (the ONE digest used everywhere).

    Encoding: b"fedchurn.arrays.v1\\0", uint64-LE count, then per array: uint64-LE ndim,
    uint64-LE dims, float64-LE C-order values (NaN canonicalised). All little-endian.
    """
    h = hashlib.sha256(b"fedchurn.arrays.v1\0")
    h.update(struct.pack("<Q", len(arrays)))
    for arr in arrays:
        a = np.ascontiguousarray(np.asarray(arr, dtype="<f8"))
        if np.isnan(a).any():
            a = np.where(np.isnan(a), np.float64("nan"), a).astype("<f8")
        h.update(struct.pack("<Q", a.ndim))
        h.update(struct.pack(f"<{a.ndim}Q", *a.shape))
        h.update(a.tobytes(order="C"))
    return h.hexdigest()


def encode_arrays(arrays: list[Any], *, include_values: bool = True) -> dict[str, Any]:
    """Payload fields for [coef, intercept]: digest, shapes, and (optionally) values as lists."""
    if len(arrays) != 2:
        raise ValueError(f"expected [coef, intercept], got {len(arrays)} arrays")
    f64 = [np.asarray(a, dtype=np.float64) for a in arrays]
    out: dict[str, Any] = {"digest": array_digest(f64), "shapes": [list(a.shape) for a in f64]}
    if include_values:
        out["coef"], out["intercept"] = f64[0].tolist(), f64[1].tolist()
    return out


def decode_arrays(payload: dict[str, Any]) -> list[np.ndarray] | None:
    """[coef, intercept] as float64 arrays with their declared shapes, None if not mirrored."""
    if "coef" not in payload or "intercept" not in payload:
        return None
    shapes = payload.get("shapes") or [None, None]
    out = []
    for values, shape in zip((payload["coef"], payload["intercept"]), shapes, strict=True):
        arr = np.asarray(values, dtype=np.float64)
        out.append(arr.reshape(shape) if shape is not None else arr)
    return out


@dataclass(frozen=True)
class Event:
    """One mirrored fact about a federated run (the envelope + a type-specific payload)."""

    run_id: str
    seq: int
    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: str = field(default_factory=utc_now)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Envelope dict in the documented key order (the payload is shared, not copied:
        `dataclasses.asdict` deep-copied it and made every publish ~1 ms slower)."""
        return {"schema_version": self.schema_version, "event_id": self.event_id,
                "run_id": self.run_id, "seq": self.seq, "ts": self.ts, "type": self.type,
                "payload": self.payload}

    def to_bytes(self) -> bytes:
        """Wire format: UTF-8 JSON (see the README, "Kafka events"). Events from `make_event`
        keep the bytes it validated (their payload is never mutated): the spool reuses them."""
        data = self.__dict__.get("_wire")
        return data if data is not None else dumps(self.to_dict())

    @property
    def round(self) -> int | None:
        """The payload's round number, if the event belongs to a round."""
        return self.payload.get("round")


def make_event(run_id: str, seq: int, type: str, payload: dict[str, Any]) -> Event:
    """Build and validate an event (the payload is normalised to plain JSON types)."""
    event = Event(run_id=run_id, seq=seq, type=type, payload=to_jsonable(payload))
    data = _encode(event.to_dict())  # the payload is plain already
    parse_event(data)  # the reader's rules: fail at the producer, not at the auditor
    object.__setattr__(event, "_wire", data)  # not a field: eq/repr/replace ignore it
    return event


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise MalformedEventError(msg)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true/false are not ints here
    return isinstance(value, types)


def parse_event(data: bytes | str) -> Event:
    """Decode and validate one event; raises MalformedEventError saying what is wrong."""
    try:
        obj = loads(data)
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise MalformedEventError(f"not valid event JSON: {exc}") from exc
    _check(isinstance(obj, dict), f"event must be a JSON object, got {type(obj).__name__}")
    missing = [k for k in ("schema_version", "event_id", "run_id", "seq", "ts", "type", "payload")
               if k not in obj]
    _check(not missing, f"missing envelope keys: {missing}")
    _check(_is(obj["schema_version"], (int,)), "schema_version must be an integer")
    _check(obj["schema_version"] == SCHEMA_VERSION,
           f"unsupported schema_version {obj['schema_version']} (this reader knows "
           f"{SCHEMA_VERSION})")
    eid = obj["event_id"]
    _check(isinstance(eid, str) and len(eid) == 32 and all(c in "0123456789abcdef" for c in eid),
           f"event_id must be 32 lowercase hex chars, got {eid!r}")
    _check(isinstance(obj["run_id"], str) and obj["run_id"] != "", "run_id must be a string")
    _check(_is(obj["seq"], (int,)) and obj["seq"] >= 0, f"seq must be an int >= 0: {obj['seq']!r}")
    try:
        datetime.fromisoformat(obj["ts"])
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"ts must be ISO-8601: {obj['ts']!r}") from exc
    etype = obj["type"]
    _check(etype in PAYLOAD_SPEC, f"unknown event type {etype!r}")
    payload = obj["payload"]
    _check(isinstance(payload, dict), "payload must be an object")
    for key, types in PAYLOAD_SPEC[etype].items():
        _check(key in payload, f"{etype}: payload lacks {key!r}")
        _check(_is(payload[key], types), f"{etype}: payload[{key!r}] has wrong type "
               f"{type(payload[key]).__name__}")
    for key, types in OPTIONAL_PAYLOAD_SPEC.get(etype, {}).items():
        _check(key not in payload or _is(payload[key], types),
               f"{etype}: payload[{key!r}] has wrong type {type(payload.get(key)).__name__}")
    for key in ("coef", "intercept"):
        if key in payload:
            _check(_numeric_tree(payload[key]), f"{etype}: payload[{key!r}] must hold numbers")
    return Event(run_id=obj["run_id"], seq=obj["seq"], type=etype, payload=payload,
                 event_id=eid, ts=obj["ts"], schema_version=obj["schema_version"])


def _numeric_tree(value: Any) -> bool:
    if type(value) is list and set(map(type, value)) <= {float, int}:
        return True  # fast path (coef rows); bools are excluded by type()
    if isinstance(value, list):
        return all(_numeric_tree(v) for v in value)
    return _is(value, _NUM)
