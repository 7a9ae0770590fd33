"""Shared pytest fixtures: paths to the real Telco file and small synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.kafka_fixtures"]

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
TELCO_CSV = REPO_ROOT.parent / "shared" / "data" / "telco_customer_churn.csv"


@pytest.fixture(scope="session")
def telco_csv() -> Path:
    """The real IBM Telco CSV (present in CI beside the clone); a missing file is an error."""
    assert TELCO_CSV.is_file(), f"{TELCO_CSV} is missing: tests read the real Telco file from ../shared"
    return TELCO_CSV


@pytest.fixture(scope="session")
def synthetic_small():
    from churn.synthetic import generate_synthetic_telco

    return generate_synthetic_telco(num_rows=1500, seed=3)
