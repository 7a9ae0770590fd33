"""Non-blocking event publisher: spool first, then a background thread delivers to Kafka."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kafka_bridge.config import BridgeConfig
from kafka_bridge.events import Event
from kafka_bridge.spool import Spool
from kafka_bridge.topics import ensure_topics, topic_for

log = logging.getLogger(__name__)

BATCH = 500  # events handed to the Kafka client per loop iteration
MAX_IN_FLIGHT = 5000  # sent, not yet acknowledged
COMPACT_BYTES = 64 * 1024 * 1024  # at close, rewrite a fully delivered spool above this size
# Burst coalescing: the observer publishes a round as a burst of events (~0.3 ms apart). The
# sender and fsync threads wait until publishing has paused this long (at most MAX_LINGER_S)
# before working, so they do not take the GIL between every two events of the burst: measured
# on a real 10-client run, waking per event made each publish cost 1-3 ms of the training
# thread's time instead of ~0.3 ms (scripts/bench_bridge_overhead.py).
LINGER_S = 0.005
MAX_LINGER_S = 0.05


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
                                    fsync_each=self.config.spool_fsync_each_event,
                                    topic_prefix=self.config.topic_prefix,
                                    max_pending_bytes=self.config.spool_max_bytes)
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
        self._inflight: set[str] = set()  # sender-thread only
        self._acked: list[str] = []  # filled by Kafka callbacks, under _cond
        self._failed: list[str] = []
        self._dead: list[tuple[str, str]] = []  # (event id, broker's reason): refused for good
        # A refusal aborts the idempotent client's other batches with the same error, so a
        # refused event is a suspect first, resent alone; refused alone, it is dead-lettered.
        self._suspects: dict[str, str] = {}  # sender-thread only: event id -> reason
        self._alone: str | None = None  # the suspect in flight by itself
        self._error: BaseException | None = None
        self._dirty = threading.Event()  # set by publish(): the syncer has lines to fsync
        self._last_publish = 0.0  # time.monotonic() of the latest publish()
        self._thread = threading.Thread(target=self._run, name="kafka-bridge-sender", daemon=True)
        self._syncer = threading.Thread(target=self._sync_loop, name="kafka-bridge-fsync",
                                        daemon=True)
        self._thread.start()
        self._syncer.start()

    # -- caller side -----------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Spool the event (in the OS on return) and wake the sender; never waits for Kafka."""
        if self._closing:
            raise RuntimeError("producer is closed")
        if not self.spool.append(event):
            return  # spool full: dropped with the spool's warning (a seq gap for the audit)
        self.spooled += 1
        self._last_publish = time.monotonic()
        self._dirty.set()
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
        """{"delivered", "spooled", "pending"} counts, plus "dead_lettered" (refused for good)
        and "dropped" (spool full) when not 0 (see the README, "Delivery guarantees")."""
        out = {"delivered": self.delivered, "spooled": self.spooled,
               "pending": self.spool.pending_count}
        extra = {"dead_lettered": self.spool.dead_lettered, "dropped": self.spool.refused}
        return {**out, **{k: n for k, n in extra.items() if n}}

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
            self._dirty.set()
            self._syncer.join(timeout=5)
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

    def _linger(self) -> None:
        """Wait (bounded) until publish() has paused: one wake-up per burst, not per event."""
        since = time.monotonic()
        while not self._stop.is_set() and not self._closing:
            now = time.monotonic()
            lull = self._last_publish + LINGER_S - now
            if lull <= 0 or now - since >= MAX_LINGER_S:
                return
            self._stop.wait(min(lull, since + MAX_LINGER_S - now))

    def _run(self) -> None:
        """Pipelined delivery: send new events while earlier ones await their acks."""
        backoff = 0.2
        while not self._stop.is_set():
            self._linger()
            acked, failed = self._take_results()
            for event_id, reason in self._take_dead():
                self._inflight.discard(event_id)
                if event_id == self._alone:  # refused by itself: the reason is its own
                    self.spool.dead_letter(event_id, reason)
                else:
                    self._suspects[event_id] = reason
            if self._alone is not None and self._alone not in self._inflight:
                self._alone = None
            if acked:
                self.spool.mark_delivered(acked)
                self.delivered += len(acked)
                self._inflight.difference_update(acked)
                backoff, self.last_error = 0.2, None
            self._inflight.difference_update(failed)
            if self._error is not None:  # let in-flight sends settle, then reconnect
                if self._inflight:
                    self._wait_for_results(0.1)
                    continue
                self._note_error(self._error)
                self._error = None
                self._drop_kafka()
                self._stop.wait(backoff)  # new publishes do not cut a backoff short
                backoff = min(backoff * 2, 2.0)
                continue
            batch = self._next_batch()
            if not batch:
                self._wait_for_results(0.5)
                continue
            try:
                if self._kafka is None:
                    self._kafka = self._connect()
                    log.info("kafka bridge connected to %s", self.config.bootstrap_servers)
                    if self._stop.is_set():
                        break
                for item in batch:
                    try:
                        fut = self._kafka.send(topic_for(item.type, self.config.topic_prefix),
                                               key=item.run_id.encode(), value=item.data)
                    except Exception as exc:  # noqa: BLE001 - sorted by _refused_for_good
                        if not _refused_for_good(exc):
                            raise
                        self.spool.dead_letter(item.event_id, f"{type(exc).__name__}: {exc}")
                        continue
                    self._inflight.add(item.event_id)
                    fut.add_callback(self._on_result, item.event_id, True)
                    fut.add_errback(self._on_result, item.event_id, False)
            except Exception as exc:  # noqa: BLE001 - retried with backoff, never raised
                self._error = self._error or exc
        self._drop_kafka()

    def _next_batch(self) -> list[Any]:
        """Up to BATCH pending events not in flight; a suspect goes alone once nothing else is
        in flight (rare: only after the broker refused something)."""
        if self._suspects:
            pending = self.spool.pending_ids()
            waiting = set(pending)
            self._suspects = {i: r for i, r in self._suspects.items() if i in waiting}
        if self._suspects:
            if self._inflight:
                return []
            first = self.spool.get(next(i for i in pending if i in self._suspects))
            if first is None:  # acked meanwhile
                return []
            del self._suspects[first.event_id]
            self._alone = first.event_id
            return [first]
        if len(self._inflight) >= MAX_IN_FLIGHT:
            return []
        return [e for e in self.spool.pending(BATCH + len(self._inflight))
                if e.event_id not in self._inflight][:BATCH]

    def _sync_loop(self) -> None:
        """Group commit: fsync whatever was appended since the last fsync, off the send path
        (a disk flush takes 4-15 ms on a busy box; neither caller nor sender waits for it)."""
        while True:
            self._dirty.wait()
            self._linger()
            self._dirty.clear()
            try:
                self.spool.sync()
            except Exception:  # noqa: BLE001 - the file stays written; next sync retries
                log.exception("kafka bridge: spool fsync failed")
            if self._stop.is_set():
                return

    def _on_result(self, event_id: str, ok: bool, result: Any) -> None:
        """Future callback (Kafka client thread): queue the outcome, wake the sender."""
        with self._cond:
            if ok:
                self._acked.append(event_id)
            else:
                if _refused_for_good(result):
                    self._dead.append((event_id, f"{type(result).__name__}: {result}"))
                else:
                    self._failed.append(event_id)
                self._error = self._error or result  # the client needs a reconnect either way
            self._cond.notify_all()

    def _take_results(self) -> tuple[list[str], list[str]]:
        with self._cond:
            acked, failed = self._acked, self._failed
            self._acked, self._failed = [], []
            return acked, failed

    def _take_dead(self) -> list[tuple[str, str]]:
        with self._cond:
            dead, self._dead = self._dead, []
            return dead

    def _wait_for_results(self, seconds: float) -> None:
        with self._cond:  # re-checked under the lock publish() notifies with: no lost wakeup
            idle = (not self._acked and not self._failed and not self._dead
                    and not self._stop.is_set())
            if idle and (self._error is not None or
                         self.spool.pending_count <= len(self._inflight)):
                self._cond.wait(seconds)

    def _note_error(self, exc: BaseException) -> None:
        msg = f"{type(exc).__name__}: {exc}"
        if msg != self.last_error:
            log.warning("kafka bridge cannot deliver yet (%s); events stay spooled, retrying", msg)
        self.last_error = msg


def _refused_for_good(exc: BaseException) -> bool:
    """Errors a retry cannot fix for this event (too large for the topic or the client's
    max_request_size, an invalid record): dead-lettered instead of retried forever."""
    from kafka import errors

    return isinstance(exc, errors.MessageSizeTooLargeError | errors.RecordListTooLargeError |
                      errors.InvalidRecordError | errors.CorruptRecordError)
