"""The built-in synthetic data: seeded, Telco-shaped, with the documented churn mechanism."""

from __future__ import annotations

import numpy as np

from churn.schema import TELCO_SCHEMA
from churn.synthetic import generate_synthetic_telco


def test_same_seed_same_table_other_seed_differs() -> None:
    a = generate_synthetic_telco(500, seed=1)
    b = generate_synthetic_telco(500, seed=1)
    c = generate_synthetic_telco(500, seed=2)
    assert a.features.equals(b.features) and np.array_equal(a.target, b.target)
    assert not a.features.equals(c.features)


def test_marginals_and_mechanism() -> None:
    data = generate_synthetic_telco(7000, seed=0)
    assert list(data.features.columns) == list(TELCO_SCHEMA.feature_columns)
    assert 0.23 < data.target.mean() < 0.30
    m2m = data.features["Contract"] == "Month-to-month"
    assert data.target[m2m.to_numpy()].mean() > 2 * data.target[~m2m.to_numpy()].mean()
    for column, cats in TELCO_SCHEMA.categories.items():
        assert set(data.features[column]) <= set(cats), column
    assert ((data.features["tenure"] == 0) == (data.features["TotalCharges"] == 0)).all()
