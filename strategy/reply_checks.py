"""Validate each client reply before aggregation; a bad reply becomes a Rejection with a reason.

Flower's FedAvg raises `InconsistentMessageReplies` (ending the ServerApp) when one reply lacks
`num-examples` or holds a different record layout; these checks drop such a reply instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Message, MetricRecord
from flwr.common.constant import SUPERLINK_NODE_ID

from churn import protocol as P
from churn.ndarrays import ndarrays
from churn.rounds import ClientUpdate, Rejection

# Text of the exception a ClientApp raises to simulate a dropout (`clients.behaviour`); engines
# that turn exceptions into error replies carry it in the error reason, so the strategy can
# count the node as missing rather than as a faulty reply.
DROPOUT_MARKER = "simulated dropout of partition"


def node_of(msg: Message, sent: list[Message]) -> int:
    """The node a reply stands for: its sender, or the node an instruction was for when the
    SuperLink answers in its place ("node unavailable" once the node's heartbeat expired).

    That error reply comes from the SuperLink's own node id with `reply_to_message_id` set to
    the instruction, whose id the grid set on the Message we pushed (CI run of 2026-12-04: a
    killed site's evaluate error was recorded for node 1 with no partition id).
    """
    source = int(msg.metadata.src_node_id)
    if source != SUPERLINK_NODE_ID:
        return source
    reply_to = msg.metadata.reply_to_message_id
    return next((int(m.metadata.dst_node_id) for m in sent
                 if m.metadata.message_id == reply_to), source)


def check_train_reply(
    msg: Message, expected_shapes: list[tuple[int, ...]], spec_fingerprint: str
) -> ClientUpdate | Rejection:
    """An accepted update, or the reason the reply cannot be aggregated."""
    node_id = int(msg.metadata.src_node_id)
    common = _check_common(msg, spec_fingerprint)
    if isinstance(common, Rejection):
        return common
    num_examples, metrics, partition_id = common
    arrays, problem = _arrays_of(msg, expected_shapes)
    if problem:
        return Rejection(node_id, problem, partition_id)
    return ClientUpdate(node_id, partition_id, num_examples, metrics, arrays)


def check_evaluate_reply(
    msg: Message, spec_fingerprint: str
) -> tuple[int, dict[str, float], int | None] | Rejection:
    """(num-examples, metrics, partition-id) of a usable evaluation reply, or a Rejection."""
    return _check_common(msg, spec_fingerprint)


def _check_common(
    msg: Message, spec_fingerprint: str
) -> tuple[int, dict[str, float], int | None] | Rejection:
    node_id = int(msg.metadata.src_node_id)
    if msg.has_error():
        reason = str(msg.error.reason or "").strip().splitlines()
        return Rejection(node_id, f"client error (code {msg.error.code}): "
                                  f"{reason[0] if reason else 'no reason given'}")
    content = msg.content
    info = content.get(P.INFO)
    info = dict(info) if isinstance(info, ConfigRecord) else {}
    partition_id = _partition_id(info)
    if info.get(P.STATUS) == P.STATUS_DECLINED:
        return Rejection(node_id, f"declined: {info.get(P.REASON, 'no reason given')}",
                         partition_id)
    metric_records = list(content.metric_records.values())
    if len(metric_records) != 1:
        return Rejection(node_id, f"expected one MetricRecord, got {len(metric_records)}",
                         partition_id)
    metrics: MetricRecord = metric_records[0]
    if P.NUM_EXAMPLES not in metrics:
        return Rejection(node_id, f"no '{P.NUM_EXAMPLES}' in the reply metrics", partition_id)
    num_examples = metrics[P.NUM_EXAMPLES]
    if (isinstance(num_examples, list) or not math.isfinite(float(num_examples))
            or float(num_examples) != int(num_examples) or int(num_examples) <= 0):
        return Rejection(node_id, f"'{P.NUM_EXAMPLES}' must be a positive whole number, "
                                  f"got {num_examples!r}", partition_id)
    fingerprint = info.get(P.SPEC_FINGERPRINT)
    if fingerprint != spec_fingerprint:
        return Rejection(node_id, f"spec fingerprint {fingerprint!r} differs from the server's "
                                  f"{spec_fingerprint!r}", partition_id)
    scalars = {k: float(v) for k, v in metrics.items()
               if k != P.NUM_EXAMPLES and not isinstance(v, list)}
    return int(num_examples), scalars, partition_id


def _arrays_of(
    msg: Message, expected_shapes: list[tuple[int, ...]]
) -> tuple[list[np.ndarray], str | None]:
    records = list(msg.content.array_records.values())
    if len(records) != 1:
        return [], f"expected one ArrayRecord, got {len(records)}"
    try:
        arrays = [np.asarray(a, dtype=np.float64) for a in ndarrays(records[0])]
    except (TypeError, ValueError) as ex:
        return [], f"arrays are not numeric: {ex}"
    if len(arrays) != len(expected_shapes):
        return [], f"expected {len(expected_shapes)} arrays, got {len(arrays)}"
    shapes = [tuple(a.shape) for a in arrays]
    if shapes != [tuple(s) for s in expected_shapes]:
        return [], f"array shapes {shapes} differ from the global model's {expected_shapes}"
    bad = [i for i, a in enumerate(arrays) if not np.isfinite(a).all()]
    if bad:
        return [], f"non-finite values (NaN/inf) in array(s) {bad}"
    return arrays, None


def _partition_id(info: dict[str, Any]) -> int | None:
    value = info.get(P.PARTITION_ID)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None
