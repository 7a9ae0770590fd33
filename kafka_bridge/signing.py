"""The deployment's Ed25519 event-signing key: made once, kept on the server's disk, never in Kafka."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)


def load_or_create_key(path: str | Path | None) -> Ed25519PrivateKey:
    """The private key in `path` (PKCS#8 PEM), created there (mode 0600) on first use.

    `None` gives a key for this process only (tests, demos): its runs verify, but nobody can
    pin the key in advance.
    """
    if path is None:
        return Ed25519PrivateKey.generate()
    path = Path(path).expanduser()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key (delete it to make a new one)")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return load_or_create_key(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    log.warning("made the event-signing key %s (public key %s); auditors pin the public key "
                "with `fedchurn audit verify --public-key`", path, public_key_hex(key))
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key as 64 hex chars (what run_started and results.json carry)."""
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def verify_signature(public_key: str, signature: str, data: bytes) -> bool:
    """True if `signature` (hex) is `public_key`'s (hex) Ed25519 signature of `data`."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True
