"""Shamir secret sharing of 32-byte secrets over the prime field GF(2^521 - 1) (secure=secagg).

A secret s < 2^256 is the constant term of a random polynomial f of degree t - 1; share x is
f(x) for x = 1..n. Any t shares give s back by Lagrange interpolation at 0, fewer than t say
nothing about s (every value is equally likely). p = 2^521 - 1 is a Mersenne prime larger
than any 256-bit secret, so one field element holds one X25519 private key or seed.
Coefficients come from `secrets` (the OS CSPRNG).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from functools import lru_cache

PRIME = (1 << 521) - 1
SHARE_BYTES = 66  # ceil(521 / 8)
SECRET_BYTES = 32


def split(secret: bytes, threshold: int, xs: Sequence[int]) -> list[int]:
    """f(x) for each x in `xs` (distinct, 1 <= x < p), f of degree threshold - 1, f(0) = secret."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"a secret must be {SECRET_BYTES} bytes, got {len(secret)}")
    if not 1 <= threshold <= len(xs):
        raise ValueError(f"threshold {threshold} must be in [1, {len(xs)}] (the number of shares)")
    if len(set(xs)) != len(xs) or any(not 0 < x < PRIME for x in xs):
        raise ValueError("share points must be distinct and in [1, p)")
    coefficients = [int.from_bytes(secret, "big")] + [secrets.randbelow(PRIME)
                                                      for _ in range(threshold - 1)]
    shares = []
    for x in xs:
        y = 0
        for c in reversed(coefficients):  # Horner
            y = (y * x + c) % PRIME
        shares.append(y)
    return shares


@lru_cache(maxsize=64)
def lagrange_at_zero(xs: tuple[int, ...]) -> tuple[int, ...]:
    """λ_k with f(0) = Σ λ_k f(x_k) for any f of degree < len(xs); cached because the server
    reconstructs every secret of a round from the same set of survivors' points."""
    out = []
    for k, xk in enumerate(xs):
        numerator, denominator = 1, 1
        for m, xm in enumerate(xs):
            if m != k:
                numerator = numerator * xm % PRIME
                denominator = denominator * (xm - xk) % PRIME
        out.append(numerator * pow(denominator, -1, PRIME) % PRIME)
    return tuple(out)


def combine(shares: Mapping[int, int], threshold: int) -> bytes:
    """The secret from at least `threshold` shares {x: f(x)}; refuses fewer or an out-of-range
    result (shares of different polynomials or a wrong threshold)."""
    if len(shares) < threshold:
        raise ValueError(f"{len(shares)} share(s) cannot reconstruct a secret of threshold "
                         f"{threshold}")
    xs = tuple(sorted(shares))
    value = sum(lam * shares[x] for lam, x in zip(lagrange_at_zero(xs), xs, strict=True)) % PRIME
    if value >> (8 * SECRET_BYTES):
        raise ValueError("the shares do not interpolate to a 32-byte secret (inconsistent shares)")
    return value.to_bytes(SECRET_BYTES, "big")


def encode_share(value: int) -> bytes:
    """A share as fixed-width big-endian bytes."""
    return value.to_bytes(SHARE_BYTES, "big")


def decode_share(data: bytes) -> int:
    """The inverse of `encode_share`, refusing a value outside the field."""
    value = int.from_bytes(data, "big")
    if len(data) != SHARE_BYTES or value >= PRIME:
        raise ValueError("malformed Shamir share")
    return value
