"""Client side of `secure=secagg`: SecAgg-style key pairs, Shamir shares, masks, unmasking.

Per round (message names in churn.secure_protocol; Bonawitz et al. 2017, semi-honest model):

1. `query.secagg_keys`: two fresh X25519 pairs, c (encrypts shares to peers) and s (pairwise
   mask agreement); the private halves stay in the node's state.
2. `query.secagg_shares`: the key table. The site refuses a table smaller than its own
   `secagg-min-sites` (node config, else run config, never the message), without its own
   entry and keys, or with a repeated id or key. Otherwise it draws a self-mask seed b_i,
   Shamir-shares s_sk_i and b_i with t = max(min_sites, ceil(fraction * n)) and returns one
   ChaCha20-Poly1305 ciphertext per peer (the server routes them, cannot read them).
3. `train` (this mod, after training and DP clipping): with the routed ciphertexts of the
   peers that shared, it returns only
       y_i = v_i + PRG(b_i) + Σ_{j > i} PRG(s_ij) - Σ_{j < i} PRG(s_ij)   (mod 2^64),
   v_i = fixed point of [n_i * coef, n_i * intercept, n_i, took_part, n_i * metrics] (or of
   the clipped delta under privacy=dp), each value bounded so the sum cannot wrap.
4. `query.secagg_unmask`: survivors and dropped sites. The site answers with its b-shares of
   the survivors and its s_sk-shares of the dropped sites, and refuses (saying why) if the
   lists overlap, differ from the sites it masked with, leave fewer than t survivors, or ask
   for a share of the other kind for a peer it already answered for.
A site that declines sends an all-zero v_i (its reason stays private).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.app.error import Error
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.constant import ErrorCode

from churn import protocol as P
from churn import secure_crypto as C
from churn import secure_protocol as S
from churn.ndarrays import array_record
from churn.shamir import encode_share, split
from clients.secure_vector import contribution, mask_vector

_STATE = "secagg"  # context.state record of this round's secrets


class Refused(ValueError):
    """A request this site will not serve (the reason goes back to the server)."""


def table_problem(table: Sequence[int], cipher_keys: Sequence[bytes], mask_keys: Sequence[bytes],
                  own: int, own_keys: tuple[bytes, bytes], min_sites: int) -> str | None:
    """Why this site refuses a key table (None: it accepts)."""
    if len(table) < min_sites:
        return (f"key table has {len(table)} site(s), fewer than this site's {S.MIN_SITES}="
                f"{min_sites}: the sum would reveal too few sites' vectors")
    if not len(table) == len(cipher_keys) == len(mask_keys):
        return "key table lists differ in length"
    if len(set(table)) != len(table):
        return "key table repeats a node id"
    keys = [*cipher_keys, *mask_keys]
    if len(set(keys)) != len(keys) or any(len(k) != 32 for k in keys):
        return "key table repeats a public key (or holds a malformed one)"
    if own not in table:
        return "key table lacks this site's own entry"
    at = list(table).index(own)
    if (cipher_keys[at], mask_keys[at]) != own_keys:
        return "key table holds other keys for this site than the ones it sent"
    return None


def _state(context: Context, tag: object) -> ConfigRecord:
    state = context.state.get(_STATE)
    if not isinstance(state, ConfigRecord) or state["tag"] != tag:
        raise Refused("no secrets for this round here (the key query was not answered here)")
    return state


def _refusal(msg: Message, ex: Exception) -> Message:
    return Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION,
                         reason=f"secure aggregation refused: {ex}"), reply_to=msg)


def _info_reply(msg: Message, info: Mapping[str, Any]) -> Message:
    return Message(RecordDict({P.INFO: ConfigRecord({P.STATUS: P.STATUS_OK, **info})}),
                   reply_to=msg)


def key_reply(msg: Message, context: Context) -> Message:
    """Fresh c and s key pairs for this round; the private halves stay in the node's state."""
    cipher_private, cipher_public = C.new_key_pair()
    mask_private, mask_public = C.new_key_pair()
    context.state[_STATE] = ConfigRecord({
        "tag": str(msg.content[P.CONFIG][S.ROUND_TAG]), "cipher-sk": cipher_private,
        "mask-sk": mask_private, "cipher-pk": cipher_public, "mask-pk": mask_public})
    return _info_reply(msg, {S.CIPHER_KEY: cipher_public, S.MASK_KEY: mask_public})


