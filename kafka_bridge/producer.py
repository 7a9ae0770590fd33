"""Non-blocking event publisher: spool first, then a background thread delivers to Kafka."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka_bridge.config import BridgeConfig
from kafka_bridge.events import Event
from kafka_bridge.spool import Spool, SpooledEvent
from kafka_bridge.topics import ensure_topics, topic_for

log = logging.getLogger(__name__)

BATCH = 500  # events handed to the Kafka client per delivery attempt
COMPACT_BYTES = 64 * 1024 * 1024  # at close, rewrite a fully delivered spool above this size


class EventProducer:
    """`publish()` costs one buffered append; fsync and delivery happen in a sender thread.

    Events stay in the spool until Kafka acknowledges them (idempotent producer, acks=all).
    If the broker is unreachable the thread retries with backoff; nothing is dropped.
    """

    def __init__(self, config: BridgeConfig | dict[str, Any], spool: Spool | None = None,
                 *, delivery_timeout_s: float = 15.0) -> None:
        self.config = BridgeConfig.from_dict(config)
        connect_timeout_s = self.config.connect_timeout_s
        self.spool = spool or Spool(self.config.spool_path,
                                    fsync_each=self.config.spool_fsync_each_event)
        self.connect_timeout_s = connect_timeout_s
        self.delivery_timeout_s = delivery_timeout_s
        self.spooled = 0  # appended to the spool by this producer
        self.delivered = 0  # acknowledged by Kafka during this producer's life (incl. old ones)
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._closing = False  # no more publishes; drain until the deadline
        self._stop = threading.Event()  # give up now
        self._final: dict[str, int] = {}
        self._kafka = None
        self._thread = threading.Thread(target=self._run, name="kafka-bridge-sender", daemon=True)
        self._thread.start()

    # -- caller side -----------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Spool the event (in the OS on return) and wake the sender; never waits for Kafka."""
        if self._closing:
            raise RuntimeError("producer is closed")
        self.spool.append(event)
        self.spooled += 1
        with self._cond:
            self._cond.notify()

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until everything spooled is acknowledged; True if so."""
        deadline = time.monotonic() + timeout
        while self.spool.pending_count:
            if time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
        return True

    def stats(self) -> dict[str, int]:
        """{"delivered", "spooled", "pending"} counts (see EVENTS.md, "Delivery")."""
        return {"delivered": self.delivered, "spooled": self.spooled,
                "pending": self.spool.pending_count}

    def close(self, timeout: float | None = None) -> dict[str, int]:
        """Flush with a bounded timeout, stop the thread, close the spool; return the counts."""
        timeout = self.config.flush_timeout_s if timeout is None else timeout
        if not self._closing:
            self._closing = True
            self.flush(timeout)
            self._stop.set()
            with self._cond:
                self._cond.notify()
            # the thread only blocks in bounded client calls (connect, send metadata)
            self._thread.join(timeout=3 * self.connect_timeout_s + 2)
            stats = self.stats()
            if stats["pending"] == 0 and self.spool.size_bytes() > COMPACT_BYTES:
                self.spool.compact()
            self.spool.close()
            self._final = stats
            level = logging.INFO if stats["pending"] == 0 else logging.WARNING
            log.log(level, "kafka bridge closed: delivered=%(delivered)d spooled=%(spooled)d "
                    "pending=%(pending)d", stats)
            if stats["pending"]:
                log.warning("undelivered events stay in %s; deliver them with `python -m "
                            "kafka_bridge replay --spool %s --bootstrap HOST:PORT`",
                            self.spool.directory, self.spool.directory)
        return dict(self._final)

    # -- sender thread -----------------------------------------------------------------------
    def _connect(self) -> Any:
        from kafka import KafkaProducer

        ensure_topics(self.config.client_kwargs(), self.config.topic_prefix, self.config.topics,
                      timeout_s=self.connect_timeout_s)
        kwargs = self.config.client_kwargs(KafkaProducer)
        timeouts = {"bootstrap_timeout_ms": int(self.connect_timeout_s * 1000),
                    "request_timeout_ms": 5000,
                    "max_block_ms": int(self.connect_timeout_s * 1000),
                    "delivery_timeout_ms": int(self.delivery_timeout_s * 1000),
                    "reconnect_backoff_max_ms": 1000}
        fixed = {"enable_idempotence": True, "acks": "all", "allow_auto_create_topics": False,
                 "max_request_size": self.config.topics.max_message_bytes}
        return KafkaProducer(**{"linger_ms": 2, "client_id": "fedchurn-kafka-bridge",
                                **timeouts, **kwargs, **fixed})

    def _drop_kafka(self) -> None:
        if self._kafka is not None:
            try:
                self._kafka.close(timeout=1)
            except Exception:  # noqa: BLE001 - a broken client is discarded either way
                pass
            self._kafka = None

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            batch = self.spool.pending(BATCH)
            if not batch:
                with self._cond:  # re-check under the lock publish() notifies with: no lost wakeup
                    if not self._stop.is_set() and not self.spool.pending_count:
                        self._cond.wait(0.5)
                continue
            try:
                self.spool.sync()  # group commit: on disk before it can reach Kafka
                if self._kafka is None:
                    self._kafka = self._connect()
                    log.info("kafka bridge connected to %s", self.config.bootstrap_servers)
                    if self._stop.is_set():
                        break
                ok = self._deliver(batch)
            except Exception as exc:  # noqa: BLE001 - retried with backoff, never raised
                ok = False
                self._note_error(exc)
            if ok:
                backoff = 0.2
            else:
                self._drop_kafka()
                self._stop.wait(backoff)  # new publishes do not cut a backoff short
                backoff = min(backoff * 2, 2.0)
        self._drop_kafka()

    def _note_error(self, exc: BaseException) -> None:
        msg = f"{type(exc).__name__}: {exc}"
        if msg != self.last_error:
            log.warning("kafka bridge cannot deliver yet (%s); events stay spooled, retrying", msg)
        self.last_error = msg

    def _deliver(self, batch: list[SpooledEvent]) -> bool:
        """Send a batch, wait for the acks, mark acked events delivered; True if all were."""
        done = threading.Semaphore(0)
        sent = []
        error: BaseException | None = None
        for item in batch:
            try:
                fut = self._kafka.send(topic_for(item.type, self.config.topic_prefix),
                                       key=item.run_id.encode(), value=item.data)
            except Exception as exc:  # noqa: BLE001 - e.g. metadata timeout: retry later
                error = exc
                break
            fut.add_both(lambda _res, s=done: s.release())
            sent.append((item.event_id, fut))
        deadline = time.monotonic() + self.delivery_timeout_s + 5
        for _ in sent:
            while not done.acquire(timeout=0.1):
                if self._stop.is_set() or time.monotonic() > deadline:
                    break
            else:
                continue
            break
        acked = [eid for eid, fut in sent if fut.succeeded()]
        self.spool.mark_delivered(acked)
        self.delivered += len(acked)
        failed = [fut.exception for _, fut in sent if fut.failed()]
        error = error or (failed[0] if failed else None)
        if error is not None:
            self._note_error(error)
        elif len(acked) == len(batch):
            self.last_error = None
        return len(acked) == len(batch)
