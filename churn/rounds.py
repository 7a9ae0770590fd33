"""Per-round observer interface the strategy calls; the Kafka bridge and others plug in here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


def unique_run_id(name: str, suffix: str | None = None) -> str:
    """`<name>-<6 hex>`: still names the run directory, but a rerun into the same directory
    gets its own id (two runs under one id broke the audit of both). Make it ONCE per run."""
    return f"{name}-{suffix or secrets.token_hex(3)}"


@dataclass
class RunInfo:
    """What is known when a federated run starts."""

    run_id: str
    config: dict[str, Any]
    dataset_fingerprint: str
    code_version: str
    feature_names: list[str]
    spec_fingerprint: str
    num_clients: int
    # Reference numbers on the shared held-out test set, computed before training:
    # {"centralized_auc": float, "local_auc": {"<partition-id>": float | None}, ...}
    reference: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClientUpdate:
    """One accepted training reply."""

    node_id: int
    partition_id: int | None
    num_examples: int
    metrics: dict[str, float]
    arrays: list[np.ndarray]  # [coef (1, d), intercept (1,)]


@dataclass
class Rejection:
    """One training reply dropped before aggregation, or a node that declined."""

    node_id: int
    reason: str
    partition_id: int | None = None


@dataclass
class SiteEval:
    """One site's federated-evaluation reply (aggregates only; see `churn.federated_eval`)."""

    node_id: int
    partition_id: int | None
    rows: int  # evaluation rows
    train_rows: int
    # (3, k) logit counts on the evaluation rows, occupied bins only: bin index (ascending),
    # negatives, positives (`churn.pooled_metrics.ScoreBins.histogram`)
    histogram: np.ndarray
    certificate_sums: np.ndarray  # (3, d + 2) `churn.certificate.site_sums` on training rows
    eval_log_loss_sum: float
    train_loss_sum: float
    local_auc: float  # the site's own local-only model on its evaluation rows (NaN: none)
    federated_auc: float  # the global model on the same rows


@dataclass
class RoundRecord:
    """Everything that happened in one server round."""

    server_round: int
    sampled_nodes: list[int]
    updates: list[ClientUpdate]
    rejected: list[Rejection]
    global_arrays: list[np.ndarray]  # the new global [coef, intercept]
    train_metrics: dict[str, float]  # sample-weighted aggregate of client train metrics
    evaluate_metrics: dict[str, float]  # aggregate of client-side evaluation replies
    server_metrics: dict[str, float]  # global model on the shared test set: auc, pr_auc, ...
    durations: dict[str, float]  # seconds: "train", "evaluate", "round"
    # Optional (added by the strategy owner): evaluation replies not used, with reasons.
    evaluate_rejected: list[Rejection] = field(default_factory=list)
    # Optional (strategy.privacy): DP figures after this round's release: epsilon, delta,
    # noise_multiplier, clipping_norm, sampling_rate, ... (None without privacy=dp).
    privacy: dict[str, Any] | None = None
    # Optional (strategy.secure): what secure aggregation revealed: participants (node ids
    # whose masked vectors were summed) and num_examples (the unmasked total); no update values.
    secure: dict[str, Any] | None = None
    # Optional: sampled nodes that sent no train reply (dropouts, timeouts); not in `rejected`.
    missing: list[Rejection] = field(default_factory=list)
    # Optional: how the global model was formed: "fedavg" (sample-weighted average, also
    # FedProx), "median", "trimmed_mean", "krum", "newton" (updates are gradients/Hessians).
    aggregation: str = "fedavg"
    # Optional (federated evaluation): pooled metrics, certificate and per-site AUCs of the
    # global model (`churn.federated_eval.federated_summary`), and the site replies behind it.
    federated_eval: dict[str, Any] | None = None
    site_evals: list[SiteEval] = field(default_factory=list)


class RoundObserver(Protocol):
    """Receives the life of a run; implementations must never raise into training."""

    def run_started(self, info: RunInfo) -> None: ...

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None: ...

    def round_finished(self, record: RoundRecord) -> None: ...

    def run_finished(self, summary: dict[str, Any]) -> None: ...

    def run_failed(self, error: str) -> None: ...
