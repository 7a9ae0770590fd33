"""The SuperLink's "node unavailable" reply is recorded for the site it stands for, not node 1."""

from __future__ import annotations

from pathlib import Path

from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.server.superlink.linkstate.utils import create_message_error_unavailable_res_message

from fedchurn.config import compose_config
from fedchurn.simulate import run_job
from tests.client_wrappers import intercept
from tests.strategy.recorder import Recorder

GONE = 2  # the partition whose node "dies": round 1 evaluate and round 2 train


def _superlink_answers_for_the_gone_site(app: ClientApp) -> ClientApp:
    """Site GONE's round-1 evaluation and round-2 training come back as the error reply the
    SuperLink itself makes once a node's heartbeat expired (Flower's own constructor)."""

    def gone(msg: Message, context: Context) -> bool:
        return int(context.node_config["partition-id"]) == GONE

    def on_evaluate(app: ClientApp, msg: Message, context: Context) -> Message:
        if gone(msg, context) and int(msg.content["config"]["server-round"]) == 1:
            return create_message_error_unavailable_res_message(msg.metadata, "node_unavail")
        return app(msg, context)

    def on_train(app: ClientApp, msg: Message, context: Context) -> Message:
        if gone(msg, context) and int(msg.content["config"]["server-round"]) == 2:
            return create_message_error_unavailable_res_message(msg.metadata, "node_unavail")
        return app(msg, context)

    return intercept(app, on_train=on_train, on_evaluate=on_evaluate)


def test_the_superlinks_error_reply_names_the_unreachable_site(tmp_path: Path) -> None:
    recorder = Recorder()
    cfg = compose_config(["engine=inprocess", "data.num_rows=900", "num_clients=3",
                          "num_rounds=2"], output_dir=tmp_path)
    run_job(cfg, run_id="unavailable", output_dir=tmp_path, observers=[recorder],
            wrap_client_app=_superlink_answers_for_the_gone_site)
    first, second = recorder.records
    gone_node = {u.partition_id: u.node_id for u in first.updates}[GONE]
    assert gone_node != SUPERLINK_NODE_ID
    [eval_rejection] = first.evaluate_rejected
    assert (eval_rejection.node_id, eval_rejection.partition_id) == (gone_node, GONE)
    assert "code" in eval_rejection.reason
    [train_rejection] = second.rejected
    assert (train_rejection.node_id, train_rejection.partition_id) == (gone_node, GONE)
    # answered (by the SuperLink): a rejection, not also a missing reply
    assert second.missing == []
    assert sorted(u.partition_id for u in second.updates) == [0, 1]
