"""The vector a site masks under secure=secagg: its plain contribution v_i and y_i = v_i + masks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from flwr.app import ConfigRecord, Message
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from churn import protocol as P
from churn import secure_crypto as C
from churn import secure_protocol as S
from churn.ndarrays import ndarrays


def contribution(msg: Message, reply: Message, config: ConfigRecord) -> np.ndarray:
    """The site's plain vector v_i (float64) from the train message and its unmasked reply."""
    received = [np.asarray(a, dtype=np.float64) for a in ndarrays(msg.content[P.ARRAYS])]
    names = [str(n) for n in config[S.METRIC_NAMES]]
    size = sum(a.size for a in received)
    vector = np.zeros(S.vector_length(size, len(names)))
    info = reply.content.get(P.INFO)
    if (isinstance(info, ConfigRecord) and info.get(P.STATUS) == P.STATUS_DECLINED) or \
            P.ARRAYS not in reply.content:
        return vector
    sent = np.concatenate([np.asarray(a, dtype=np.float64).ravel()
                           for a in ndarrays(reply.content[P.ARRAYS])])
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


def mask_vector(encoded: np.ndarray, own: int, peers: Sequence[int], mask_keys: Sequence[bytes],
                mask_private: bytes, seed: bytes, tag: str) -> np.ndarray:
    """encoded + PRG(b) + Σ_{j > own} PRG(s_oj) - Σ_{j < own} PRG(s_oj) (mod 2^64)."""
    masked = np.asarray(encoded, dtype=np.uint64) + C.self_mask(seed, tag, own, len(encoded))
    for peer, public in zip(peers, mask_keys, strict=True):
        if peer == own:
            continue
        mask = C.pair_mask(mask_private, public, tag, (own, peer), len(masked))
        masked = masked + mask if peer > own else masked - mask
    return masked
