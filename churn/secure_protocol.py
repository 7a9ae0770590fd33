"""Wire names, thresholds and the fixed-point codec of `secure=secagg`, shared by sites and server.

One FL round is four message exchanges (strategy.secure drives them, clients.secure answers):
`query.secagg_keys` (two public keys per site) -> `query.secagg_shares` (the key table; each
site returns its Shamir shares encrypted to each peer) -> `train` (the routed ciphertexts; each
site returns its masked vector) -> `query.secagg_unmask` (survivors / dropped lists; each site
returns self-mask-seed shares of survivors or mask-key shares of dropped sites, never both).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

KEYS_ACTION = "secagg_keys"
SHARES_ACTION = "secagg_shares"
UNMASK_ACTION = "secagg_unmask"
QUERY_KEYS, QUERY_SHARES, QUERY_UNMASK = (f"query.{a}" for a in (KEYS_ACTION, SHARES_ACTION,
                                                                    UNMASK_ACTION))
ROUND_TAG = "secagg-round-tag"  # server -> client: binds keys, shares and masks to one round
CIPHER_KEY = "secagg-cipher-key"  # key reply: X25519 public key for share encryption (c_pk)
MASK_KEY = "secagg-mask-key"  # key reply: X25519 public key for pairwise masks (s_pk)
TABLE = "secagg-table"  # share query: node ids of the key table (sorted), then the two key lists
CIPHER_KEYS = "secagg-cipher-keys"
MASK_KEYS = "secagg-mask-keys"
SHARE_TO = "secagg-share-to"  # share reply: receiver ids, same order as SHARE_CIPHERTEXTS
SHARE_FROM = "secagg-share-from"  # train message (ROUTED record): sender ids
SHARE_CIPHERTEXTS = "secagg-share-ciphertexts"
ROUTED = "secagg-routed"  # train message: ConfigRecord with this site's routed ciphertexts
PEERS = "secagg-peers"  # train config: the sites whose shares were routed (mask over these)
FRACTION_BITS = "secagg-fraction-bits"  # train config: F of the fixed-point encoding
METRIC_NAMES = "secagg-metric-names"  # train config: client metrics summed (n-weighted)
MASKED = "masked"  # train reply: ArrayRecord([uint64 vector])
SURVIVORS = "secagg-survivors"  # unmask query: sites whose masked vectors were summed
DROPPED = "secagg-dropped"  # unmask query: sites that shared but sent no masked vector
SEED_SHARES_OF, SEED_SHARES = "secagg-seed-shares-of", "secagg-seed-shares"  # unmask reply
KEY_SHARES_OF, KEY_SHARES = "secagg-key-shares-of", "secagg-key-shares"  # unmask reply

# A site's own configuration (node config first, then run config; never the message).
MIN_SITES = "secagg-min-sites"
THRESHOLD_FRACTION = "secagg-threshold-fraction"
DEFAULT_MIN_SITES, DEFAULT_FRACTION = 3, 0.5


def share_threshold(table_size: int, min_sites: int, fraction: float) -> int:
    """t for a key table of `table_size` sites: max(min_sites, ceil(fraction * size))."""
    return max(min_sites, math.ceil(fraction * table_size))


def threshold_settings(*configs: Mapping[str, Any]) -> tuple[int, float]:
    """(min_sites, fraction) from the first config that names them; refuses unsafe values."""
    min_sites = next((c[MIN_SITES] for c in configs if MIN_SITES in c), DEFAULT_MIN_SITES)
    fraction = next((c[THRESHOLD_FRACTION] for c in configs if THRESHOLD_FRACTION in c),
                    DEFAULT_FRACTION)
    min_sites, fraction = int(min_sites), float(fraction)
    if min_sites < 2:
        raise ValueError(f"{MIN_SITES}={min_sites}: secure aggregation needs at least 2 sites "
                         "(one site's sum is its own vector)")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"{THRESHOLD_FRACTION}={fraction} must be in (0, 1]")
    return min_sites, fraction


def vector_length(num_params: int, num_metrics: int) -> int:
    """Entries of one contribution: params, n, took_part, then (sum, weight) per metric."""
    return num_params + 2 + 2 * num_metrics


def value_bound(fraction_bits: int, summands: int) -> float:
    """Largest |value| one site may encode so that the sum of `summands` values stays inside
    int64 (no silent wrap mod 2^64): 2^(63 - F) / summands."""
    return 2.0 ** (63 - fraction_bits) / max(summands, 1)


def encode_fixed(values: np.ndarray, fraction_bits: int, summands: int) -> np.ndarray:
    """round(values * 2^F) as two's-complement uint64; refuses a value whose sum over
    `summands` sites could wrap."""
    values = np.asarray(values, dtype=np.float64)
    bound = value_bound(fraction_bits, summands)
    if not np.all(np.isfinite(values)) or np.any(np.abs(values) >= bound):
        worst = float(np.max(np.abs(np.nan_to_num(values, nan=np.inf))))
        raise ValueError(f"a value ({worst:.3g}) is outside the fixed-point range ±{bound:.3g} "
                         f"of secure aggregation for {summands} sites at F={fraction_bits}; "
                         "lower secure.fraction_bits")
    return np.rint(values * 2.0 ** fraction_bits).astype(np.int64).view(np.uint64)


def decode_fixed(total: np.ndarray, fraction_bits: int) -> np.ndarray:
    """The signed sum back as float64 (the inverse of `encode_fixed`, after summing mod 2^64)."""
    return np.asarray(total, dtype=np.uint64).view(np.int64).astype(np.float64) / 2.0 ** fraction_bits


def site_run_config(secure: Mapping[str, Any]) -> dict[str, int | float]:
    """The `secure` group's thresholds as the sites' run-config entries."""
    return {MIN_SITES: int(secure.get("min_sites", DEFAULT_MIN_SITES)),
            THRESHOLD_FRACTION: float(secure.get("threshold_fraction", DEFAULT_FRACTION))}
