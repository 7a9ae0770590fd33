"""Merge site evaluation replies into pooled metrics, the certificate and the per-site table.

One function used by the server (`strategy.federated_eval`) and the auditor
(`kafka_bridge.verify_federated`), so both compute the same numbers from the same sums.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from churn.certificate import certificate, exact_sum
from churn.pooled_metrics import ScoreBins, merge_histograms, pooled_metrics
from churn.rounds import Rejection, SiteEval

# Sites below these sizes get flagged in the "did joining pay off" table: with fewer rows or
# positives their AUCs move by several hundredths between seeds (not hidden, only marked).
SMALL_SITE_ROWS = 50
SMALL_SITE_POSITIVES = 5


def site_flags(site: SiteEval) -> list[str]:
    """Why a site's local vs federated comparison is weak: small, one-class, no local model."""
    neg, pos = (float(v) for v in np.asarray(site.histogram)[1:].sum(axis=1))
    flags = []
    if site.rows < SMALL_SITE_ROWS or min(pos, neg) < SMALL_SITE_POSITIVES:
        flags.append("small")
    if pos == 0 or neg == 0:
        flags.append("one-class")
    if not math.isfinite(site.local_auc):
        flags.append("no-local-model")
    return flags


def site_rows(sites: list[SiteEval]) -> list[dict[str, Any]]:
    """Per site (partition order): rows, local-only and federated AUC, their difference, flags."""
    out = []
    for s in sorted(sites, key=lambda s: (s.partition_id if s.partition_id is not None else 1 << 62,
                                          s.node_id)):
        gain = (s.federated_auc - s.local_auc
                if math.isfinite(s.local_auc) and math.isfinite(s.federated_auc) else float("nan"))
        out.append({"partition_id": s.partition_id, "node_id": s.node_id, "rows": s.rows,
                    "positives": int(np.asarray(s.histogram)[2].sum()),
                    "train_rows": s.train_rows, "local_auc": s.local_auc,
                    "federated_auc": s.federated_auc, "auc_gain": gain, "flags": site_flags(s)})
    return out


def not_evaluated_rows(rejections: list[Rejection]) -> list[dict[str, Any]]:
    """Sites whose evaluation reply was not used (e.g. no rows): listed and flagged, not hidden."""
    return [{"partition_id": r.partition_id, "node_id": r.node_id, "rows": 0, "positives": 0,
             "train_rows": None, "local_auc": float("nan"), "federated_auc": float("nan"),
             "auc_gain": float("nan"), "flags": ["not-evaluated"], "reason": r.reason}
            for r in rejections]


def with_rows_of(summary: dict[str, Any], rejections: list[Rejection]) -> dict[str, Any]:
    """`summary` whose `sites` also lists the sites not evaluated, all in partition order."""
    rows = summary["sites"] + not_evaluated_rows(rejections)
    rows.sort(key=lambda s: (s["partition_id"] if s["partition_id"] is not None else 1 << 62,
                             s["node_id"]))
    return {**summary, "sites": rows}


def federated_summary(sites: list[SiteEval], global_arrays: list[np.ndarray], C: float,
                      bins: ScoreBins) -> dict[str, Any]:
    """Pooled metrics of the union of the sites' evaluation rows and the certificate at the model."""
    if not sites:
        return {}
    histogram = merge_histograms([s.histogram for s in sites], bins.size)
    metrics = pooled_metrics(histogram, math.fsum(s.eval_log_loss_sum for s in sites), bins)
    sums = exact_sum([s.certificate_sums for s in sites])
    coef, intercept = global_arrays
    theta = np.concatenate([np.ravel(coef), np.ravel(intercept)])
    cert = certificate(theta, C, math.fsum(s.train_loss_sum for s in sites), sums)
    return {**metrics, **cert, "C": float(C), "train_rows": int(sum(s.train_rows for s in sites)),
            "num_sites": len(sites), "bins": {"num_bins": bins.num_bins,
                                              "logit_range": bins.logit_range},
            "sites": site_rows(sites)}
