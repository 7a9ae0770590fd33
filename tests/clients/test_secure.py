"""The site side of secure=secagg: which key tables and unmask requests a site refuses."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from churn import secure_protocol as S
from clients.secure import register_secure_handlers, secure_aggregation_mod
from fedchurn.engines.inprocess import InProcessGrid

TAG = "run:1:0"


def _site_app(site_config: dict) -> ClientApp:
    """The real secure handlers around a train step that returns fixed numbers."""
    app = ClientApp()

    @app.train(mods=[secure_aggregation_mod])
    def train(msg: Message, context: Context) -> Message:
        arrays = msg.content["arrays"].to_numpy_ndarrays()
        return Message(RecordDict({"arrays": ArrayRecord([a + 1.0 for a in arrays]),
                                   "metrics": MetricRecord({"num-examples": 10}),
                                   "info": ConfigRecord({"status": "ok"})}), reply_to=msg)

    register_secure_handlers(app, site_config)
    return app


@pytest.fixture
def grid() -> InProcessGrid:
    run = Run.create_empty(run_id=1)
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, SUPERLINK_NODE_ID
    return InProcessGrid(_site_app({S.MIN_SITES: 3, S.THRESHOLD_FRACTION: 0.5}), 4, run)


def _ask(grid: InProcessGrid, action: str, nodes: list[int], config: dict,
         extra: dict[int, RecordDict] | None = None) -> dict[int, Message]:
    messages = []
    for node in nodes:
        content = RecordDict({"config": ConfigRecord(dict(config))})
        for key, record in (extra or {}).get(node, {}).items():
            content[key] = record
        messages.append(grid.create_message(content, action, node, ""))
    return {int(m.metadata.src_node_id): m for m in grid.send_and_receive(messages)}


def _keys(grid: InProcessGrid) -> tuple[list[int], dict[str, list[bytes]]]:
    nodes = sorted(grid.get_node_ids())
    replies = _ask(grid, S.QUERY_KEYS, nodes, {S.ROUND_TAG: TAG})
    return nodes, {S.TABLE: nodes,
                   S.CIPHER_KEYS: [replies[n].content["info"][S.CIPHER_KEY] for n in nodes],
                   S.MASK_KEYS: [replies[n].content["info"][S.MASK_KEY] for n in nodes]}


def _refusal(reply: Message) -> str:
    assert reply.has_error(), "the site answered a request it must refuse"
    return str(reply.error.reason)


def test_a_site_accepts_a_proper_table_and_encrypts_one_share_pair_per_peer(grid):
    nodes, table = _keys(grid)
    replies = _ask(grid, S.QUERY_SHARES, nodes, {S.ROUND_TAG: TAG, **table})
    for node, reply in replies.items():
        info = reply.content["info"]
        assert list(info[S.SHARE_TO]) == [n for n in nodes if n != node]
        assert all(len(c) == 8 + 8 + 2 * 66 + 16 for c in info[S.SHARE_CIPHERTEXTS])


@pytest.mark.parametrize("case", ["lone", "below-own-threshold", "missing-own", "repeated-key",
                                  "foreign-own-key", "repeated-id"])
def test_a_site_refuses_a_bad_key_table(grid, case):
    nodes, table = _keys(grid)
    target = nodes[0]
    c, m = list(table[S.CIPHER_KEYS]), list(table[S.MASK_KEYS])
    if case == "lone":
        bad = {S.TABLE: [target], S.CIPHER_KEYS: c[:1], S.MASK_KEYS: m[:1]}
        expected = "fewer than this site's secagg-min-sites=3"
    elif case == "below-own-threshold":  # the message cannot lower the site's own threshold
        bad = {S.TABLE: nodes[:2], S.CIPHER_KEYS: c[:2], S.MASK_KEYS: m[:2], S.MIN_SITES: 1}
        expected = "fewer than this site's secagg-min-sites=3"
    elif case == "missing-own":
        bad = {S.TABLE: nodes[1:], S.CIPHER_KEYS: c[1:], S.MASK_KEYS: m[1:]}
        expected = "lacks this site's own entry"
    elif case == "repeated-key":  # the server hands every peer the same (its own) key
        bad = {S.TABLE: nodes, S.CIPHER_KEYS: c, S.MASK_KEYS: [m[0]] + [m[1]] * 3}
        expected = "repeats a public key"
    elif case == "foreign-own-key":
        bad = {S.TABLE: nodes, S.CIPHER_KEYS: c, S.MASK_KEYS: [m[1], m[0], *m[2:]]}
        expected = "other keys for this site"
    else:
        bad = {S.TABLE: [target, *nodes[1:3], nodes[1]], S.CIPHER_KEYS: c, S.MASK_KEYS: m}
        expected = "repeats a node id"
    reply = _ask(grid, S.QUERY_SHARES, [target], {S.ROUND_TAG: TAG, **bad})[target]
    assert expected in _refusal(reply)


def _through_training(grid: InProcessGrid) -> list[int]:
    """Keys, shares and one masked vector from every site; returns the node ids."""
    nodes, table = _keys(grid)
    shares = _ask(grid, S.QUERY_SHARES, nodes, {S.ROUND_TAG: TAG, **table})
    extra = {}
    for receiver in nodes:
        senders = [n for n in nodes if n != receiver]
        ciphertexts = [dict(zip(shares[s].content["info"][S.SHARE_TO],
                                shares[s].content["info"][S.SHARE_CIPHERTEXTS],
                                strict=True))[receiver] for s in senders]
        extra[receiver] = RecordDict({"arrays": ArrayRecord([np.zeros(3)]), S.ROUTED: ConfigRecord(
            {S.SHARE_FROM: senders, S.SHARE_CIPHERTEXTS: ciphertexts})})
    train = {S.ROUND_TAG: TAG, S.PEERS: nodes, S.FRACTION_BITS: 32, S.METRIC_NAMES: []}
    replies = _ask(grid, "train", nodes, train, extra)
    assert all(not r.has_error() and S.MASKED in r.content for r in replies.values())
    return nodes


def test_a_site_never_reveals_both_shares_of_one_peer(grid):
    nodes = _through_training(grid)
    asker = nodes[0]
    overlap = {S.ROUND_TAG: TAG, S.SURVIVORS: nodes, S.DROPPED: [nodes[3]]}
    reason = _refusal(_ask(grid, S.QUERY_UNMASK, [asker], overlap)[asker])
    assert "both the self-mask share and the mask-key share" in reason
    first = {S.ROUND_TAG: TAG, S.SURVIVORS: nodes[:3], S.DROPPED: [nodes[3]]}
    ok = _ask(grid, S.QUERY_UNMASK, [asker], first)[asker]
    assert list(ok.content["info"][S.KEY_SHARES_OF]) == [nodes[3]]
    # a second request that swaps node 3 to the survivors (asking for its seed share too)
    swapped = {S.ROUND_TAG: TAG, S.SURVIVORS: [*nodes[:2], nodes[3]], S.DROPPED: [nodes[2]]}
    reason = _refusal(_ask(grid, S.QUERY_UNMASK, [asker], swapped)[asker])
    assert f"node(s) {sorted([nodes[2], nodes[3]])}" in reason


def test_a_site_refuses_to_unmask_with_fewer_survivors_than_its_threshold(grid):
    nodes = _through_training(grid)
    request = {S.ROUND_TAG: TAG, S.SURVIVORS: nodes[:1], S.DROPPED: nodes[1:]}
    assert "below the threshold" in _refusal(_ask(grid, S.QUERY_UNMASK, [nodes[0]],
                                                  request)[nodes[0]])
