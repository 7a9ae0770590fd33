"""Seeded partitioners dealing training rows to N clients: IID, label/size skew, by column."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from churn.errors import DataError, did_you_mean
from churn.loading import ChurnData

_MAX_DRAWS = 100


def partition_iid(num_rows: int, num_clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle rows and deal them into near-equal parts."""
    return [np.sort(p) for p in np.array_split(rng.permutation(num_rows), num_clients)]


def partition_dirichlet(
    target: np.ndarray, num_clients: int, alpha: float, rng: np.random.Generator, min_rows: int = 2
) -> list[np.ndarray]:
    """Label skew: each class is split over clients by proportions ~ Dirichlet(alpha).

    Draws again (up to a bound) until every client has `min_rows`; the last draw is kept
    otherwise, and the partition report shows the small clients.
    """
    _check_alpha(alpha)
    parts: list[np.ndarray] = []
    for _ in range(_MAX_DRAWS):
        buckets: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for label in np.unique(target):
            rows = rng.permutation(np.flatnonzero(target == label))
            shares = rng.dirichlet(np.full(num_clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
            for client, chunk in enumerate(np.split(rows, cuts)):
                buckets[client].append(chunk)
        parts = [np.sort(np.concatenate(b)) for b in buckets]
        if min(len(p) for p in parts) >= min_rows:
            break
    return parts


def partition_quantity(
    num_rows: int, num_clients: int, alpha: float, rng: np.random.Generator, min_rows: int = 2
) -> list[np.ndarray]:
    """Size skew: client sizes ~ Dirichlet(alpha) of the rows, each at least `min_rows`."""
    _check_alpha(alpha)
    if num_rows < num_clients * min_rows:
        raise DataError(f"{num_rows} rows cannot give {num_clients} clients {min_rows} rows each")
    spare = num_rows - num_clients * min_rows
    shares = rng.dirichlet(np.full(num_clients, alpha))
    sizes = np.full(num_clients, min_rows) + rng.multinomial(spare, shares)
    cuts = np.cumsum(sizes)[:-1]
    return [np.sort(p) for p in np.split(rng.permutation(num_rows), cuts)]


def partition_by_column(
    values: np.ndarray, num_clients: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Natural sites: one group of rows per value of a column.

    With fewer clients than values, whole values are merged (largest first onto the smallest
    client). With more clients than values, each value's rows are shared by several clients
    in proportion to its size, so every client still holds rows of one value only.
    """
    labels, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    if num_clients <= len(labels):
        groups: list[list[int]] = [[] for _ in range(num_clients)]
        sizes = np.zeros(num_clients, dtype=int)
        for value in order:
            client = int(np.argmin(sizes))
            groups[client].append(int(value))
            sizes[client] += counts[value]
        return [np.sort(np.flatnonzero(np.isin(inverse, g))) for g in groups]
    clients_per_value = np.ones(len(labels), dtype=int)
    for _ in range(num_clients - len(labels)):
        clients_per_value[np.argmax(counts / clients_per_value)] += 1
    parts: list[np.ndarray] = []
    for value in order:
        rows = rng.permutation(np.flatnonzero(inverse == value))
        parts.extend(np.sort(p) for p in np.array_split(rows, clients_per_value[value]))
    return parts


def partition_rows(
    data: ChurnData, partition_cfg: Mapping[str, Any], num_clients: int, seed: int
) -> list[np.ndarray]:
    """Row indices of `data` for each client, as `conf/partition/*.yaml` describes."""
    if num_clients < 1:
        raise DataError(f"num_clients must be at least 1, got {num_clients}")
    if num_clients > len(data):
        raise DataError(f"num_clients={num_clients} exceeds the {len(data)} training rows of "
                        f"{data.source}; use fewer clients or a larger file")
    rng = np.random.default_rng(seed)
    name = partition_cfg.get("name")
    min_rows = int(partition_cfg.get("min_rows", 2))
    if name == "iid":
        return partition_iid(len(data), num_clients, rng)
    if name == "dirichlet":
        return partition_dirichlet(data.target, num_clients, float(partition_cfg["alpha"]), rng,
                                   min_rows)
    if name == "quantity":
        return partition_quantity(len(data), num_clients, float(partition_cfg["alpha"]), rng,
                                  min_rows)
    if name == "column":
        column = str(partition_cfg["column"])
        table = data.raw if data.raw is not None else data.features
        if column not in table.columns or column == data.schema.target:
            raise DataError(f"partition.column={column!r} is not a column of "
                             f"{data.source}{did_you_mean(column, list(table.columns))}")
        return partition_by_column(table[column].astype(str).str.strip().to_numpy(), num_clients,
                                   rng)
    raise DataError(f"unknown partition {name!r}; use iid, dirichlet, quantity or column")


def describe_partitions(parts: list[np.ndarray], target: np.ndarray) -> list[dict[str, Any]]:
    """Per-client size and churn rate, flagging empty and single-class clients."""
    report = []
    for client, rows in enumerate(parts):
        labels = target[rows]
        positives = int(labels.sum())
        report.append({
            "client": client,
            "rows": int(len(rows)),
            "churners": positives,
            "churn_rate": float(positives / len(rows)) if len(rows) else float("nan"),
            "empty": len(rows) == 0,
            "single_class": len(rows) > 0 and positives in (0, len(rows)),
        })
    return report


def format_partition_report(report: list[dict[str, Any]]) -> str:
    """A plain-text table of `describe_partitions` output, with flagged clients marked."""
    lines = [f"{'client':>6} {'rows':>6} {'churn%':>7}  note"]
    for entry in report:
        note = "EMPTY" if entry["empty"] else ("single class" if entry["single_class"] else "")
        rate = "-" if entry["empty"] else f"{100 * entry['churn_rate']:.1f}"
        lines.append(f"{entry['client']:>6} {entry['rows']:>6} {rate:>7}  {note}")
    return "\n".join(lines)


def _check_alpha(alpha: float) -> None:
    if not alpha > 0:
        raise DataError(f"partition.alpha must be positive, got {alpha}")
