"""A site's federated-evaluation payload: counts of its own rows, certificate sums, local-only AUC."""

from __future__ import annotations

import numpy as np

from churn import protocol as P
from churn.certificate import gradient_of_sums
from churn.metrics import rank_auc
from churn.model import fit_classifier
from churn.pooled_metrics import ScoreBins, sparse_problem
from churn.site_data import ClientSettings, encoded_node_data, load_experiment
from clients.federated_eval import bins_of, federated_eval_payload, local_only_auc
from fedchurn.config import compose_config
from fedchurn.simulate import client_settings


def test_payload_counts_the_sites_rows_and_fits_the_local_model_once() -> None:
    cfg = compose_config(["data.num_rows=600", "num_clients=3"])
    settings = ClientSettings(**{**vars(client_settings(cfg)), "local_eval_fraction": 0.25})
    spec_json = load_experiment(settings).feature_spec("median").to_json()
    x_tr, y_tr, x_ev, y_ev = encoded_node_data(settings, 1, "", spec_json)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(1, x_tr.shape[1])) * 0.1, np.array([-0.5])]
    bins = ScoreBins(100, 4.0)
    record, metrics = federated_eval_payload(arrays, settings, 1, "", spec_json, bins, 1.0)
    histogram = record[P.FE_HISTOGRAM].numpy()  # sparse: (3, occupied bins)
    assert histogram.shape[0] == 3 and 0 < histogram.shape[1] <= len(y_ev)
    assert sparse_problem(histogram, bins.size) is None
    assert histogram[1:].sum() == len(y_ev) and histogram[2].sum() == y_ev.sum()
    logits = x_ev @ arrays[0].ravel() + arrays[1][0]
    np.testing.assert_array_equal(bins.dense(histogram)[1], np.bincount(
        bins.index(logits[y_ev == 1]), minlength=bins.size))
    sums = record[P.FE_CERTIFICATE].numpy()
    p = 1 / (1 + np.exp(-(x_tr @ arrays[0].ravel() + arrays[1][0])))
    np.testing.assert_allclose(gradient_of_sums(sums),
                               np.r_[x_tr.T @ (p - y_tr), np.sum(p - y_tr)], atol=1e-9)
    assert metrics[P.FE_TRAIN_EXAMPLES] == len(y_tr)
    expected = rank_auc(y_ev, fit_classifier(x_tr, y_tr, C=1.0).predict_proba(x_ev)[:, 1])
    assert metrics[P.FE_LOCAL_AUC] == expected
    hits = local_only_auc.cache_info().hits
    federated_eval_payload(arrays, settings, 1, "", spec_json, bins, 1.0)
    assert local_only_auc.cache_info().hits == hits + 1  # fitted once per run, not per round
    assert bins_of({}) is None
    assert bins_of({P.SCORE_BINS: 100, P.SCORE_LOGIT_RANGE: 4.0}) == bins


def test_a_simulated_run_encodes_its_sites_rows_once() -> None:
    # the evaluate reply's payload used the node's own schema while train / evaluate used the
    # agreed one: two pools, each a full encoding (2 x 6.5 s and twice the memory at 700k rows)
    from churn.site_data import _encoded_pool
    from fedchurn.simulate import run_job

    _encoded_pool.cache_clear()
    cfg = compose_config(["engine=inprocess", "engine.workers=1", "data.num_rows=600",
                          "num_clients=3", "num_rounds=2"])
    results = run_job(cfg, run_id="one-pool", output_dir=None, observers=[])
    assert results["final"]["federated_eval"]["num_sites"] == 3
    assert _encoded_pool.cache_info().misses == 1
