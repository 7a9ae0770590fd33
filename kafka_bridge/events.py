"""Versioned event schema (JSON, exact floats), array digests, and strict parsing."""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

SCHEMA_VERSION = 2  # v2: hash chain (`prev`), Ed25519 `sig`, node ids as strings, event_count
READABLE_VERSIONS = (1, 2)  # v1 events (no chain, no signature, integer node ids) still parse
GENESIS = "0" * 64  # `prev` of a run's first event (run_started)
# Hostile-input limits: a message above MAX_EVENT_BYTES or nested deeper than MAX_DEPTH is
# refused before or right after decoding (the largest real event, a 10-client round of a
# 46-feature model, is ~20 kB and 4 levels deep; a Hydra config in run_started ~8 levels).
MAX_EVENT_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32
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
ENVELOPE_KEYS = ("schema_version", "event_id", "run_id", "seq", "ts", "type", "payload")
# Schema v2 additions to PAYLOAD_SPEC (required in v2 events only).
V2_PAYLOAD_SPEC: dict[str, dict[str, tuple[type, ...]]] = {
    "run_finished": {"event_count": (int,)}, "run_failed": {"event_count": (int,)},
}
# Payload fields holding Flower node ids (64-bit: above 2**53 a double loses them). In v2 they
# travel as decimal strings; `parse_event` hands them to the code as ints.
NODE_ID_FIELDS = {"client_update": ("node_id",), "reply_rejected": ("node_id",)}
NODE_ID_LISTS = {"round_started": ("sampled_nodes",), "round_aggregated": ("participants",)}
MAX_NODE_ID = 2**64 - 1
_V2_SPEC = {etype: {**spec, **V2_PAYLOAD_SPEC.get(etype, {})} for etype, spec in PAYLOAD_SPEC.items()}
# Optional payload keys: checked for type when present; old readers ignore them.
OPTIONAL_PAYLOAD_SPEC: dict[str, dict[str, tuple[type, ...]]] = {
    "round_aggregated": {"federated_eval": (dict,)},
}


class MalformedEventError(ValueError):
    """Bytes that are not a valid event; the message says what is wrong."""


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


_TAGGED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _FLOAT_TAG in obj:
        tag = obj[_FLOAT_TAG]
        if not isinstance(tag, str) or tag not in _TAGGED:
            raise ValueError(f"{_FLOAT_TAG} must be one of {sorted(_TAGGED)}, got {tag!r:.40}")
        return _TAGGED[tag]
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"bare {name} is not JSON; non-finite floats must be tagged")


_TAGGING = json.JSONDecoder(object_hook=_untag, parse_constant=_reject_constant)
_PLAIN = json.JSONDecoder(parse_constant=_reject_constant)


def loads(data: bytes | str) -> Any:
    """Inverse of `dumps` (strict: bare NaN/Infinity tokens are rejected)."""
    if isinstance(data, bytes | bytearray):  # what json.loads does with bytes (UTF-8/16/32)
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    # Without "$float" and without \u escapes no object can be a tagged float, so the
    # per-object hook (a Python call for every dict: a third of decoding) is left out.
    tagged = _FLOAT_TAG in data or "\\u" in data
    return (_TAGGING if tagged else _PLAIN).decode(data)


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
    prev: str | None = None  # v2: sha256 hex of the run's previous event's wire bytes
    sig: str | None = None  # v2: Ed25519 signature (hex) of the wire bytes without `sig`

    def to_dict(self) -> dict[str, Any]:
        """The wire form as a dict, in the documented key order (node ids as strings in v2)."""
        payload = self.payload if self.schema_version < 2 else _ids_to_wire(self.type, self.payload)
        out = {"schema_version": self.schema_version, "event_id": self.event_id,
               "run_id": self.run_id, "seq": self.seq, "ts": self.ts, "type": self.type,
               "payload": payload}
        if self.prev is not None:
            out["prev"] = self.prev
        if self.sig is not None:
            out["sig"] = self.sig
        return out

    def to_bytes(self) -> bytes:
        """Wire format: UTF-8 JSON (see the README, "Kafka events"). Events from `make_event`
        and `parse_event` keep their exact bytes (the payload is never mutated): the spool,
        the hash chain and the signature all use these bytes."""
        data = self.__dict__.get("_wire")
        return data if data is not None else dumps(self.to_dict())

    @property
    def round(self) -> int | None:
        """The payload's round number, if the event belongs to a round."""
        return self.payload.get("round")


def make_event(run_id: str, seq: int, type: str, payload: dict[str, Any], *,
               prev: str = GENESIS, sign: Callable[[bytes], bytes] | None = None) -> Event:
    """Build and validate an event (the payload is normalised to plain JSON types).

    `prev` chains it to the run's previous event (`event_digest` of it); `sign` (an Ed25519
    private key's `sign`) signs the wire bytes, and the hex signature is appended as the last
    member `"sig"`: the signed bytes are the message with `,"sig":"…"` cut off.
    """
    plain = _ids_to_wire(type, to_jsonable(payload))
    body = _encode({"schema_version": SCHEMA_VERSION, "event_id": uuid.uuid4().hex,
                    "run_id": run_id, "seq": seq, "ts": utc_now(), "type": type,
                    "payload": plain, "prev": prev})
    data = body if sign is None else b"%s,\"sig\":\"%s\"}" % (body[:-1], sign(body).hex().encode())
    return _parse(data, trusted=True)  # the reader's rules: fail at the producer, not the auditor


