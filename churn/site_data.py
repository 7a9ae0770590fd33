"""A node's own rows, loaded once per process and cached, and its encoded matrices per spec."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from churn import protocol as P
from churn.datasets import load_dataset
from churn.experiment import Experiment, prepare_experiment
from churn.feature_spec import FeatureSpec
from churn.loading import ChurnData
from churn.schema import schema_from_config
from churn.split import site_split


@dataclass(frozen=True)
class ClientSettings:
    """What a ClientApp needs to find its data; hashable so loaders can be cached on it."""

    data_config: str  # JSON of the conf/data node
    partition_config: str  # JSON of the conf/partition node
    num_clients: int
    seed: int
    test_size: float
    local_eval_fraction: float = 0.2
    min_rows: int = 1
    single_class: str = "train"

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any]) -> ClientSettings:
        """Read the kebab-case run-config keys of `churn.protocol`."""
        missing = [k for k in (P.DATA_CONFIG, P.PARTITION_CONFIG, P.NUM_CLIENTS)
                   if k not in run_config]
        if missing:
            raise KeyError(f"ClientApp run config lacks {missing}")
        policy = str(run_config.get(P.SINGLE_CLASS, "train"))
        if policy not in ("train", "decline"):
            raise ValueError(f"{P.SINGLE_CLASS}={policy!r}; use 'train' or 'decline'")
        return cls(
            data_config=str(run_config[P.DATA_CONFIG]),
            partition_config=str(run_config[P.PARTITION_CONFIG]),
            num_clients=int(run_config[P.NUM_CLIENTS]),
            seed=int(run_config.get(P.SEED, 42)),
            test_size=float(run_config.get(P.TEST_SIZE, 0.2)),
            local_eval_fraction=float(run_config.get(P.LOCAL_EVAL_FRACTION, 0.2)),
            min_rows=int(run_config.get(P.MIN_ROWS, 1)),
            single_class=policy,
        )

    def to_run_config(self) -> dict[str, str | int | float]:
        """The same settings as flat kebab-case run-config entries."""
        return {
            P.DATA_CONFIG: self.data_config,
            P.PARTITION_CONFIG: self.partition_config,
            P.NUM_CLIENTS: self.num_clients,
            P.SEED: self.seed,
            P.TEST_SIZE: self.test_size,
            P.LOCAL_EVAL_FRACTION: self.local_eval_fraction,
            P.MIN_ROWS: self.min_rows,
            P.SINGLE_CLASS: self.single_class,
        }

    def experiment_config(self) -> dict[str, Any]:
        """The mapping `churn.experiment.prepare_experiment` reads."""
        return {"data": json.loads(self.data_config),
                "partition": json.loads(self.partition_config),
                "num_clients": self.num_clients, "seed": self.seed, "test_size": self.test_size,
                "client": {"local_eval_fraction": self.local_eval_fraction}}


@dataclass(frozen=True)
class NodeData:
    """One node's training rows and the rows it evaluates the global model on."""

    partition_id: int
    train: ChurnData
    evaluation: ChurnData


@functools.lru_cache(maxsize=4)
def load_experiment(settings: ClientSettings) -> Experiment:
    """Data, shared split and partitions, computed once per process for these settings."""
    return prepare_experiment(settings.experiment_config())


@functools.lru_cache(maxsize=64)
def load_node_data(settings: ClientSettings, partition_id: int, data_path: str = "",
                   schema_json: str = "") -> NodeData:
    """The node's rows: its partition in simulation, or its own CSV (`data-path`) when deployed.

    With `local_eval_fraction` = 0 the node evaluates on its training rows (how well the
    global model fits each site); otherwise a seeded, stratified share is held out locally.
    `schema_json` (the schema the server agreed, `churn.protocol.SCHEMA`) replaces the one
    the node's own file gave.
    """
    if schema_json:
        own = load_node_data(settings, partition_id, data_path)
        schema = schema_from_config(json.loads(schema_json))
        train = own.train.with_schema(schema)
        evaluation = train if own.evaluation is own.train else own.evaluation.with_schema(schema)
        return NodeData(partition_id, train, evaluation)
    if data_path:
        rows = load_dataset({**json.loads(settings.data_config), "path": data_path})
        train_rows, eval_rows = site_split(rows.target, settings.local_eval_fraction,
                                           settings.seed, partition_id)
    else:
        experiment = load_experiment(settings)
        if not 0 <= partition_id < len(experiment.parts):
            raise ValueError(f"partition-id {partition_id} outside 0..{len(experiment.parts) - 1}")
        rows = experiment.client_data(partition_id)
        train_rows, eval_rows = experiment.site_split(partition_id)
    if len(eval_rows) == 0:
        return NodeData(partition_id, rows, rows)
    return NodeData(partition_id, rows.subset(train_rows), rows.subset(eval_rows))


# tiny (a site's numeric training columns) where NodeData holds frames: 1 << 14 entries so the
# histograms query of a 1,000-site run does not reload every node evicted from load_node_data's
# 64 after the summary query (1.3 ms a node: 2,000 loads were 2.6 s of a profiled 40 s run)
@functools.lru_cache(maxsize=1 << 14)
def node_numeric_values(settings: ClientSettings, partition_id: int, data_path: str = "",
                        schema_json: str = "") -> dict[str, np.ndarray]:
    """The node's training rows' numeric columns as float arrays (for `client_histograms`)."""
    train = load_node_data(settings, partition_id, data_path, schema_json).train
    return {c: train.features[c].to_numpy(dtype=float) for c in train.schema.numeric}


