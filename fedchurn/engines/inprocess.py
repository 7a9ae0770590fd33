"""Run a ServerApp and a ClientApp in one process, without Ray: an in-process Flower `Grid`.

`InProcessGrid` implements Flower's abstract `flwr.serverapp.Grid`. `push_messages` gives
each message an id, hands a private copy (`private_copy`, as Ray's pickling would) to the ClientApp with
that node's persistent `Context` (node_config `partition-id` / `num-partitions`, as Flower's
simulation sets it) and stores the reply; a ClientApp exception becomes an error reply,
as in Flower's simulation worker, except one marked `drops_reply` (a simulated dropout,
`clients.behaviour`): that node sends nothing, like a site that went away. Messages run
one after another in the calling thread.
"""

from __future__ import annotations

import copy
import random
import traceback
from collections.abc import Iterable
from typing import Any
from uuid import uuid4

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.app.error import Error
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode
from flwr.serverapp import Grid, ServerApp
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity


class InProcessGrid(Grid):
    """A Grid whose nodes are ClientApp calls in this process (node ids seeded, 63-bit)."""

    def __init__(self, client_app: ClientApp, num_nodes: int, run: Run, seed: int = 0) -> None:
        rng = random.Random(seed)
        node_ids: list[int] = []
        while len(node_ids) < num_nodes:
            candidate = rng.getrandbits(63)
            if candidate not in node_ids and candidate != SUPERLINK_NODE_ID:
                node_ids.append(candidate)
        self._client_app = client_app
        self._run = run
        self._contexts = {
            node_id: Context(
                run_id=run.run_id,
                node_id=node_id,
                node_config={"partition-id": partition, "num-partitions": num_nodes},
                state=RecordDict(),
                run_config={},
            )
            for partition, node_id in enumerate(node_ids)
        }
        self._replies: dict[str, Message] = {}

    def set_run(self, run: Run) -> None:
        """Set the run this Grid serves."""
        self._run = run

    @property
    def run(self) -> Run:
        """The run this Grid serves."""
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """A new instruction message (Flower prefers the Message constructor)."""
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        """The ids of all nodes, in partition order."""
        return list(self._contexts)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Deliver each message to its node's ClientApp now; return the message ids."""
        message_ids = []
        for message in messages:
            if message.metadata.dst_node_id not in self._contexts:
                raise ValueError(f"unknown destination node {message.metadata.dst_node_id}")
            message_id = str(uuid4())
            message.metadata.__dict__["_message_id"] = message_id
            reply = self._deliver(private_copy(message))
            if reply is not None:
                self._replies[message_id] = reply
            message_ids.append(message_id)
        return message_ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Hand over (and forget) the replies to `message_ids` that exist."""
        return [self._replies.pop(mid) for mid in message_ids if mid in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push messages and return their replies (delivery is synchronous: no waiting)."""
        return self.pull_messages(self.push_messages(messages))

    def _deliver(self, message: Message) -> Message | None:
        context = self._contexts[message.metadata.dst_node_id]
        try:
            reply = self._client_app(message=message, context=context)
        except Exception as ex:  # noqa: BLE001 - reported to the server like Flower does
            if getattr(ex, "drops_reply", False):
                return None
            reason = f"{type(ex)}:<'{ex}'>\n{traceback.format_exc(limit=5)}"
            reply = Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason=reason),
                            reply_to=message)
        reply.metadata.__dict__["_message_id"] = str(uuid4())
        return reply


def private_copy(message: Message) -> Message:
    """What a node receives: its own message object and records, as after Ray's pickling.

    Strategies send one RecordDict to every node; each node gets fresh record containers
    (and copied metadata) so a ClientApp that edits its input cannot affect the others.
    Array payloads are immutable bytes and are shared.
    """
    content = RecordDict({key: _copy_record(record) for key, record in message.content.items()})
    return Message(content=content, metadata=copy.copy(message.metadata))


def _copy_record(record: ArrayRecord | ConfigRecord | MetricRecord) -> Any:
    if isinstance(record, ArrayRecord):
        return ArrayRecord(dict(record.items()))
    return type(record)({k: list(v) if isinstance(v, list) else v for k, v in record.items()})


def run_inprocess(
    server_app: ServerApp, client_app: ClientApp, num_supernodes: int, seed: int = 0
) -> None:
    """Run `server_app` against `num_supernodes` in-process nodes running `client_app`."""
    rng = random.Random(f"run-{seed}")
    run = Run.create_empty(run_id=rng.getrandbits(63))
    run.primary_task_id = 1
    TaskIdentity.task_id = 1
    TaskIdentity.run_id = run.run_id
    TaskIdentity.node_id = SUPERLINK_NODE_ID
    grid = InProcessGrid(client_app, num_supernodes, run, seed=seed)
    server_context = Context(run_id=run.run_id, node_id=0, node_config={}, state=RecordDict(),
                             run_config={})
    server_app(grid=grid, context=server_context)
