"""Robust aggregation of weight updates: coordinate-wise median, trimmed mean, (Multi-)Krum.

Each is `ChurnFedAvg` (same sampling, reply validation, missing/rejected bookkeeping and
observers) with another `aggregate_updates`, built on Flower's own rules where they are
exposed as functions: `flwr.serverapp.strategy.fedtrimmedavg.trim_mean` and
`flwr.serverapp.strategy.multikrum.select_multikrum`; the median is `np.median` over sites,
as Flower's FedMedian computes it inline. Updates arrive sorted by node id, so each rule is
deterministic. None of them weights by `num-examples` except Krum's average of the selected
updates (sample-weighted, exact, as FedAvg): a median or trimmed mean treats a 20-row site
like a 2,000-row one, which costs accuracy under quantity skew (see the bench table).
Train metrics are the sample-weighted means over the updates the rule used.
"""

from __future__ import annotations

import logging

import numpy as np
from flwr.app import ArrayRecord, RecordDict
from flwr.serverapp.strategy.fedtrimmedavg import trim_mean
from flwr.serverapp.strategy.multikrum import select_multikrum

from churn.rounds import ClientUpdate
from strategy.aggregation import weighted_average, weighted_metrics
from strategy.fedavg import ChurnFedAvg

log = logging.getLogger(__name__)


def _stacked(updates: list[ClientUpdate], position: int) -> np.ndarray:
    return np.stack([np.asarray(u.arrays[position], dtype=np.float64) for u in updates])


def _all_metrics(updates: list[ClientUpdate]) -> dict[str, float]:
    return weighted_metrics([u.num_examples for u in updates], [u.metrics for u in updates])


class ChurnMedian(ChurnFedAvg):
    """Coordinate-wise median of the site models (Flower's FedMedian rule)."""

    aggregation = "median"

    def aggregate_updates(self, server_round: int, updates: list[ClientUpdate]
                          ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Element-wise median over the accepted updates."""
        arrays = [np.median(_stacked(updates, k), axis=0) for k in range(len(updates[0].arrays))]
        return arrays, _all_metrics(updates)


class ChurnTrimmedMean(ChurnFedAvg):
    """Coordinate-wise mean after dropping the `beta` share of lowest and highest values."""

    aggregation = "trimmed_mean"

    def __init__(self, *, beta: float = 0.2, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if not 0.0 <= beta < 0.5:
            raise ValueError(f"strategy.beta must be in [0, 0.5), got {beta}")
        self.beta = float(beta)

    def aggregate_updates(self, server_round: int, updates: list[ClientUpdate]
                          ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Flower's `trim_mean` per array position."""
        arrays = [np.asarray(trim_mean(_stacked(updates, k), self.beta), dtype=np.float64)
                  for k in range(len(updates[0].arrays))]
        return arrays, _all_metrics(updates)


class ChurnKrum(ChurnFedAvg):
    """Multi-Krum: keep the m updates closest to their n - f - 2 nearest neighbours, then
    average those sample-weighted. `num_nodes_to_select` = 0 (default) keeps m = n - f, all
    but the assumed hostile ones; 1 is classical Krum, which keeps one site's model per round
    (on Telco, 10 honest sites: 0.015 AUC below FedAvg, against 0.001 for m = n - f)."""

    aggregation = "krum"

    def __init__(self, *, num_malicious_nodes: int = 1, num_nodes_to_select: int = 0,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if num_malicious_nodes < 0 or num_nodes_to_select < 0:
            raise ValueError("need num_malicious_nodes >= 0 and num_nodes_to_select >= 0")
        self.num_malicious_nodes = int(num_malicious_nodes)
        self.num_nodes_to_select = int(num_nodes_to_select)
        self.selected: dict[int, list[int]] = {}  # round -> node ids kept

    def aggregate_updates(self, server_round: int, updates: list[ClientUpdate]
                          ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Select with Flower's `select_multikrum`, then the exact weighted average."""
        contents = [RecordDict({"arrays": ArrayRecord(u.arrays)}) for u in updates]
        keep = self.num_nodes_to_select or len(updates) - self.num_malicious_nodes
        chosen = select_multikrum(contents, num_malicious_nodes=self.num_malicious_nodes,
                                  num_nodes_to_select=max(1, min(keep, len(updates))))
        kept = [u for u, c in zip(updates, contents, strict=True)
                if any(c is picked for picked in chosen)]
        self.selected[server_round] = [u.node_id for u in kept]
        log.info("round %d: krum kept partitions %s", server_round,
                 [u.partition_id for u in kept])
        metrics = weighted_metrics([u.num_examples for u in kept], [u.metrics for u in kept])
        metrics["krum-selected"] = float(len(kept))
        return weighted_average([u.num_examples for u in kept], [u.arrays for u in kept]), metrics
