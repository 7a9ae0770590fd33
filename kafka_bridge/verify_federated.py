"""Audit of federated evaluation: recompute pooled metrics and the gradient sum from mirrored sites.

A `round_aggregated` event may carry `federated_eval` (the pooled summary) with
`site_payloads`. With client updates mirrored, each payload holds the site's sparse histogram
(occupied bins) and certificate sums: the auditor rebuilds the (3, k) array the server got,
checks the digest, merges them with the same `churn.federated_eval.federated_summary` the
server ran, and compares the pooled AUC, log-loss, KS, lift, gradient (the sum of the sites'
gradients plus the regulariser's) and gap bound. Without mirrored values only the digests'
presence and the site count are checked, and the verdict says the numbers could not be
recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from churn.federated_eval import federated_summary
from churn.pooled_metrics import ScoreBins, sparse_problem
from churn.rounds import SiteEval
from kafka_bridge.events import Event, array_digest, decode_arrays, dumps, loads

COMPARED = ("pooled_auc", "auc_bin_error", "pooled_log_loss", "pooled_accuracy", "ks",
            "lift_top10", "gradient_norm", "objective_gap_bound")
TOLERANCE = 1e-9  # relative: fsum order and float64 rounding of the sums


@dataclass
class FederatedAudit:
    """Per-run outcome: rounds recomputed, rounds not mirrored, problems per round."""

    recomputed: list[int] = field(default_factory=list)
    not_mirrored: list[int] = field(default_factory=list)
    problems: dict[int, list[str]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """What the audit could and could not check."""
        out = []
        if self.recomputed:
            out.append(f"federated evaluation: pooled metrics and the gradient sum recomputed "
                       f"from mirrored per-site histograms and sums for rounds {self.recomputed}")
        if self.not_mirrored:
            out.append(f"federated evaluation of rounds {self.not_mirrored}: per-site histograms "
                       "and gradients mirrored as digests only; pooled metrics NOT recomputed")
        return out


def _site(payload: dict[str, Any], size: int) -> SiteEval:
    """The site's reply as the server held it: the (3, k) sparse histogram from `{bins, neg, pos}`."""
    mirrored = payload["histogram"]
    histogram = np.array([mirrored["bins"], mirrored["neg"], mirrored["pos"]], dtype=np.float64)
    problem = sparse_problem(histogram, size)
    if problem:
        raise ValueError(problem)
    return SiteEval(
        node_id=int(payload["node_id"]), partition_id=payload.get("partition_id"),
        rows=int(payload["rows"]), train_rows=int(payload["train_rows"]), histogram=histogram,
        certificate_sums=np.asarray(payload["certificate_sums"], dtype=np.float64),
        eval_log_loss_sum=float(payload["eval_log_loss_sum"]),
        train_loss_sum=float(payload["train_loss_sum"]),
        local_auc=float(payload["local_auc"]), federated_auc=float(payload["federated_auc"]))


def _digest_of(site: SiteEval, payload: dict[str, Any], bins: ScoreBins) -> str:
    """The digest as the server computed it: over the sparse (3, k) histogram, or, for runs
    mirrored before it travelled sparse (their `shapes` start with [2, bins + 2]), the dense one."""
    dense = (payload.get("shapes") or [[]])[0] == [2, bins.size]
    histogram = bins.dense(site.histogram) if dense else site.histogram
    return array_digest([histogram, site.certificate_sums])


def check_federated_round(audit: FederatedAudit, event: Event) -> None:
    """Check one `round_aggregated` event's `federated_eval`, if it has one."""
    fe = event.payload.get("federated_eval")
    if not isinstance(fe, dict):
        return
    fe = loads(dumps(fe))  # events built here hold NaN tagged as {"$float": "NaN"}; untag
    r = int(event.payload["round"])
    problems = audit.problems.setdefault(r, [])
    payloads = fe.get("site_payloads") or []
    if len(payloads) != fe.get("num_sites"):
        problems.append(f"federated_eval: {len(payloads)} site payloads, num_sites="
                        f"{fe.get('num_sites')}")
    if not payloads or any("histogram" not in p for p in payloads):
        audit.not_mirrored.append(r)
        return
    bins = ScoreBins(int(fe["bins"]["num_bins"]), float(fe["bins"]["logit_range"]))
    try:
        sites = [_site(p, bins.size) for p in payloads]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        problems.append(f"federated_eval: site payload unreadable ({exc!r})")
        return
    for site, p in zip(sites, payloads, strict=True):
        if _digest_of(site, p, bins) != p["digest"]:
            problems.append(f"federated_eval: node {site.node_id} payload digest mismatch")
    arrays = decode_arrays(event.payload)
    if arrays is None:
        problems.append("federated_eval: global model not mirrored, cannot recompute")
        return
    expected = federated_summary(sites, arrays, float(fe["C"]), bins)
    for key in COMPARED:
        if not _close(expected.get(key), fe.get(key)):
            problems.append(f"federated_eval: {key} {fe.get(key)!r} != recomputed "
                            f"{expected.get(key)!r}")
    if not np.allclose(expected["gradient"], fe.get("gradient", []), rtol=TOLERANCE,
                       atol=TOLERANCE):
        problems.append("federated_eval: gradient != sum of the sites' gradients + regulariser")
    audit.recomputed.append(r)


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