def _plaintext(sender: int, receiver: int, key_share: int, seed_share: int) -> bytes:
    return (sender.to_bytes(8, "big") + receiver.to_bytes(8, "big") + encode_share(key_share)
            + encode_share(seed_share))


def share_reply(msg: Message, context: Context, site_config: Mapping[str, Any]) -> Message:
    """Check the key table, Shamir-share s_sk and a new b, encrypt one share pair per peer."""
    try:
        config = msg.content[P.CONFIG]
        tag = config[S.ROUND_TAG]
        state = _state(context, tag)
        own = int(msg.metadata.dst_node_id)
        table = [int(n) for n in config[S.TABLE]]
        cipher_keys = [bytes(k) for k in config[S.CIPHER_KEYS]]
        mask_keys = [bytes(k) for k in config[S.MASK_KEYS]]
        min_sites, fraction = S.threshold_settings(context.node_config, site_config)
        problem = table_problem(table, cipher_keys, mask_keys, own,
                                (bytes(state["cipher-pk"]), bytes(state["mask-pk"])), min_sites)
        if problem:
            raise Refused(problem)
    except (KeyError, ValueError) as ex:
        return _refusal(msg, ex)
    threshold = S.share_threshold(len(table), min_sites, fraction)
    seed = C.new_seed()
    xs = list(range(1, len(table) + 1))  # site table[k] holds the share at x = k + 1
    key_shares = split(bytes(state["mask-sk"]), threshold, xs)
    seed_shares = split(seed, threshold, xs)
    receivers, ciphertexts, shared = [], [], []
    for k, peer in enumerate(table):
        if peer == own:
            state["own-shares"] = _plaintext(own, own, key_shares[k], seed_shares[k])
            shared.append(b"")
            continue
        shared.append(C.shared_secret(bytes(state["cipher-sk"]), cipher_keys[k]))
        receivers.append(peer)
        ciphertexts.append(C.seal(shared[-1], str(tag), own, peer,
                                  _plaintext(own, peer, key_shares[k], seed_shares[k])))
    # the c shared secrets are kept to open the peers' shares (one X25519 per peer, not two)
    state.update({"table": table, "cipher-shared": shared, "mask-keys": mask_keys,
                  "seed": seed, "threshold": threshold})
    return _info_reply(msg, {S.SHARE_TO: receivers, S.SHARE_CIPHERTEXTS: ciphertexts})


def _received_shares(msg: Message, state: ConfigRecord, own: int, peers: list[int]
                     ) -> dict[int, bytes]:
    """sender -> plaintext (key share, seed share) for every peer, own shares included."""
    table = [int(n) for n in state["table"]]
    if len(set(peers)) != len(peers) or not set(peers) <= set(table) or own not in peers:
        raise Refused("the peers to mask with are not a subset of the key table holding this site")
    if len(peers) < int(state["threshold"]):
        raise Refused(f"only {len(peers)} site(s) shared their secrets, fewer than the "
                      f"threshold {int(state['threshold'])}")
    routed = msg.content[S.ROUTED]
    senders = [int(n) for n in routed[S.SHARE_FROM]]
    ciphertexts = [bytes(c) for c in routed[S.SHARE_CIPHERTEXTS]]
    if sorted(senders) != sorted(p for p in peers if p != own) or len(senders) != len(ciphertexts):
        raise Refused("the routed shares do not come from exactly the peers to mask with")
    shared = dict(zip(table, state["cipher-shared"], strict=True))
    received = {own: bytes(state["own-shares"])}
    for sender, ciphertext in zip(senders, ciphertexts, strict=True):
        plain = C.open_sealed(bytes(shared[sender]), str(state["tag"]), sender, own, ciphertext)
        if plain[:16] != sender.to_bytes(8, "big") + own.to_bytes(8, "big"):
            raise Refused(f"the share from node {sender} names another pair")
        received[sender] = plain
    return received


