"""Shared set-up of every run: config -> data -> shared test split -> client partitions -> spec."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from churn.datasets import infer_schema_over, load_dataset, needs_inference
from churn.feature_spec import FeatureSpec
from churn.loading import ChurnData
from churn.partitioning import describe_partitions, partition_rows
from churn.preprocessing import federated_feature_spec
from churn.schema_inference import SchemaDecision
from churn.split import site_split, stratified_split

log = logging.getLogger(__name__)


@dataclass
class Experiment:
    """Everything a run needs before any model is trained."""

    data: ChurnData
    train: ChurnData
    test: ChurnData
    parts: list[np.ndarray]
    partition_report: list[dict[str, Any]]
    schema_decision: SchemaDecision | None = None  # data=csv: what the sites' evidence gave
    # per site, (training, evaluation) positions within its partition (`client.local_eval_fraction`
    # held out by `churn.split.site_split`); None: every site trains on all its rows
    site_splits: list[tuple[np.ndarray, np.ndarray]] | None = None

    def client_data(self, client: int) -> ChurnData:
        """All rows client `client` holds (its training and its own evaluation rows)."""
        return self.train.subset(self.parts[client])

    def site_split(self, client: int) -> tuple[np.ndarray, np.ndarray]:
        """(training, evaluation) positions within client `client`'s partition."""
        if self.site_splits is None:
            rows = np.arange(len(self.parts[client]))
            return rows, rows[:0]
        return self.site_splits[client]

    def training_rows(self, client: int) -> np.ndarray:
        """Indices into `train` of the rows client `client` trains on (not its held-out ones)."""
        return self.parts[client][self.site_split(client)[0]]

    def feature_spec(self, imputation: str) -> FeatureSpec:
        """The spec the clients' aggregates give (same protocol as over Flower, in process):
        the sites summarise their training rows."""
        frames = [self.train.subset(self.training_rows(c)).features
                  for c in range(len(self.parts)) if len(self.training_rows(c))]
        return federated_feature_spec(frames, self.data.schema, imputation)


def prepare_experiment(cfg: Mapping[str, Any]) -> Experiment:
    """Load data, hold out the shared test set, deal training rows to `cfg.num_clients` and
    split each site's rows into training and its own evaluation rows
    (`cfg.client.local_eval_fraction`, 0 when absent).

    With `data.test_path` the user's own file is the shared test set and every row of
    `data.path` is training data. For data=csv the schema is then decided over the
    clients' partitions exactly as the federation's evidence query decides it.
    """
    data_cfg = cfg["data"]
    data = load_dataset(data_cfg)
    test_path = data_cfg.get("test_path")
    if test_path:
        train, test = data, load_dataset({**data_cfg, "path": test_path})
    else:
        train, test = stratified_split(data, float(cfg["test_size"]), int(cfg["seed"]))
    parts = partition_rows(train, cfg["partition"], int(cfg["num_clients"]), int(cfg["seed"]))
    fraction = float((cfg.get("client") or {}).get("local_eval_fraction", 0.0))
    splits = [site_split(train.target[p], fraction, int(cfg["seed"]), k)
              for k, p in enumerate(parts)]
    decision = None
    if needs_inference(data_cfg) and train.raw is not None:  # the sites' evidence: training rows
        frames = [train.raw.iloc[p[s]] for p, (s, _) in zip(parts, splits, strict=True) if len(s)]
        decision = infer_schema_over(frames, data_cfg, data.source)
        data, train = data.with_schema(decision.schema), train.with_schema(decision.schema)
    if test.schema != train.schema:
        test = test.with_schema(train.schema)
    report = describe_partitions(parts, train.target)
    flagged = [r["client"] for r in report if r["empty"] or r["single_class"]]
    if flagged:
        log.warning("clients %s are empty or hold one class only; see the partition report", flagged)
    return Experiment(data, train, test, parts, report, decision, splits)
