"""What a simulated node receives is its own: a ClientApp's edits reach neither the strategy's
records nor the other nodes, with one process or forked workers."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from fedchurn.engines.inprocess import InProcessGrid


def _meddling_app() -> ClientApp:
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        config, arrays = msg.content["config"], msg.content["arrays"]
        seen = (str(config["who"]), list(config["tags"]), float(arrays["0"].numpy()[0]),
                float(msg.content["metrics"]["m"]))
        config["who"] = f"node {context.node_config['partition-id']}"  # edit every record
        config["tags"].append("edited")
        arrays["0"] = Array(np.array([99.0]))
        msg.content["metrics"]["m"] = -1.0
        msg.content["extra"] = ConfigRecord({"x": 1})
        return Message(RecordDict({"seen": ConfigRecord({
            "who": seen[0], "tags": seen[1], "coef": seen[2], "m": seen[3]})}), reply_to=msg)

    return app


@pytest.mark.parametrize("workers", [1, 2])
def test_a_node_that_edits_its_message_changes_nothing_the_others_see(workers: int) -> None:
    run = Run.create_empty(run_id=7)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = run.run_id, 1, 1
    grid = InProcessGrid(_meddling_app(), 4, run, seed=3, workers=workers)
    try:
        shared = RecordDict({"config": ConfigRecord({"who": "server", "tags": ["a", "b"]}),
                             "arrays": ArrayRecord([np.array([0.5])]),
                             "metrics": MetricRecord({"m": 2.0})})
        messages = [Message(shared, node, "train", group_id="1") for node in grid.get_node_ids()]
        replies = list(grid.send_and_receive(messages))
    finally:
        grid.close()
    assert len(replies) == 4
    for reply in replies:  # every node saw the strategy's values, not an earlier node's edits
        seen = reply.content["seen"]
        assert (seen["who"], seen["tags"], seen["coef"], seen["m"]) == ("server", ["a", "b"], 0.5, 2.0)
    assert dict(shared["config"]) == {"who": "server", "tags": ["a", "b"]}
    assert float(shared["arrays"]["0"].numpy()[0]) == 0.5
    assert shared["metrics"]["m"] == 2.0 and "extra" not in shared
