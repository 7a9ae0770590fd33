"""Property-based: any bytes give an Event or MalformedEventError; the reader, spool loading and
the audit never crash on them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafka_bridge.events import MAX_DEPTH, MAX_EVENT_BYTES, Event, MalformedEventError, parse_event
from kafka_bridge.spool import EVENTS_FILE, Spool
from kafka_bridge.verify import verify_events
from tests.kafka_bridge.json_strategies import (
    ENVELOPE_KEYS,
    json_values,
    mutated_events,
    real_event_dicts,
)


@pytest.fixture
def good_event_dict():
    return json.loads(json.dumps(real_event_dicts()[1]))


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_malformed(data: bytes) -> Event | None:
    try:
        event = parse_event(data)
    except MalformedEventError:
        return None
    assert event.to_bytes() == data  # a parsed event keeps its exact bytes
    return event


@PROPERTY
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_raise_malformed(data):
    _parse_or_malformed(data)


@PROPERTY
@given(json_values)
def test_any_json_value_parses_or_raises_malformed(value):
    _parse_or_malformed(json.dumps(value).encode())


@PROPERTY
@given(mutated_events())
def test_mutated_real_events_parse_or_raise_malformed(data):
    _parse_or_malformed(data)


@pytest.mark.parametrize("raw", [
    b'{"a": {"$float": []}}', b'{"a": {"$float": {}}}', b'{"a": {"$float": "nan"}}',
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"type": []}', b'{"type": {}}', b"\"\\ud800\"",
])
def test_known_crashers_are_malformed(raw):
    """`{"$float": []}` raised TypeError and deep nesting RecursionError before schema v2."""
    with pytest.raises(MalformedEventError):
        parse_event(raw)


def test_limits_on_size_and_depth(good_event_dict):
    deep = dict(good_event_dict)
    nested: object = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    deep["payload"] = {**deep["payload"], "extra": nested}
    with pytest.raises(MalformedEventError, match="nested deeper"):
        parse_event(json.dumps(deep).encode())
    big = dict(good_event_dict)
    big["payload"] = {**big["payload"], "extra": "x" * MAX_EVENT_BYTES}
    with pytest.raises(MalformedEventError, match="bytes, more than"):
        parse_event(json.dumps(big).encode())
    bad_ts = {**good_event_dict, "ts": "0001-01-01T00:00:00+01:00"}  # overflows in UTC
    with pytest.raises(MalformedEventError, match="ts must be"):
        parse_event(json.dumps(bad_ts).encode())


@PROPERTY
@given(st.lists(st.one_of(mutated_events(), st.binary(max_size=300)), max_size=12))
def test_spool_loading_survives_any_lines(lines):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / EVENTS_FILE).write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n"
                                                       for line in lines))
        spool = Spool(tmp)
        try:
            assert spool.pending_count + spool.corrupt_lines <= len(lines)
        finally:
            spool.close()


@PROPERTY
@given(st.lists(mutated_events(), max_size=12))
def test_the_audit_never_crashes_on_parseable_events(lines):
    events = [e for e in map(_parse_or_malformed, lines) if e is not None]
    for run_id in {e.run_id for e in events}:
        verify_events([e for e in events if e.run_id == run_id], run_id)


def test_envelope_keys_cover_the_schema(good_event_dict):
    assert set(ENVELOPE_KEYS) - {"sig"} <= set(good_event_dict)  # round_started: unsigned


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated_events(), st.binary(max_size=300), st.none()), max_size=10))
def test_the_reader_skips_and_counts_whatever_a_record_holds(values):
    from types import SimpleNamespace

    from kafka_bridge.reader import EventReader

    reader = EventReader("127.0.0.1:1", "p")  # no consumer is made: records are handed in
    out: list[Event] = []
    for offset, value in enumerate(values):
        reader._parse(SimpleNamespace(topic="p.rounds", partition=0, offset=offset, value=value,
                                      timestamp=-1, serialized_value_size=-1), out)
    assert len(out) + reader.malformed_count == len(values)
