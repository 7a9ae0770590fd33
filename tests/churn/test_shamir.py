"""Shamir sharing over GF(2^521 - 1): any t shares rebuild the secret, fewer are refused."""

from __future__ import annotations

import itertools
import secrets

import pytest

from churn.shamir import PRIME, combine, decode_share, encode_share, split


def test_any_t_of_n_shares_rebuild_the_secret_and_more_shares_agree():
    secret = secrets.token_bytes(32)
    xs = list(range(1, 7))
    shares = dict(zip(xs, split(secret, 3, xs), strict=True))
    for subset in itertools.combinations(xs, 3):
        assert combine({x: shares[x] for x in subset}, 3) == secret
    assert combine(shares, 3) == secret  # all six lie on the same degree-2 polynomial


def test_fewer_than_t_shares_or_mixed_polynomials_are_refused():
    secret = b"\xff" * 32  # the largest secret still fits
    xs = [1, 2, 3, 4]
    shares = dict(zip(xs, split(secret, 3, xs), strict=True))
    with pytest.raises(ValueError, match="cannot reconstruct"):
        combine({1: shares[1], 2: shares[2]}, 3)
    other = dict(zip(xs, split(secrets.token_bytes(32), 3, xs), strict=True))
    with pytest.raises(ValueError, match="inconsistent"):
        combine({1: shares[1], 2: shares[2], 3: other[3], 4: other[4]}, 3)


def test_t_minus_one_shares_are_consistent_with_every_secret():
    """Two shares of a threshold-3 sharing: for any candidate secret there is a polynomial
    through them (so they say nothing about it); here: they rebuild a chosen fake secret."""
    xs = [1, 2, 3]
    real = split(b"\x01" * 32, 3, xs)
    fake = int.from_bytes(b"\x02" * 32, "big")
    # a degree-2 polynomial through (0, fake), (1, real[0]), (2, real[1]) gives a third share
    third = (fake - 3 * real[0] + 3 * real[1]) % PRIME  # Lagrange at x=3 through 0, 1, 2
    assert combine({1: real[0], 2: real[1], 3: third}, 3) == b"\x02" * 32


def test_share_encoding_round_trips_and_rejects_out_of_field_values():
    value = PRIME - 1
    assert decode_share(encode_share(value)) == value
    with pytest.raises(ValueError):
        decode_share(b"\xff" * 66)
    with pytest.raises(ValueError):
        split(b"short", 2, [1, 2])
    with pytest.raises(ValueError):
        split(b"\x00" * 32, 3, [1, 2])
