"""Schema round-trip, exact floats, array digests and malformed-input errors (no broker)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kafka_bridge.events import (
    EVENT_TYPES,
    MalformedEventError,
    array_digest,
    decode_arrays,
    dumps,
    encode_arrays,
    loads,
    make_event,
    parse_event,
)
from tests.kafka_bridge.helpers import offline_run


def test_every_event_type_round_trips_byte_for_byte(tmp_path):
    events = offline_run(tmp_path)
    assert {e.type for e in events} == set(EVENT_TYPES) - {"run_failed"}
    failed = make_event("r", 0, "run_failed", {"error": "boom ✗", "event_count": 1})
    for event in [*events, failed]:
        again = parse_event(event.to_bytes())
        assert again.to_bytes() == event.to_bytes()  # (== on Event is False with NaN metrics)
        assert (again.event_id, again.seq, again.type) == (event.event_id, event.seq, event.type)
    assert [e.seq for e in events] == list(range(len(events)))


def test_floats_round_trip_bit_exactly():
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**64, size=2000, dtype=np.uint64)
    values = bits.view(np.float64)
    values = values[np.isfinite(values)]
    specials = np.array([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
                         1.7976931348623157e308, 0.1, 1 / 3])
    coef = np.concatenate([values, specials]).reshape(1, -1)
    payload = encode_arrays([coef, np.array([np.nextafter(1.0, 2.0)])])
    event = parse_event(make_event("r", 0, "client_update", {
        "round": 1, "node_id": 1, "partition_id": None, "num_examples": 3, "metrics": {},
        **payload}).to_bytes())
    back = decode_arrays(event.payload)
    assert back[0].shape == coef.shape
    assert np.array_equal(back[0].view(np.uint64), coef.view(np.uint64))
    assert back[1][0] == np.nextafter(1.0, 2.0)
    assert array_digest(back) == payload["digest"]


def test_non_finite_floats_are_tagged_not_bare():
    data = dumps({"a": float("nan"), "b": [float("inf"), -float("inf")], "c": np.float32(1.5)})
    json.loads(data, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    back = loads(data)
    assert np.isnan(back["a"]) and back["b"] == [float("inf"), -float("inf")] and back["c"] == 1.5


def test_array_digest_is_canonical_and_sensitive():
    coef, icpt = np.arange(4.0).reshape(1, 4), np.array([0.5])
    d = array_digest([coef, icpt])
    assert d == array_digest([coef.astype(np.float32), [0.5]])  # same values, other dtype
    assert d == array_digest([np.asfortranarray(coef), icpt])
    assert d != array_digest([coef.reshape(4), icpt])  # shape is hashed
    assert d != array_digest([icpt, coef])  # order is hashed
    bumped = coef.copy()
    bumped[0, 2] = np.nextafter(bumped[0, 2], 10)
    assert d != array_digest([bumped, icpt])  # one ulp matters
    nan_a = np.array([np.nan])
    nan_b = np.array([np.float64(-np.nan)])
    assert array_digest([nan_a]) == array_digest([nan_b])  # NaN canonicalised like the JSON


GOOD = make_event("run-1", 0, "round_started", {"round": 1, "sampled_nodes": [1, 2]}).to_dict()


def _mut(**changes):
    d = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if key.startswith("payload."):
            d["payload"][key[8:]] = value
        elif value is KeyError:
            del d[key]
        else:
            d[key] = value
    return json.dumps(d).encode()


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json", "not valid event JSON"),
    (b"\xff\xfe\x00", "not valid event JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"a": NaN}', "not valid event JSON"),
    (_mut(seq=KeyError), "missing envelope keys"),
    (_mut(schema_version=3), "unsupported schema_version 3"),
    (_mut(event_id="xyz"), "event_id must be 32"),
    (_mut(run_id=""), "run_id"),
    (_mut(seq=-1), "seq must be"),
    (_mut(seq=True), "seq must be"),
    (_mut(ts="yesterday"), "ts must be ISO-8601"),
    (_mut(type="round_exploded"), "unknown event type"),
    (_mut(payload=[]), "payload must be an object"),
    (_mut(**{"payload.round": "1"}), "payload['round'] has wrong type"),
    (_mut(type="client_update"), "client_update: payload lacks 'node_id'"),
])
def test_malformed_input_raises_a_clear_error(raw, message):
    with pytest.raises(MalformedEventError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_event(raw)


def test_the_good_sample_itself_parses():
    assert parse_event(json.dumps(GOOD).encode()).seq == 0


def test_make_event_refuses_an_invalid_payload():
    with pytest.raises(MalformedEventError, match="num_examples"):
        make_event("r", 0, "client_update", {"round": 1, "node_id": 1, "partition_id": 0,
                                             "num_examples": "many", "metrics": {},
                                             "digest": "", "shapes": []})
    with pytest.raises(MalformedEventError, match="must hold numbers"):
        make_event("r", 0, "round_aggregated", {
            "round": 1, "coef": [["x"]], "intercept": [0.0], "digest": "", "shapes": [],
            "train_metrics": {}, "evaluate_metrics": {}, "server_metrics": {},
            "participants": [], "num_examples": 0, "rejected": 0, "evaluate_rejected": 0,
            "durations": {}})


def test_nesting_limit_holds_whatever_the_bracket_count_says():
    """The bracket-count shortcut must not let deep messages through, nor refuse shallow ones
    whose strings are full of brackets."""
    from kafka_bridge.events import MAX_DEPTH

    shallow = json.loads(json.dumps(GOOD))
    shallow["payload"]["note"] = "[{" * 100  # 200 brackets, all inside a string
    assert parse_event(json.dumps(shallow).encode()).payload["note"] == "[{" * 100
    for depth, ok in ((MAX_DEPTH - 2, True), (MAX_DEPTH + 5, False)):
        deep = json.loads(json.dumps(GOOD))
        deep["payload"]["x"] = json.loads("[" * depth + "]" * depth)
        if ok:
            parse_event(json.dumps(deep).encode())
        else:
            with pytest.raises(MalformedEventError, match="nested deeper"):
                parse_event(json.dumps(deep).encode())


def test_tagged_floats_are_read_however_the_tag_is_spelled():
    """`$float` written with JSON escapes is still a tagged float (the decoder skips the tag
    hook only for messages that contain neither "$float" nor a \\u escape)."""
    assert np.isnan(loads(b'{"a": {"\\u0024float": "NaN"}}')["a"])
    assert loads(b'{"a": {"$flo\\u0061t": "-Infinity"}}')["a"] == -float("inf")
    assert loads(b'{"a": {"$float": "Infinity"}}')["a"] == float("inf")
    assert loads('{"a": {"x": 1}}'.encode("utf-16")) == {"a": {"x": 1}}  # as json.loads does