def node_identity(node_config: Mapping[str, Any]) -> tuple[int, str]:
    """(partition-id, data-path) from a node config; -1 / "" where not given."""
    return (int(node_config.get(P.NODE_PARTITION_ID, -1)),
            str(node_config.get(P.NODE_DATA_PATH, "")))


@functools.lru_cache(maxsize=8)
def spec_fingerprint(spec_json: str) -> str:
    """The fingerprint of a spec sent as JSON (cached: the same text arrives every round)."""
    return FeatureSpec.from_json(spec_json).fingerprint


@dataclass(frozen=True)
class EncodedPool:
    """Simulated partitions' rows encoded once under a spec, partition after partition.

    Partition k is rows `ranges[k]` = (start, end of its training rows, stop): its training
    rows, then its own evaluation rows (`Experiment.site_split`), each in partition order, so
    both of a node's matrices are views (no copy) equal bit for bit to encoding its own rows:
    the encoding is elementwise. One encoding instead of one per node and message: at 300
    nodes per-node encoding ran `FeatureSpec.transform` 2,104 times, 43 % of a 98 s run; and
    no copy per message: slicing the held-out rows out of one block copied a site's matrix
    on every train and evaluate call (10 sites x 700k rows: the engine 1.53x the loop).
    """

    features: np.ndarray
    target: np.ndarray
    ranges: dict[int, tuple[int, int, int]]

    def rows_of(self, partition_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(X_train, y_train, X_eval, y_eval) of partition `partition_id`, views into the pool;
        without held-out rows the node evaluates on its training rows."""
        start, mid, stop = self.ranges[partition_id]
        x_train, y_train = self.features[start:mid], self.target[start:mid]
        if mid == stop:
            return x_train, y_train, x_train, y_train
        return x_train, y_train, self.features[mid:stop], self.target[mid:stop]


_served: tuple[int, ...] | None = None  # partitions this process answers for; None = all


def serve_partitions(partitions: Iterable[int] | None) -> None:
    """Declare the simulated partitions this process answers for (an engine worker owns a
    share of the nodes): its encoded pool then holds only their rows, not every worker all."""
    global _served
    _served = None if partitions is None else tuple(sorted(set(partitions)))


def encoded_pool(settings: ClientSettings, spec_json: str, schema_json: str = "") -> EncodedPool:
    """The served partitions' rows (under the agreed `schema_json`, if given) encoded under
    `spec_json`, once per process and spec."""
    return _encoded_pool(settings, spec_json, schema_json, _served)


@functools.lru_cache(maxsize=2)
def _encoded_pool(settings: ClientSettings, spec_json: str, schema_json: str,
                  served: tuple[int, ...] | None) -> EncodedPool:
    experiment = load_experiment(settings)
    train = (experiment.train.with_schema(schema_from_config(json.loads(schema_json)))
             if schema_json else experiment.train)
    partitions = range(len(experiment.parts)) if served is None else served
    blocks, ranges, start = [], {}, 0
    for k in partitions:
        train_rows, eval_rows = experiment.site_split(k)
        part = experiment.parts[k]
        blocks += [part[train_rows], part[eval_rows]]
        ranges[k] = (start, start + len(train_rows), start + len(part))
        start += len(part)
    order = (np.concatenate(blocks) if blocks else np.zeros(0)).astype(int)
    spec = FeatureSpec.from_json(spec_json)
    features = spec.transform(train.features.iloc[order], source="simulated partitions")
    return EncodedPool(features, train.target[order], ranges)


def encoded_node_data(
    settings: ClientSettings, partition_id: int, data_path: str, spec_json: str,
    schema_json: str = "",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_eval, y_eval) under the global spec, encoded once per spec."""
    if data_path:
        return _encoded_own_rows(settings, partition_id, data_path, spec_json, schema_json)
    experiment = load_experiment(settings)
    if not 0 <= partition_id < len(experiment.parts):
        raise ValueError(f"partition-id {partition_id} outside 0..{len(experiment.parts) - 1}")
    pool = encoded_pool(settings, spec_json, schema_json)
    if partition_id not in pool.ranges:  # not declared served here: encode it on its own
        serve_partitions(None)
        pool = encoded_pool(settings, spec_json, schema_json)
    return pool.rows_of(partition_id)


@functools.lru_cache(maxsize=64)  # a deployed process serves one or a few sites
def _encoded_own_rows(
    settings: ClientSettings, partition_id: int, data_path: str, spec_json: str,
    schema_json: str = "",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    node = load_node_data(settings, partition_id, data_path, schema_json)
    spec = FeatureSpec.from_json(spec_json)
    source = f"node partition {partition_id}"
    x_train = spec.transform(node.train.features, source=source)
    x_eval = (x_train if node.evaluation is node.train
              else spec.transform(node.evaluation.features, source=source))
    return x_train, node.train.target, x_eval, node.evaluation.target
