"""Server side of federated evaluation: what the evaluate message asks for, reading the replies.

Settings come from the `strategy` config (`federated_eval`, `score_bins`, `score_logit_range`,
`stop_at_gradient_norm`); the merge itself is `churn.federated_eval.federated_summary`.
A reply without a usable `federated-eval` record (an older client, wrong shapes) still counts
for the averaged client metrics; it is left out of the pooled numbers with a logged reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message

from churn import protocol as P
from churn.ndarrays import ndarray
from churn.pooled_metrics import ScoreBins, sparse_problem
from churn.rounds import SiteEval


@dataclass(frozen=True)
class FederatedEvalSettings:
    """Federated evaluation of one run: bins, the objective's C, the early-stop threshold."""

    bins: ScoreBins
    C: float
    stop_at_gradient_norm: float | None = None  # None: off

    @classmethod
    def from_options(cls, options: Mapping[str, Any], C: float) -> FederatedEvalSettings | None:
        """From the `strategy` config node; None when `federated_eval` is false."""
        if not bool(options.get("federated_eval", True)):
            return None
        stop = options.get("stop_at_gradient_norm")
        if stop is not None and (not math.isfinite(float(stop)) or float(stop) <= 0):
            raise ValueError(f"strategy.stop_at_gradient_norm={stop!r}: use a number > 0 or null")
        return cls(ScoreBins(int(options.get("score_bins", 8000)),
                             float(options.get("score_logit_range", 8.0))),
                   float(C), float(stop) if stop is not None else None)

    def add_to(self, config: ConfigRecord) -> None:
        """Ask the sites for the payload (bins, and C for their local-only model)."""
        config[P.SCORE_BINS] = self.bins.num_bins
        config[P.SCORE_LOGIT_RANGE] = self.bins.logit_range
        config[P.C] = self.C

    def stop_reason(self, summary: Mapping[str, Any], server_round: int) -> str | None:
        """Why the run stops after this round, or None to go on."""
        norm = summary.get("gradient_norm")
        if self.stop_at_gradient_norm is None or norm is None or not math.isfinite(norm):
            return None
        if norm > self.stop_at_gradient_norm:
            return None
        return (f"stopped after round {server_round}: gradient norm {norm:.3g} <= "
                f"strategy.stop_at_gradient_norm {self.stop_at_gradient_norm:g} "
                f"(objective gap bound {summary.get('objective_gap_bound', float('nan')):.3g})")


def site_eval_of(msg: Message, num_examples: int, metrics: Mapping[str, float],
                 partition_id: int | None, bins: ScoreBins, num_features: int
                 ) -> SiteEval | str:
    """A site's evaluation payload, or why it cannot be pooled."""
    record = msg.content.get(P.FEDERATED_EVAL)
    if not isinstance(record, ArrayRecord):
        return "no federated-eval record in the reply"
    try:
        histogram = np.asarray(ndarray(record[P.FE_HISTOGRAM]), dtype=np.float64)
        sums = np.asarray(ndarray(record[P.FE_CERTIFICATE]), dtype=np.float64)
    except (KeyError, TypeError, ValueError) as ex:
        return f"federated-eval arrays unreadable: {ex}"
    if histogram.ndim != 2 or histogram.shape[0] != 3 or sums.shape != (3, num_features + 2):
        return (f"federated-eval shapes {histogram.shape}, {sums.shape} differ from "
                f"(3, k), {(3, num_features + 2)}")
    if not (np.isfinite(histogram).all() and np.isfinite(sums).all()):
        return "non-finite values in the federated-eval arrays"
    problem = sparse_problem(histogram, bins.size)
    if problem:
        return problem
    if histogram[1:].sum() != num_examples:
        return f"histogram counts {histogram[1:].sum():g} != num-examples {num_examples}"
    missing = [k for k in (P.FE_EVAL_LOG_LOSS_SUM, P.FE_TRAIN_LOSS_SUM, P.FE_TRAIN_EXAMPLES)
               if k not in metrics]
    if missing:
        return f"federated-eval metrics {missing} missing"
    return SiteEval(
        node_id=int(msg.metadata.src_node_id), partition_id=partition_id, rows=num_examples,
        train_rows=int(metrics[P.FE_TRAIN_EXAMPLES]), histogram=histogram,
        certificate_sums=sums, eval_log_loss_sum=float(metrics[P.FE_EVAL_LOG_LOSS_SUM]),
        train_loss_sum=float(metrics[P.FE_TRAIN_LOSS_SUM]),
        local_auc=float(metrics.get(P.FE_LOCAL_AUC, float("nan"))),
        federated_auc=float(metrics.get("eval-auc", float("nan"))))


def without_fe_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Client metrics minus the `fe-*` sums (they are pooled, not averaged)."""
    return {k: v for k, v in metrics.items() if not k.startswith(P.FE_PREFIX)}