def secure_aggregation_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Replace the train reply by its masked vector when the train config names peers."""
    config = msg.content.get(P.CONFIG)
    if not isinstance(config, ConfigRecord) or S.PEERS not in config:
        return call_next(msg, context)
    own = int(msg.metadata.dst_node_id)
    try:  # check the routed shares before training: a bad round costs no local work
        state = _state(context, config[S.ROUND_TAG])
        peers = [int(n) for n in config[S.PEERS]]
        received = _received_shares(msg, state, own, peers)
    except (KeyError, ValueError) as ex:
        return _refusal(msg, ex)
    del msg.content[S.ROUTED]  # Flower's fixedclipping_mod wants exactly one ConfigRecord
    reply = call_next(msg, context)
    if reply.has_error():
        return reply
    try:
        fraction_bits = int(config[S.FRACTION_BITS])
        encoded = S.encode_fixed(contribution(msg, reply, config), fraction_bits, len(peers))
    except ValueError as ex:
        return _refusal(msg, ex)
    mask_keys = dict(zip(state["table"], state["mask-keys"], strict=True))
    masked = mask_vector(encoded, own, peers, [bytes(mask_keys[p]) for p in peers],
                         bytes(state["mask-sk"]), bytes(state["seed"]), str(state["tag"]))
    state.update({"peers": peers, "share-from": list(received),
                  "shares": list(received.values()), "revealed-seed": [], "revealed-key": []})
    del state["seed"]  # b_i now lives only in the peers' shares
    info = reply.content.get(P.INFO)
    keep = {k: info[k] for k in (P.PARTITION_ID, P.SPEC_FINGERPRINT)
            if isinstance(info, ConfigRecord) and k in info}
    return Message(RecordDict({S.MASKED: array_record([masked]),
                               P.INFO: ConfigRecord({P.STATUS: P.STATUS_OK, **keep})}),
                   reply_to=msg)


def unmask_reply(msg: Message, context: Context) -> Message:
    """Seed shares of the survivors, key shares of the dropped; never both for one peer."""
    try:
        config = msg.content[P.CONFIG]
        state = _state(context, config[S.ROUND_TAG])
        if "peers" not in state:
            raise Refused("this site sent no masked vector this round")
        survivors = [int(n) for n in config[S.SURVIVORS]]
        dropped = [int(n) for n in config[S.DROPPED]]
        both = (set(survivors) & set(dropped)) | (set(survivors) & set(state["revealed-key"])) \
            | (set(dropped) & set(state["revealed-seed"]))
        if both:
            raise Refused(f"asked for both the self-mask share and the mask-key share of node(s) "
                          f"{sorted(both)}; together they would unmask that site's vector")
        if sorted(survivors + dropped) != sorted(int(p) for p in state["peers"]):
            raise Refused("survivors and dropped sites are not exactly the sites masked with")
        if len(survivors) < int(state["threshold"]):
            raise Refused(f"{len(survivors)} survivor(s) is below the threshold "
                          f"{int(state['threshold'])}")
    except (KeyError, ValueError) as ex:
        return _refusal(msg, ex)
    shares = dict(zip(state["share-from"], state["shares"], strict=True))
    state["revealed-seed"] = sorted({*state["revealed-seed"], *survivors})
    state["revealed-key"] = sorted({*state["revealed-key"], *dropped})
    return _info_reply(msg, {
        S.SEED_SHARES_OF: survivors, S.SEED_SHARES: [bytes(shares[n])[82:] for n in survivors],
        S.KEY_SHARES_OF: dropped, S.KEY_SHARES: [bytes(shares[n])[16:82] for n in dropped]})


def register_secure_handlers(app: ClientApp, site_config: Mapping[str, Any]) -> None:
    """Add the secure-aggregation query handlers; `site_config` is the site's run config
    (its node config is read per message and wins)."""

    def shares(msg: Message, context: Context) -> Message:
        return share_reply(msg, context, {**site_config, **dict(context.run_config)})

    app.query(S.KEYS_ACTION)(key_reply)
    app.query(S.SHARES_ACTION)(shares)
    app.query(S.UNMASK_ACTION)(unmask_reply)
