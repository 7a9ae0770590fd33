"""The replies of secure=secagg's query exchanges, parsed: keys, share routing, unmask shares.

Each function takes the usable replies {node: Message} of one exchange and returns what the
server keeps plus a Rejection per reply it cannot use (strategy.secure records them).
"""

from __future__ import annotations

from collections.abc import Mapping

from flwr.app import ConfigRecord, Message

from churn import protocol as P
from churn import secure_protocol as S
from churn.rounds import Rejection
from churn.shamir import decode_share


def _info(msg: Message) -> ConfigRecord:
    info = msg.content.get(P.INFO)
    return info if isinstance(info, ConfigRecord) else ConfigRecord()


def parse_keys(replies: Mapping[int, Message]
               ) -> tuple[dict[int, tuple[bytes, bytes]], list[Rejection]]:
    """node -> (c_pk, s_pk) from the key replies."""
    keys, rejected = {}, []
    for node, msg in replies.items():
        pair = (_info(msg).get(S.CIPHER_KEY), _info(msg).get(S.MASK_KEY))
        if all(isinstance(k, bytes) and len(k) == 32 for k in pair):
            keys[node] = (bytes(pair[0]), bytes(pair[1]))
        else:
            rejected.append(Rejection(node, "no valid public keys for secure aggregation"))
    return keys, rejected


def route_shares(replies: Mapping[int, Message], table: list[int]
                 ) -> tuple[dict[int, tuple[list[int], list[bytes]]], list[Rejection]]:
    """receiver -> (senders, ciphertexts addressed to it), over the sites whose share reply
    covers every other site of the key table."""
    outgoing, rejected = {}, []
    for node, msg in replies.items():
        receivers = [int(r) for r in _info(msg).get(S.SHARE_TO, [])]
        ciphertexts = [bytes(c) for c in _info(msg).get(S.SHARE_CIPHERTEXTS, [])]
        if receivers != [n for n in table if n != node] or len(ciphertexts) != len(receivers):
            rejected.append(Rejection(node, "share reply does not cover the key table"))
            continue
        outgoing[node] = dict(zip(receivers, ciphertexts, strict=True))
    shared = sorted(outgoing)
    routed = {}
    for receiver in shared:
        senders = [s for s in shared if s != receiver]
        routed[receiver] = (senders, [outgoing[s][receiver] for s in senders])
    return routed, rejected


def collect_unmask(replies: Mapping[int, Message], survivors: list[int], dropped: list[int],
                   x_of: Mapping[int, int]
                   ) -> tuple[dict[int, dict[int, int]], dict[int, dict[int, int]], list[Rejection]]:
    """(survivor -> {x: seed share}, dropped -> {x: key share}) from the unmask replies; a reply
    answering for other sites than asked is not used."""
    seed_shares: dict[int, dict[int, int]] = {n: {} for n in survivors}
    key_shares: dict[int, dict[int, int]] = {n: {} for n in dropped}
    rejected = []
    for holder, msg in replies.items():
        info = _info(msg)
        try:
            if [int(n) for n in info[S.SEED_SHARES_OF]] != survivors or \
                    [int(n) for n in info[S.KEY_SHARES_OF]] != dropped:
                raise ValueError("answers for other sites than asked")
            seeds = [decode_share(bytes(s)) for s in info[S.SEED_SHARES]]
            keys = [decode_share(bytes(s)) for s in info[S.KEY_SHARES]]
            if len(seeds) != len(survivors) or len(keys) != len(dropped):
                raise ValueError("share lists differ in length from the sites asked for")
        except (KeyError, TypeError, ValueError) as ex:
            rejected.append(Rejection(holder, f"unusable unmask reply: {ex}"))
            continue
        for node, share in zip(survivors, seeds, strict=True):
            seed_shares[node][x_of[holder]] = share
        for node, share in zip(dropped, keys, strict=True):
            key_shares[node][x_of[holder]] = share
    return seed_shares, key_shares, rejected
