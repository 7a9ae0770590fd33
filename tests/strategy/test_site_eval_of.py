"""Reading one federated-evaluation reply: the sparse (3, k) histogram is checked before pooling."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, Message, Metadata, RecordDict

from churn import protocol as P
from churn.pooled_metrics import ScoreBins
from churn.rounds import SiteEval
from strategy.federated_eval import site_eval_of

BINS = ScoreBins(num_bins=4, logit_range=2.0)  # size 6: bins 0..5
FEATURES = 2
METRICS = {P.FE_EVAL_LOG_LOSS_SUM: 3.5, P.FE_TRAIN_LOSS_SUM: 9.0, P.FE_TRAIN_EXAMPLES: 40,
           P.FE_LOCAL_AUC: 0.7, "eval-auc": 0.75}


def _reply(histogram: np.ndarray) -> Message:
    record = ArrayRecord({P.FE_HISTOGRAM: Array(np.asarray(histogram, dtype=np.float64)),
                          P.FE_CERTIFICATE: Array(np.ones((3, FEATURES + 2)))})
    metadata = Metadata(run_id=1, message_id="", src_node_id=7, dst_node_id=0,
                        reply_to_message_id="", group_id="", created_at=0.0, ttl=60.0,
                        message_type="evaluate")
    return Message(content=RecordDict({P.FEDERATED_EVAL: record}), metadata=metadata)


def _read(histogram: np.ndarray, num_examples: int) -> SiteEval | str:
    return site_eval_of(_reply(histogram), num_examples, METRICS, 3, BINS, FEATURES)


def test_a_sparse_reply_is_read_as_sent() -> None:
    z, y = np.array([-3.0, -0.5, -0.4, 1.2, 1.3, 9.0]), np.array([0, 0, 1, 0, 1, 1])
    histogram = BINS.histogram(z, y)
    np.testing.assert_array_equal(histogram, [[0, 2, 4, 5], [1, 1, 1, 0], [0, 1, 1, 1]])
    site = _read(histogram, len(y))
    assert isinstance(site, SiteEval), site
    np.testing.assert_array_equal(site.histogram, histogram)
    assert (site.node_id, site.partition_id, site.rows, site.train_rows) == (7, 3, 6, 40)


@pytest.mark.parametrize(("columns", "num_examples", "reason"), [
    ([[4, 1, 0], [2, 1, 1]], 3, "strictly ascending"),  # unsorted
    ([[2, 1, 0], [2, 0, 1]], 2, "strictly ascending"),  # a bin twice
    ([[-1, 1, 0], [2, 1, 1]], 3, "strictly ascending"),
    ([[2, 1, 0], [6, 1, 1]], 3, "strictly ascending"),  # past the overflow bin 5
    ([[2.5, 1, 0]], 1, "not integers"),
    ([[2, 1.5, 0.5]], 2, "not integers"),
    ([[2, -1, 3]], 2, "negative counts"),
    ([[2, 1, 0], [3, 1, 1]], 4, "!= num-examples 4"),  # a wrong total
])
def test_a_malformed_histogram_is_left_out_with_a_reason(columns: list[list[float]],
                                                         num_examples: int, reason: str) -> None:
    outcome = _read(np.array(columns, dtype=np.float64).T, num_examples)
    assert isinstance(outcome, str) and reason in outcome, outcome


def test_the_old_dense_form_and_non_finite_counts_are_left_out() -> None:
    dense = BINS.dense(BINS.histogram(np.array([0.5, -0.5]), np.array([1, 0])))
    assert "shapes (2, 6)" in _read(dense, 2)
    assert "non-finite" in _read(np.array([[1.0], [np.inf], [0.0]]), 1)
