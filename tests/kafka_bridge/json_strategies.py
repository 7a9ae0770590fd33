"""Hypothesis strategies: arbitrary JSON, and real bridge events with parts replaced by it."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from kafka_bridge.observer import CollectingProducer, KafkaObserver
from kafka_bridge.synthetic import every_event_kind, play, synthetic_run

ENVELOPE_KEYS = ("schema_version", "event_id", "run_id", "seq", "ts", "type", "payload", "prev",
                 "sig")
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "2026-01-01T00:00:00Z", "$float", "12"]))
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["$float", "round", "node_id", "a"])
                                            | st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)


def real_event_dicts() -> list[dict]:
    """Every event of a small synthetic run, as wire dicts (one of each type but run_failed)."""
    events: list = []
    observer = KafkaObserver({}, producer_factory=lambda: CollectingProducer(events))
    play(observer, synthetic_run("prop-run", num_rounds=2, num_clients=2,
                                 **every_event_kind(2)))
    return [e.to_dict() for e in events]


_REAL = real_event_dicts()


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    """A real event with one envelope or payload value replaced by arbitrary JSON (or kept)."""
    event = json.loads(json.dumps(draw(st.sampled_from(_REAL))))
    where = draw(st.sampled_from(["keep", "envelope", "payload", "drop"]))
    if where == "envelope":
        event[draw(st.sampled_from(ENVELOPE_KEYS))] = draw(json_values)
    elif where == "payload":
        keys = sorted(event["payload"]) + ["coef", "missing", "extra"]
        event["payload"][draw(st.sampled_from(keys))] = draw(json_values)
    elif where == "drop":
        event["payload"].pop(draw(st.sampled_from(sorted(event["payload"]))), None)
    return json.dumps(event).encode()
