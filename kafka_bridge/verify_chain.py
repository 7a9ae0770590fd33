"""Tamper evidence of one run: Ed25519 signatures, the `prev` hash chain and the terminal event count.

Schema-v2 events are signed by the server's deployment key (public key in `run_started`) and
each carries the sha256 of the run's previous event's bytes, so a Kafka writer cannot alter,
forge, reorder (`seq` is signed) or delete an event without the auditor naming it; given the
expected public key (`--public-key`), a whole run forged under another key fails too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from kafka_bridge.events import GENESIS, Event, event_digest, signed_bytes
from kafka_bridge.signing import verify_signature

TERMINAL_TYPES = ("run_finished", "run_failed")


@dataclass
class ChainVerdict:
    """What the signature and chain checks found; `public_key` is the key the run names."""

    public_key: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _name(e: Event) -> str:
    return f"seq {e.seq} ({e.type}, event {e.event_id[:12]})"


def _is_key(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64


def check_chain(events: list[Event], expected_key: str | None = None) -> ChainVerdict:
    """Check signatures and the hash chain of one run's distinct events (any order)."""
    v = ChainVerdict()
    versions = {e.schema_version for e in events}
    if versions == {1}:
        v.notes.append("schema v1 events carry no signatures or hash chain: a Kafka writer's "
                       "changes to them cannot be told apart from the server's")
        if expected_key:
            v.problems.append("the run is unsigned (schema v1), so it cannot match --public-key")
        return v
    if 1 in versions:
        v.problems.append("the run mixes schema v1 (unsigned) and v2 events")
    signed = [e for e in events if e.schema_version >= 2]
    starts = sorted((e for e in signed if e.type == "run_started" and e.seq == 0),
                    key=lambda e: e.event_id)
    keys = {key for e in starts if _is_key(key := e.payload.get("public_key"))}
    if not starts or len(keys) != 1 or len(starts) != 1:
        v.problems.append("no single run_started (seq 0) naming the run's public key: the "
                          "signatures cannot be checked")
        return v
    key = v.public_key = str(next(iter(keys)))
    if expected_key and key.lower() != expected_key.strip().lower():
        v.problems.append(f"the run is signed by public key {key}, not the expected "
                          f"{expected_key.strip()}: forged or from another deployment")
    authentic: dict[int, list[Event]] = defaultdict(list)
    for e in sorted(signed, key=lambda e: e.seq):
        body = signed_bytes(e)
        if e.sig is None:
            v.problems.append(f"{_name(e)} carries no signature: forged or altered")
        elif body is None or not verify_signature(key, e.sig, body):
            v.problems.append(f"{_name(e)}: signature invalid: altered or forged")
        else:
            authentic[e.seq].append(e)
    previous: Event | None = None
    for seq in sorted(authentic):
        group = authentic[seq]
        if len(group) > 1:
            v.problems.append(f"seq {seq}: {len(group)} different events signed by the run's "
                              "key (two runs under one run id?)")
        e = group[0]
        if previous is None:
            if seq != 0 or e.prev != GENESIS:
                v.problems.append(f"{_name(e)}: the chain does not start at run_started")
        elif previous.seq != seq - 1:
            v.problems.append(f"{_name(e)}: its predecessor seq {seq - 1} is missing or not "
                              "authentic (deleted)")
        elif e.prev != event_digest(previous):
            v.problems.append(f"{_name(e)}: prev does not match the digest of seq {seq - 1}: "
                              "the events were reordered or one was replaced")
        previous = e
    if previous is not None and previous.type not in TERMINAL_TYPES:
        v.notes.append(f"the authentic chain ends at {_name(previous)} without run_finished/"
                       "run_failed: any later events were lost or are still to come")
    elif previous is not None and previous.payload.get("event_count") != previous.seq + 1:
        v.problems.append(f"{_name(previous)} says event_count="
                          f"{previous.payload.get('event_count')}, but it is event "
                          f"{previous.seq + 1} of the run")
    return v
