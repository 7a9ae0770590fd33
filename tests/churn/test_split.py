"""Site splits: stratified when both classes allow it; a class's only row stays for training."""

from __future__ import annotations

import numpy as np
import pytest

from churn.split import local_split, site_split


def test_a_site_split_is_stratified_seeded_and_disjoint() -> None:
    target = np.array([0] * 80 + [1] * 20)
    train, held = site_split(target, 0.2, seed=42, partition_id=3)
    assert len(held) == 20 and int(target[held].sum()) == 4  # the churn rate kept
    assert np.intersect1d(train, held).size == 0 and len(train) + len(held) == 100
    again = site_split(target, 0.2, seed=42, partition_id=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, held), again, strict=True))
    other = site_split(target, 0.2, seed=42, partition_id=4)[1]
    assert not np.array_equal(held, other)  # each site its own seed


@pytest.mark.parametrize("seed", range(20))
def test_a_sites_only_churner_stays_in_its_training_rows(seed: int) -> None:
    target = np.array([0, 1, 0])  # 1 row held out at 0.2: too few to stratify
    train, held = local_split(target, 0.2, seed)
    assert len(held) == 1 and target[held].tolist() == [0]
    assert sorted(target[train].tolist()) == [0, 1]


def test_a_five_row_two_class_site_holds_out_one_row() -> None:
    target = np.array([0, 0, 0, 1, 1])
    train, held = local_split(target, 0.2, 7)
    assert len(held) == 1 and len(train) == 4
    assert local_split(target, 0.0, 7)[1].size == 0  # 0: everything trains