def event_digest(event: Event) -> str:
    """sha256 hex of the event's wire bytes: the next event's `prev`."""
    return hashlib.sha256(event.to_bytes()).hexdigest()


_SIG_SUFFIX_LEN = len(b',"sig":"') + 128 + len(b'"}')


def signed_bytes(event: Event) -> bytes | None:
    """The bytes `sig` signs (the wire bytes without the trailing `,"sig":"…"`), None if the
    event carries no signature in that form."""
    data = event.to_bytes()
    if event.sig is None or not data.endswith(b'%s"}' % event.sig.encode()) or \
            data[-_SIG_SUFFIX_LEN:-_SIG_SUFFIX_LEN + 8] != b',"sig":"':
        return None
    return data[:-_SIG_SUFFIX_LEN] + b"}"


def _ids_to_wire(etype: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Node ids as decimal strings (schema v2); a shallow copy when something changes."""
    single, lists = NODE_ID_FIELDS.get(etype, ()), NODE_ID_LISTS.get(etype, ())
    if not single and not lists and etype != "round_aggregated":
        return payload
    out = dict(payload)
    for key in single:
        if isinstance(out.get(key), int) and not isinstance(out[key], bool):
            out[key] = str(out[key])
    for key in lists:
        if isinstance(out.get(key), list):
            out[key] = [str(v) if type(v) is int else v for v in out[key]]
    if etype == "round_aggregated" and isinstance(out.get("missing"), list):
        out["missing"] = [{**m, "node_id": str(m["node_id"])}
                          if isinstance(m, dict) and type(m.get("node_id")) is int else m
                          for m in out["missing"]]
    return out


def _wire_id(value: Any, where: str) -> int:
    if not (isinstance(value, str) and 0 < len(value) <= 20 and value.isascii()
            and value.isdigit() and int(value) <= MAX_NODE_ID):
        raise MalformedEventError(f"{where} must be a decimal string node id (schema v2), got "
                                  f"{value!r:.40}")
    return int(value)


def _wire_ids(values: list[Any], etype: str, key: str) -> list[int]:
    """`_wire_id` of every element; one joined check when all are short ascii-digit strings
    (up to 19 digits: below 2**64), ~5x faster on the 10-node lists of every round event."""
    if all(type(v) is str and 0 < len(v) < 20 for v in values):
        joined = "".join(values)
        if joined.isascii() and joined.isdigit():
            return [int(v) for v in values]
    return [_wire_id(v, f"{etype}.{key}[]") for v in values]


def _ids_from_wire(etype: str, payload: dict[str, Any]) -> None:
    """Inverse of `_ids_to_wire`, in place on a freshly decoded payload; checks the form."""
    for key in NODE_ID_FIELDS.get(etype, ()):
        if key in payload:
            payload[key] = _wire_id(payload[key], f"{etype}.{key}")
    for key in NODE_ID_LISTS.get(etype, ()):
        if isinstance(payload.get(key), list):
            payload[key] = _wire_ids(payload[key], etype, key)
    if etype == "round_aggregated" and isinstance(payload.get("missing"), list):
        for m in payload["missing"]:
            if isinstance(m, dict) and "node_id" in m:
                m["node_id"] = _wire_id(m["node_id"], "round_aggregated.missing[].node_id")


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true/false are not ints here
    return isinstance(value, types)


def parse_event(data: bytes | str) -> Event:
    """Decode and validate one event; raises MalformedEventError saying what is wrong, and
    nothing else, for any input (size and nesting are limited: MAX_EVENT_BYTES, MAX_DEPTH)."""
    return _parse(data, trusted=False)


def _parse(data: bytes | str, trusted: bool) -> Event:
    """`parse_event`; `trusted` (bytes `make_event` just encoded from `to_jsonable` output,
    which recursed through them already) skips the nesting walk: ~10% of make_event's time.

    Every check raises with its message formatted only on failure: formatting ~30 messages
    per event up front was a fifth of the dashboard's cold read (cProfile, 58k events)."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except (UnicodeEncodeError, TypeError) as exc:
        raise MalformedEventError(f"not valid event JSON: {exc}") from exc
    if len(raw) > MAX_EVENT_BYTES:
        raise MalformedEventError(f"event is {len(raw)} bytes, more than the {MAX_EVENT_BYTES} "
                                  "a reader accepts")
    try:
        obj = loads(raw)
    except RecursionError as exc:
        raise MalformedEventError(f"event nested deeper than {MAX_DEPTH} levels") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEventError(f"not valid event JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedEventError(f"event must be a JSON object, got {type(obj).__name__}")
    if not (trusted or _few_brackets(raw) or _depth_ok(obj, MAX_DEPTH)):
        raise MalformedEventError(f"event nested deeper than {MAX_DEPTH} levels")
    missing = [k for k in ENVELOPE_KEYS if k not in obj]
    if missing:
        raise MalformedEventError(f"missing envelope keys: {missing}")
    version = obj["schema_version"]
    if not _is(version, (int,)):
        raise MalformedEventError("schema_version must be an integer")
    if version not in READABLE_VERSIONS:
        raise MalformedEventError(f"unsupported schema_version {version} (this reader knows "
                                  f"{list(READABLE_VERSIONS)})")
    eid, run_id, seq, ts = obj["event_id"], obj["run_id"], obj["seq"], obj["ts"]
    if not _is_hex(eid, 32):
        raise MalformedEventError(f"event_id must be 32 lowercase hex chars, got {eid!r:.60}")
    if not isinstance(run_id, str) or run_id == "":
        raise MalformedEventError("run_id must be a string")
    if not (_is(seq, (int,)) and seq >= 0):
        raise MalformedEventError(f"seq must be an int >= 0: {seq!r:.40}")
    if not isinstance(ts, str):
        raise MalformedEventError(f"ts must be ISO-8601: {ts!r:.40}")
    try:  # readers compare timestamps in UTC: the conversion must not overflow either
        stamp = datetime.fromisoformat(ts)
        if stamp.tzinfo is not None:
            stamp.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise MalformedEventError(f"ts must be ISO-8601: {ts!r:.40}") from exc
    etype = obj["type"]
    if not isinstance(etype, str) or etype not in PAYLOAD_SPEC:
        raise MalformedEventError(f"unknown event type {etype!r:.40}")
    payload = obj["payload"]
    if not isinstance(payload, dict):
        raise MalformedEventError("payload must be an object")
    prev, sig = obj.get("prev"), obj.get("sig")
    spec = PAYLOAD_SPEC[etype]
    if version >= 2:
        if not _is_hex(prev, 64):
            raise MalformedEventError(f"prev must be 64 lowercase hex chars, got {prev!r:.80}")
        if not (sig is None or _is_hex(sig, 128)):
            raise MalformedEventError(f"sig must be 128 lowercase hex chars, got {sig!r:.80}")
        _ids_from_wire(etype, payload)
        spec = _V2_SPEC[etype]
    else:
        prev = sig = None
    _check_payload(etype, payload, spec)
    event = Event(run_id=run_id, seq=seq, type=etype, payload=payload,
                  event_id=eid, ts=ts, schema_version=version, prev=prev, sig=sig)
    object.__setattr__(event, "_wire", raw)  # not a field: eq/repr/replace ignore it
    return event


def _check_payload(etype: str, payload: dict[str, Any], spec: dict[str, tuple[type, ...]]) -> None:
    """Required keys with their types, optional keys' types, numeric coef/intercept."""
    for key, types in spec.items():
        if key not in payload:
            raise MalformedEventError(f"{etype}: payload lacks {key!r}")
        if not _is(payload[key], types):
            raise MalformedEventError(f"{etype}: payload[{key!r}] has wrong type "
                                      f"{type(payload[key]).__name__}")
    for key, types in OPTIONAL_PAYLOAD_SPEC.get(etype, {}).items():
        if key in payload and not _is(payload[key], types):
            raise MalformedEventError(f"{etype}: payload[{key!r}] has wrong type "
                                      f"{type(payload[key]).__name__}")
    for key in ("coef", "intercept"):
        if key in payload and not _numeric_tree(payload[key]):
            raise MalformedEventError(f"{etype}: payload[{key!r}] must hold numbers")


def _few_brackets(raw: bytes) -> bool:
    """True if the message cannot nest deeper than MAX_DEPTH: it has no more than MAX_DEPTH
    opening brackets at all (a C-speed count; brackets inside strings only make it stricter).
    Typical events have 5-12, so the tree walk (`_depth_ok`, 18% of parse time) is skipped."""
    return raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH


_HEX = {32: re.compile("[0-9a-f]{32}"), 64: re.compile("[0-9a-f]{64}"),
        128: re.compile("[0-9a-f]{128}")}


def _is_hex(value: Any, length: int) -> bool:
    # a compiled fullmatch: the per-character generator was 14% of parse_event (cProfile)
    return isinstance(value, str) and _HEX[length].fullmatch(value) is not None


def _depth_ok(obj: Any, limit: int) -> bool:
    """True if no container is nested deeper than `limit` (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return True


def _numeric_tree(value: Any) -> bool:
    if type(value) is list and set(map(type, value)) <= {float, int}:
        return True  # fast path (coef rows); bools are excluded by type()
    if isinstance(value, list):
        return all(_numeric_tree(v) for v in value)
    return _is(value, _NUM)
