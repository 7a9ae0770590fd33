"""Client side of `secure=secagg`: X25519 keys, HKDF + ChaCha20 pairwise masks, fixed-point sums.

Per round, the server first asks each sampled site for a fresh X25519 public key
(`query.secagg-keys`), then sends the train message with the table of the peers' public keys.
After local training (and DP clipping, if asked) this mod replaces the reply by ONE masked
vector over Z_2^64:

    v_i = [update, n_i, took_part, (n_i * metric_k, n_i) per metric]   (fixed point, 2^-F)
    masked_i = v_i + Σ_{j > i} PRG(k_ij) - Σ_{j < i} PRG(k_ij)   (mod 2^64)

where update = n_i * [coef, intercept] (sample-weighted FedAvg: the server learns only
Σ n_i w_i and Σ n_i) or, under privacy=dp, the clipped delta (the server learns its sum);
k_ij = HKDF-SHA256(X25519(sk_i, pk_j), info = run/round/pair) and PRG = the ChaCha20 key
stream, all from the `cryptography` package. The masks cancel in the sum over the key table,
so each masked vector alone is uniformly random to the server. A site that declines sends an
all-zero v_i (its decline reason stays private); no `num-examples` or metric leaves in clear.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.app.error import Error
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.constant import ErrorCode
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from churn import protocol as P
from churn.secure_protocol import (
    FRACTION_BITS,
    KEYS_ACTION,
    MASKED,
    METRIC_NAMES,
    PEERS,
    PUBLIC_KEY,
    PUBLIC_KEYS,
    ROUND_TAG,
    encode_fixed,
    vector_length,
)

_STATE = "secagg"  # context.state record with this round's private key
_RAW = serialization.Encoding.Raw


def pair_mask(private_key: bytes, peer_public_key: bytes, tag: str, pair: tuple[int, int],
              length: int) -> np.ndarray:
    """The ChaCha20 key stream (uint64) under HKDF(X25519 shared secret, tag and pair)."""
    shared = X25519PrivateKey.from_private_bytes(private_key).exchange(
        X25519PublicKey.from_public_bytes(peer_public_key))
    info = f"fedchurn-secagg-v1|{tag}|{min(pair)}|{max(pair)}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)
    stream = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(
        bytes(8 * length))
    return np.frombuffer(stream, dtype="<u8").astype(np.uint64)


def mask_vector(encoded: np.ndarray, own: int, peers: Sequence[int], public_keys: Sequence[bytes],
                private_key: bytes, tag: str) -> np.ndarray:
    """encoded + Σ_{j > own} mask_j - Σ_{j < own} mask_j (mod 2^64) over the key table."""
    masked = np.asarray(encoded, dtype=np.uint64).copy()
    for peer, public in zip(peers, public_keys, strict=True):
        if peer == own:
            continue
        mask = pair_mask(private_key, public, tag, (own, peer), len(masked))
        masked = masked + mask if peer > own else masked - mask
    return masked


def key_reply(msg: Message, context: Context) -> Message:
    """A fresh X25519 key pair for this round: the private half stays in the node's state."""
    private = X25519PrivateKey.generate()
    tag = str(msg.content[P.CONFIG][ROUND_TAG])
    context.state[_STATE] = ConfigRecord({"tag": tag, "private-key": private.private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())})
    public = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    return Message(RecordDict({P.INFO: ConfigRecord({P.STATUS: P.STATUS_OK, PUBLIC_KEY: public})}),
                   reply_to=msg)


def register_secure_handlers(app: ClientApp) -> None:
    """Add the key-agreement query handler to a ClientApp."""
    app.query(KEYS_ACTION)(key_reply)


def contribution(msg: Message, reply: Message, config: ConfigRecord) -> np.ndarray:
    """The site's plain vector v_i (float64) from the train message and its unmasked reply."""
    received = [np.asarray(a, dtype=np.float64) for a in msg.content[P.ARRAYS].to_numpy_ndarrays()]
    names = [str(n) for n in config[METRIC_NAMES]]
    size = sum(a.size for a in received)
    vector = np.zeros(vector_length(size, len(names)))
    info = reply.content.get(P.INFO)
    if (isinstance(info, ConfigRecord) and info.get(P.STATUS) == P.STATUS_DECLINED) or \
            P.ARRAYS not in reply.content:
        return vector
    sent = np.concatenate([np.asarray(a, dtype=np.float64).ravel()
                           for a in reply.content[P.ARRAYS].to_numpy_ndarrays()])
    metrics = reply.content[P.METRICS]
    n = float(metrics[P.NUM_EXAMPLES])
    if KEY_CLIPPING_NORM in config:  # DP: the clipped delta, unweighted
        vector[:size] = sent - np.concatenate([a.ravel() for a in received])
    else:
        vector[:size] = n * sent
    vector[size], vector[size + 1] = n, 1.0
    for k, name in enumerate(names):
        value = metrics.get(name)
        if isinstance(value, int | float) and np.isfinite(value):
            vector[size + 2 + 2 * k], vector[size + 3 + 2 * k] = n * float(value), n
    return vector


def secure_aggregation_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Replace the train reply by its masked vector when the train config holds a key table."""
    config = msg.content.get(P.CONFIG)
    if not isinstance(config, ConfigRecord) or PEERS not in config:
        return call_next(msg, context)
    reply = call_next(msg, context)
    if reply.has_error():
        return reply
    try:
        state = context.state[_STATE]
        if state["tag"] != config[ROUND_TAG]:
            raise ValueError("no key pair for this round (the key query was not answered here)")
        fraction_bits = int(config[FRACTION_BITS])
        encoded = encode_fixed(contribution(msg, reply, config), fraction_bits)
        masked = mask_vector(encoded, int(msg.metadata.dst_node_id), list(config[PEERS]),
                             list(config[PUBLIC_KEYS]), bytes(state["private-key"]),
                             str(config[ROUND_TAG]))
    except (KeyError, ValueError) as ex:
        return Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION,
                             reason=f"secure aggregation: {ex}"), reply_to=msg)
    finally:
        if _STATE in context.state:
            del context.state[_STATE]  # one key pair per round
    info = reply.content.get(P.INFO)
    keep = {k: info[k] for k in (P.PARTITION_ID, P.SPEC_FINGERPRINT)
            if isinstance(info, ConfigRecord) and k in info}
    return Message(RecordDict({MASKED: ArrayRecord([masked]),
                               P.INFO: ConfigRecord({P.STATUS: P.STATUS_OK, **keep})}),
                   reply_to=msg)
