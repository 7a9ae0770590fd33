"""Wire names and the fixed-point codec of `secure=secagg`, shared by sites and server."""

from __future__ import annotations

import numpy as np

KEYS_ACTION = "secagg_keys"
QUERY_KEYS = f"query.{KEYS_ACTION}"
ROUND_TAG = "secagg-round-tag"  # server -> client: binds keys and masks to one run and round
PEERS = "secagg-peers"  # train config: node ids of the key table (sorted)
PUBLIC_KEYS = "secagg-public-keys"  # train config: their raw X25519 public keys, same order
FRACTION_BITS = "secagg-fraction-bits"  # train config: F of the fixed-point encoding
METRIC_NAMES = "secagg-metric-names"  # train config: client metrics summed (n-weighted)
PUBLIC_KEY = "secagg-public-key"  # key reply (info record)
MASKED = "masked"  # train reply: ArrayRecord([uint64 vector])


def vector_length(num_params: int, num_metrics: int) -> int:
    """Entries of one contribution: params, n, took_part, then (sum, weight) per metric."""
    return num_params + 2 + 2 * num_metrics


def encode_fixed(values: np.ndarray, fraction_bits: int) -> np.ndarray:
    """round(values * 2^F) as two's-complement uint64; refuses values that could overflow."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * 2.0 ** fraction_bits)
    if not np.all(np.isfinite(scaled)) or np.any(np.abs(scaled) >= 2.0 ** 62):
        raise ValueError("a value is too large for the fixed-point encoding of secure aggregation")
    return scaled.astype(np.int64).view(np.uint64)


def decode_fixed(total: np.ndarray, fraction_bits: int) -> np.ndarray:
    """The signed sum back as float64 (the inverse of `encode_fixed`, after summing mod 2^64)."""
    return np.asarray(total, dtype=np.uint64).view(np.int64).astype(np.float64) / 2.0 ** fraction_bits
