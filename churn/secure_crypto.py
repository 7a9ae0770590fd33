"""The secure=secagg primitives from `cryptography`: X25519 keys, HKDF, ChaCha20 PRG, AEAD.

Sites and the server both expand masks (the server only for dropped sites' pairwise masks and
survivors' self-masks, from reconstructed secrets), so the expansion lives here:

- pairwise mask of sites i, j: ChaCha20 key stream under HKDF-SHA256(X25519(s_sk_i, s_pk_j),
  info = tag | min(i,j) | max(i,j) | "mask");
- self mask of site i: ChaCha20 key stream under HKDF-SHA256(b_i, info = tag | i | "self");
- share encryption i -> j: ChaCha20-Poly1305 under HKDF(X25519(c_sk_i, c_pk_j), tag|i|j|enc),
  one message per key (nonce 0), associated data tag | i | j so a ciphertext cannot be
  replayed to another pair or round.
"""

from __future__ import annotations

import secrets

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_RAW = serialization.Encoding.Raw
_NONCE = bytes(12)  # every AEAD key encrypts exactly one message (fresh keys per round and pair)


def new_key_pair() -> tuple[bytes, bytes]:
    """(raw private key, raw public key) of a fresh X25519 pair."""
    private = X25519PrivateKey.generate()
    return (private.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                  serialization.NoEncryption()),
            private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw))


def new_seed() -> bytes:
    """A 32-byte self-mask seed b_i."""
    return secrets.token_bytes(32)


def _derive(material: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"fedchurn-secagg-v2|{info}".encode()).derive(material)


def _agree(private_key: bytes, peer_public_key: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_key).exchange(
        X25519PublicKey.from_public_bytes(peer_public_key))


def prg(key: bytes, length: int) -> np.ndarray:
    """`length` uint64 words of the ChaCha20 key stream under `key`."""
    stream = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(
        bytes(8 * length))
    return np.frombuffer(stream, dtype="<u8").astype(np.uint64)


def pair_mask(private_key: bytes, peer_public_key: bytes, tag: str, pair: tuple[int, int],
              length: int) -> np.ndarray:
    """The pairwise mask both sites of `pair` (and whoever holds one private key) expand."""
    key = _derive(_agree(private_key, peer_public_key), f"{tag}|{min(pair)}|{max(pair)}|mask")
    return prg(key, length)


def self_mask(seed: bytes, tag: str, node: int, length: int) -> np.ndarray:
    """PRG(b_i): the mask a site adds to its own vector, removed once t survivors reveal b_i."""
    return prg(_derive(seed, f"{tag}|{node}|self"), length)


def shared_secret(private_key: bytes, peer_public_key: bytes) -> bytes:
    """X25519(private, peer public): the same both ways, so a site computes it once per peer
    for sealing its shares and opening the peer's."""
    return _agree(private_key, peer_public_key)


def _aead(shared: bytes, tag: str, sender: int, receiver: int) -> ChaCha20Poly1305:
    # The X25519 secret is the same both ways: the direction in the key keeps i -> j and
    # j -> i from sharing a (key, nonce).
    return ChaCha20Poly1305(_derive(shared, f"{tag}|{sender}|{receiver}|enc"))


def _aad(tag: str, sender: int, receiver: int) -> bytes:
    return f"{tag}|{sender}|{receiver}".encode()


def seal(shared: bytes, tag: str, sender: int, receiver: int, plaintext: bytes) -> bytes:
    """Authenticated encryption from `sender` to `receiver` under their `shared_secret`."""
    return _aead(shared, tag, sender, receiver).encrypt(_NONCE, plaintext,
                                                        _aad(tag, sender, receiver))


def open_sealed(shared: bytes, tag: str, sender: int, receiver: int, ciphertext: bytes) -> bytes:
    """The plaintext of `seal`; ValueError if it was altered or is for another pair/round."""
    try:
        return _aead(shared, tag, sender, receiver).decrypt(_NONCE, ciphertext,
                                                            _aad(tag, sender, receiver))
    except InvalidTag as ex:
        raise ValueError(f"share ciphertext from node {sender} failed authentication") from ex


def public_of(private_key: bytes) -> bytes:
    """The raw X25519 public key of a raw private key (checks a reconstructed key)."""
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes(
        _RAW, serialization.PublicFormat.Raw)
