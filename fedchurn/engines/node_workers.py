"""Worker processes for the in-process engine: each owns a fixed share of the nodes.

Node k (in partition order) belongs to worker k mod W for the whole run, so its persistent
`Context` (node state, e.g. secure-aggregation keys) and its cached rows and encodings live
in one process, as on a SuperNode. Worker 0 is the engine's own process (it would only wait
for the others; a third process cost ~360 MB PSS at 1,000 sites x 70k rows, ~2 GB at 700k);
workers 1..W-1 are forked when the run starts: they inherit the ClientApp object (built once
from the run config, never per message, and never pickled, so test wrappers around it work
too) and the loaded experiment. A batch of messages costs one pipe round trip per forked
worker; replies come back in the order the messages were pushed, so a run gives
bit-identical results with any number of workers.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.app.error import Error
from flwr.clientapp import ClientApp
from flwr.common.constant import ErrorCode

from churn import protocol as P
from churn.site_data import serve_partitions


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def call_client_app(client_app: ClientApp, message: Message, context: Context) -> Message | None:
    """One ClientApp call as Flower's simulation worker makes it: an exception becomes an error
    reply, except one marked `drops_reply` (a simulated dropout): then nothing comes back."""
    try:
        return client_app(message=message, context=context)
    except Exception as ex:  # noqa: BLE001 - reported to the server like Flower does
        if getattr(ex, "drops_reply", False):
            return None
        reason = f"{type(ex)}:<'{ex}'>\n{traceback.format_exc(limit=5)}"
        return Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason=reason),
                       reply_to=message)


def private_copy(message: Message) -> Message:
    """What a node receives: its own message object and records, as after Ray's pickling.

    Strategies send one RecordDict to every node; each node gets fresh record containers
    (and copied metadata) so a ClientApp that edits its input cannot affect the others.
    Array payloads are immutable bytes and are shared.
    """
    content = RecordDict({key: _copy_record(record) for key, record in message.content.items()})
    return Message(content=content, metadata=copy.copy(message.metadata))


Record = ArrayRecord | ConfigRecord | MetricRecord


def _copy_record(record: Record) -> Record:
    if isinstance(record, ArrayRecord):
        return ArrayRecord(dict(record.items()))
    # The values were type-checked when the strategy built the record: the records' own
    # `copy()` skips the re-check (28 -> 0.6 us for a train config, measured); list values
    # are copied so a node's edits stay its own.
    copied = record.copy()
    for key, value in record.items():
        if isinstance(value, list):
            copied[key] = list(value)
    return copied


def _serve(client_app: ClientApp, contexts: dict[int, Context], conn: Connection) -> None:
    """A worker's loop: a list of messages in, the list of their replies out; None ends it.

    A batch is pickled once, so messages sharing a RecordDict arrive sharing it (the round's
    arrays and spec cross the pipe once per worker): each node still gets a private copy.
    """
    serve_partitions(_partitions(contexts))
    while (batch := conn.recv()) is not None:
        conn.send([call_client_app(client_app, private_copy(m), contexts[m.metadata.dst_node_id])
                   for m in batch])
    conn.close()


def _partitions(contexts: dict[int, Context]) -> list[int]:
    return [int(c.node_config[P.NODE_PARTITION_ID]) for c in contexts.values()]


class NodeWorkers:
    """The ClientApp calls of `workers` shares of the nodes: share 0 in this process, the others
    on forked processes, all at once."""

    def __init__(self, client_app: ClientApp, contexts: dict[int, Context], workers: int) -> None:
        if workers < 2:
            raise ValueError(f"NodeWorkers needs at least 2 workers, got {workers}")
        # fork: children share the parent's loaded data copy-on-write and start in ~10 ms;
        # spawn would re-import Flower and reload the experiment in every worker (~3 s).
        mp = multiprocessing.get_context("fork")
        self._client_app = client_app
        self._owner = {node: k % workers for k, node in enumerate(contexts)}
        self._own = {n: c for n, c in contexts.items() if self._owner[n] == 0}
        self._conns: list[Connection] = []
        self._procs: list[multiprocessing.process.BaseProcess] = []
        for index in range(1, workers):
            owned = {n: c for n, c in contexts.items() if self._owner[n] == index}
            parent_end, child_end = mp.Pipe()
            proc = mp.Process(target=_serve, args=(client_app, owned, child_end),
                              name=f"fedchurn-node-worker-{index}", daemon=True)
            proc.start()
            child_end.close()
            self._conns.append(parent_end)
            self._procs.append(proc)
        serve_partitions(_partitions(self._own))  # after the forks: they declare their own

    def deliver(self, messages: Sequence[Message]) -> list[Message | None]:
        """Run every message on its node's worker (all workers at once); replies in order."""
        batches: list[list[int]] = [[] for _ in range(len(self._conns) + 1)]
        for position, message in enumerate(messages):
            batches[self._owner[message.metadata.dst_node_id]].append(position)
        for conn, positions in zip(self._conns, batches[1:], strict=True):
            if positions:
                conn.send([messages[p] for p in positions])
        replies: list[Message | None] = [None] * len(messages)
        for position in batches[0]:  # this process's share while the others work
            message = messages[position]
            replies[position] = call_client_app(self._client_app, private_copy(message),
                                                self._own[message.metadata.dst_node_id])
        for conn, positions in zip(self._conns, batches[1:], strict=True):
            if positions:
                try:
                    answers = conn.recv()
                except EOFError as ex:
                    raise RuntimeError("an in-process engine worker died (see its output above)"
                                       ) from ex
                for position, reply in zip(positions, answers, strict=True):
                    replies[position] = reply
        return replies

    def close(self) -> None:
        """Stop the workers (they finish the batch they hold) and reap them."""
        serve_partitions(None)
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in self._conns:
            conn.close()
