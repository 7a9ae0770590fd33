"""Tamper evidence of one run: Ed25519 signatures, the `prev` hash chain and the terminal event count.

Every schema-v2 event carries the sha256 of the run's previous event's bytes (`prev`), and
the server signs run_started, each round_aggregated and the terminal event with its deployment
key (public key in `run_started`): a signature vouches for every event its chain reaches. So
a Kafka writer cannot alter, forge, reorder (`seq` is chained) or delete an event without the
auditor naming it; given the expected public key (`--public-key`), a whole run forged under
another key fails too. Events after the newest signature (a round in progress) are only
noted as not yet covered.
"""

from __future__ import annotations

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


def _self_signed(e: Event) -> bool:
    """A run_started whose signature verifies under the public key it names."""
    key, body = e.payload.get("public_key"), signed_bytes(e)
    return (isinstance(key, str) and len(key) == 64 and e.sig is not None and body is not None
            and verify_signature(key, e.sig, body))


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
    chained = [e for e in events if e.schema_version >= 2]
    starts = [e for e in chained if e.type == "run_started" and e.seq == 0]
    genuine = [e for e in starts if _self_signed(e)]
    if expected_key:  # several self-signed starts: the pinned key's is the run's
        genuine = [e for e in genuine if e.payload["public_key"] == expected_key.strip().lower()
                   ] or genuine
    keys = sorted({e.payload["public_key"] for e in genuine})
    if len(keys) != 1:
        v.problems.append(f"run_started (seq 0) signed by {len(keys)} different keys that "
                          "they name, need exactly 1: the signatures cannot be checked")
        return v
    key = v.public_key = keys[0]
    if expected_key and key != expected_key.strip().lower():
        v.problems.append(f"the run is signed by public key {key}, not the expected "
                          f"{expected_key.strip()}: forged or from another deployment")
    signed_ok: list[Event] = []
    for e in sorted(chained, key=lambda e: e.seq):
        if e.sig is None:
            continue
        body = signed_bytes(e)
        if body is None or not verify_signature(key, e.sig, body):
            v.problems.append(f"{_name(e)}: signature invalid: altered or forged")
        else:
            signed_ok.append(e)
    seqs = [e.seq for e in signed_ok]
    for seq in sorted({q for q in seqs if seqs.count(q) > 1}):
        v.problems.append(f"seq {seq}: {seqs.count(seq)} different events signed by the run's "
                          "key (two histories under one run id)")
    by_digest = {event_digest(e): e for e in chained}
    covered: set[str] = set()  # event ids a valid signature's chain reaches
    for head in sorted(signed_ok, key=lambda e: -e.seq):
        cur = head
        while cur.event_id not in covered:
            covered.add(cur.event_id)
            if cur.prev == GENESIS:
                if cur.seq != 0 or cur.type != "run_started":
                    v.problems.append(f"{_name(cur)}: the chain starts here, not at run_started")
                break
            before = by_digest.get(cur.prev)
            if before is None:
                v.problems.append(f"seq {cur.seq - 1} (the event before {_name(cur)}) is "
                                  "missing or altered: deleted or tampered with")
                break
            if before.seq != cur.seq - 1:
                v.problems.append(f"{_name(before)} is chained right before {_name(cur)}: "
                                  "reordered")
            cur = before
    last_signed = max((e.seq for e in signed_ok), default=-1)
    pending = []
    for e in sorted(chained, key=lambda e: e.seq):
        if e.event_id in covered:
            continue
        if e.seq > last_signed and not any(t.type in TERMINAL_TYPES for t in chained):
            pending.append(e)
        else:
            v.problems.append(f"{_name(e)} is not in the signed hash chain: forged, altered "
                              "or reordered")
    if pending:
        v.notes.append(f"{len(pending)} event(s) after seq {last_signed} are not yet covered "
                       "by a signature (the next round_aggregated or the terminal event signs "
                       "them)")
    terminal = [e for e in signed_ok if e.type in TERMINAL_TYPES]
    for t in terminal:
        if t.payload.get("event_count") != t.seq + 1:
            v.problems.append(f"{_name(t)} says event_count={t.payload.get('event_count')}, "
                              f"but it is event {t.seq + 1} of the run")
    return v
