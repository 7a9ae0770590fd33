"""The one secret redaction: values under secret-looking keys (in configs, in Hydra override
strings such as `bridge.sasl_plain_password=x`) become "***" before anything is written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "***"
# Key names that hold secrets: passwords, secrets (e.g. privacy.secret_noise_seed), tokens,
# credentials and key material (not paths such as ssl_keyfile, nor key_timeout).
SECRET_KEY = re.compile(r"pass(word|wd|phrase)|secret|token|credential|"
                        r"(private|api|signing|secret)[_-]?key|key[_-]?material", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """True when a config key (or dotted override key) names a secret."""
    return bool(SECRET_KEY.search(key))


def redact(value: Any, key: str = "") -> Any:
    """`value` with every secret replaced by "***": by key in mappings, and inside override
    strings (lists of overrides, Hydra's comma-joined `override_dirname`). An interpolation
    such as `${oc.env:FEDCHURN_KAFKA_SASL_PASSWORD,null}` names where the secret is, so it stays."""
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if value is None:
        return None
    if is_secret_key(key):
        return value if _is_interpolation(value) else REDACTED
    if isinstance(value, str) and "=" in value:
        return redact_overrides(value)
    return value


def redact_overrides(text: str) -> str:
    """`a=1,x.password=p,q` -> `a=1,x.password=***`: one override, or several joined by ","
    (the parts of a sweep value `password=p,q` after a secret key are dropped too)."""
    parts: list[str] = []
    hiding = False
    for part in text.split(","):
        key, equals, _ = part.partition("=")
        if equals:
            hiding = is_secret_key(key)
            parts.append(f"{key}={REDACTED}" if hiding else part)
        elif not hiding:
            parts.append(part)
    return ",".join(parts)


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")
