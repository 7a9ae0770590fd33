"""Tell a refused SASL login or an untrusted broker certificate apart from an unreachable
broker, as one readable error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from kafka_bridge.config import ENV_VARS, BridgeConfig
from kafka_bridge.topics import ensure_topics


class KafkaLoginError(RuntimeError):
    """The broker refused the configured credentials, or its TLS certificate failed
    verification: retrying cannot help."""


class _AuthFailures(logging.Handler):
    """Collects what kafka-python logs about its connections: kafka-python 3.0.12 retries a
    refused SASL login until its bootstrap timeout and then raises only `Unable to bootstrap`.
    Measured against the local broker's SASL listener, a wrong PLAIN or SCRAM password shows as
    `Connection lost: socket disconnected` on a connection whose broker version was already
    identified (the broker closes right after its failure reply, before the client reads it);
    an unreachable or non-Kafka address never gets that far."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failures: list[str] = []  # refused logins, as the client saw them
        self.tls: list[str] = []  # failed TLS handshakes (untrusted or mismatched certificate)
        self.other = 0  # connection losses before the broker spoke Kafka

    def emit(self, record: logging.LogRecord) -> None:
        from kafka import errors

        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, errors.SaslAuthenticationFailedError | errors.AuthorizationError):
                self.failures.append(str(arg))
        conn = next((a for a in args if hasattr(a, "broker_version_data")), None)
        lost = next((a for a in args if isinstance(a, errors.KafkaConnectionError)), None)
        # measured: kafka-python retries a failed verification until its bootstrap timeout,
        # logging `Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] ...` each time
        if lost is not None and "CERTIFICATE_VERIFY_FAILED" in str(lost):
            self.tls.append(str(lost).split("Handshake failed: ", 1)[-1])
        elif conn is not None and lost is not None:
            if conn.broker_version_data is not None:
                self.failures.append(f"the broker closed the connection during SASL "
                                     f"authentication: {lost}")
            else:
                self.other += 1


@contextmanager
def _captured_auth_failures() -> Iterator[_AuthFailures]:
    """kafka-python's log records go to the collector only (not the console) meanwhile."""
    logger = logging.getLogger("kafka")
    handler, propagate = _AuthFailures(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def check_login(cfg: BridgeConfig) -> None:
    """Connect once with `cfg` (creating the bridge topics if missing); raise KafkaLoginError
    naming the broker and the settings to fix if it refused the SASL login or its TLS
    certificate failed verification. Any other failure (broker down, slow) is left to the
    sender thread's retries."""
    protocol = cfg.security_protocol.upper()
    if not protocol.startswith("SASL") and protocol != "SSL":
        return
    with _captured_auth_failures() as seen:
        try:
            ensure_topics(cfg.client_kwargs(), cfg.topic_prefix, cfg.topics,
                          timeout_s=cfg.connect_timeout_s)
            return
        except Exception:  # noqa: BLE001 - only a refused login or certificate is reported
            if seen.tls:
                raise KafkaLoginError(
                    f"the TLS certificate of Kafka at {cfg.bootstrap_servers} failed "
                    f"verification over {cfg.security_protocol} ({seen.tls[-1]}). Give the CA "
                    f"that signed the broker's certificate ({ENV_VARS['ssl_cafile']} or the "
                    f"--config file) and run the command again; nothing was sent and the spool "
                    "is unchanged") from None
            if not seen.failures or seen.other:
                return
    reason = seen.failures[-1]
    raise KafkaLoginError(
        f"Kafka at {cfg.bootstrap_servers} refused the {cfg.sasl_mechanism} login of user "
        f"{cfg.sasl_plain_username!r} over {cfg.security_protocol} ({reason}). Fix the "
        f"credentials ({ENV_VARS['sasl_plain_username']}, {ENV_VARS['sasl_plain_password']}, "
        f"{ENV_VARS['sasl_mechanism']} or the --config file) and run the command again; "
        "nothing was sent and the spool is unchanged")
