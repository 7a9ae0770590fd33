"""The one seeded, stratified train/test split every model in the project is evaluated on."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from churn.errors import DataError
from churn.loading import ChurnData


def stratified_split(data: ChurnData, test_size: float, seed: int) -> tuple[ChurnData, ChurnData]:
    """Split rows into (train, test) keeping the churn rate in both."""
    if not 0.0 < test_size < 1.0:
        raise DataError(f"test_size must be in (0, 1), got {test_size}")
    rows = np.arange(len(data))
    train_rows, test_rows = train_test_split(
        rows, test_size=test_size, random_state=seed, stratify=data.target
    )
    return data.subset(np.sort(train_rows)), data.subset(np.sort(test_rows))


def local_split(target: np.ndarray, eval_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A client's own train/eval rows; stratified when both classes have at least 2 rows,
    otherwise drawn at random with a class's only row kept for training."""
    rows = np.arange(len(target))
    n_eval = int(round(len(rows) * eval_fraction))
    if n_eval == 0 or len(rows) - n_eval < 1:
        return rows, rows[:0]
    counts = np.bincount(target.astype(int), minlength=2)
    # sklearn stratifies only with >= 2 rows of each class and >= 2 rows on each side (a 5-row
    # site holds out 1 row at 0.2: stratifying raised "test_size = 1 should be >= 2")
    if counts.min() >= 2 and min(n_eval, len(rows) - n_eval) >= 2:
        train_rows, eval_rows = train_test_split(rows, test_size=n_eval, random_state=seed,
                                                 stratify=target)
        return np.sort(train_rows), np.sort(eval_rows)
    # Unstratified: a class with one row keeps it for training (a 3-row site with one churner
    # held that churner out and trained on one class: tests/strategy/test_faulty_replies.py)
    keep = counts[target.astype(int)] < 2
    candidates = rows[~keep] if (~keep).sum() >= n_eval else rows
    held = candidates if len(candidates) > n_eval else None  # all candidates: nothing to draw
    eval_rows = (train_test_split(held, test_size=n_eval, random_state=seed)[1]
                 if held is not None else candidates)
    train_rows = np.setdiff1d(rows, eval_rows)
    return np.sort(train_rows), np.sort(eval_rows)


def site_split(target: np.ndarray, eval_fraction: float, seed: int,
               partition_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Site `partition_id`'s (training, evaluation) rows among its own `target`: `local_split`
    seeded `seed + partition_id`, the one convention of simulated sites, their references
    and deployed sites alike."""
    return local_split(target, eval_fraction, (seed + partition_id) % 2**32)  # id -1: unnamed site
