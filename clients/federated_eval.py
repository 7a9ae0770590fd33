"""A site's federated-evaluation payload: score histogram, certificate sums, local-only vs global AUC.

Every number is an aggregate over the site's rows: per-class counts of the global model's
logits in the occupied ones of the server's bins (evaluation rows), the log-loss sums, the class sums of
`churn.certificate.site_sums` (training rows: the certificate is about the training
objective), and two AUCs computed here: the global model's and that of the site's own
local-only model on the same evaluation rows. The local-only model is fitted once per run
(cached per spec and C) with the same spec and C as the federation; a site whose training
rows hold one class cannot fit one and reports NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
from flwr.app import ArrayRecord

from churn import protocol as P
from churn.certificate import site_sums
from churn.metrics import rank_auc
from churn.model import fit_classifier
from churn.ndarrays import array
from churn.pooled_metrics import ScoreBins
from churn.site_data import ClientSettings, encoded_node_data


# one float per site and run: 64 entries thrashed at N > 64 sites per process, so every
# round refitted every site's model (900 fits for 300 sites x 3 rounds, 45 % of that run)
@functools.lru_cache(maxsize=1 << 14)
def local_only_auc(settings: ClientSettings, partition_id: int, data_path: str, spec_json: str,
                   C: float, schema_json: str = "") -> float:
    """AUC on the site's evaluation rows of LR fitted on its training rows alone (once per run)."""
    x_train, y_train, x_eval, y_eval = encoded_node_data(settings, partition_id, data_path,
                                                         spec_json, schema_json)
    if np.unique(y_train).size < 2 or len(y_eval) == 0:
        return float("nan")
    model = fit_classifier(x_train, y_train, C=C)
    return rank_auc(y_eval, model.predict_proba(x_eval)[:, 1])


def federated_eval_payload(
    global_arrays: list[np.ndarray], settings: ClientSettings, partition_id: int,
    data_path: str, spec_json: str, bins: ScoreBins, C: float, schema_json: str = "",
) -> tuple[ArrayRecord, dict[str, float]]:
    """The reply's `federated-eval` ArrayRecord and its `fe-*` metrics, on the rows under the
    agreed `schema_json` (the one train and evaluate use: without it a run whose agreed schema
    differs from the node's file encoded the rows a second way, and a simulation encoded its
    whole pool twice, 2 x 6.5 s at 700k rows)."""
    x_train, y_train, x_eval, y_eval = encoded_node_data(settings, partition_id, data_path,
                                                         spec_json, schema_json)
    coef, intercept = global_arrays
    theta = np.concatenate([np.ravel(coef), np.ravel(intercept)]).astype(np.float64)
    logits = x_eval @ theta[:-1] + theta[-1]
    eval_loss_sum = float(np.sum(np.logaddexp(0.0, logits) - np.asarray(y_eval) * logits))
    train_loss_sum, sums = site_sums(theta, x_train, y_train)
    record = ArrayRecord({P.FE_HISTOGRAM: array(bins.histogram(logits, y_eval)),
                          P.FE_CERTIFICATE: array(sums)})
    local_auc = local_only_auc(settings, partition_id, data_path, spec_json, float(C), schema_json)
    metrics = {P.FE_EVAL_LOG_LOSS_SUM: float(eval_loss_sum),
               P.FE_TRAIN_LOSS_SUM: float(train_loss_sum),
               P.FE_TRAIN_EXAMPLES: int(len(y_train)),
               P.FE_LOCAL_AUC: local_auc}
    # the global model's AUC on the same rows is `eval-auc` (clients.local_training.local_metrics)
    return record, metrics


def bins_of(config: Mapping[str, Any]) -> ScoreBins | None:
    """The server's score bins from an evaluate config, None when federated evaluation is off."""
    if P.SCORE_BINS not in config:
        return None
    return ScoreBins(int(config[P.SCORE_BINS]), float(config.get(P.SCORE_LOGIT_RANGE, 8.0)))
