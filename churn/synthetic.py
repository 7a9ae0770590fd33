"""Seeded synthetic churn table with Telco's schema, so everything runs offline without a file.

Churn mechanism (documented so results can be reasoned about): a customer churns with
probability sigmoid(z), where z rises with a month-to-month contract (+1.6 over two-year),
fibre internet (+0.7), electronic-check payment (+0.5), paperless billing (+0.3), being a
senior citizen (+0.3) and monthly charges (+0.01 per currency unit above 65), and falls with
tenure (-0.035 per month), tech support (-0.4) and online security (-0.4). The intercept is
calibrated so the churn rate is close to Telco's 26.5 %.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from churn.loading import ChurnData, validate_frame
from churn.schema import TELCO_SCHEMA

_ADDONS = ("OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport",
           "StreamingTV", "StreamingMovies")
_ADDON_RATE = {"OnlineSecurity": 0.37, "OnlineBackup": 0.44, "DeviceProtection": 0.44,
               "TechSupport": 0.37, "StreamingTV": 0.49, "StreamingMovies": 0.5}
_PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)",
             "Credit card (automatic)")


def generate_synthetic_telco(num_rows: int = 7000, seed: int = 0) -> ChurnData:
    """Draw `num_rows` customers; the same seed gives the same table."""
    if num_rows < 20:
        raise ValueError(f"synthetic data needs at least 20 rows, got {num_rows}")
    rng = np.random.default_rng(seed)
    n = num_rows
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    base_tenure = {"Month-to-month": 18.0, "One year": 42.0, "Two year": 57.0}
    tenure = np.array([rng.normal(base_tenure[c], 16.0) for c in contract])
    tenure = np.clip(np.rint(tenure), 0, 72).astype(int)
    internet = rng.choice(["Fiber optic", "DSL", "No"], n, p=[0.44, 0.34, 0.22])
    phone = rng.random(n) < 0.9
    frame = pd.DataFrame({
        "customerID": [f"SYN-{seed:04d}-{i:06d}" for i in range(n)],
        "gender": rng.choice(["Female", "Male"], n),
        "SeniorCitizen": (rng.random(n) < 0.162).astype(int),
        "Partner": rng.choice(["Yes", "No"], n, p=[0.48, 0.52]),
        "Dependents": rng.choice(["Yes", "No"], n, p=[0.3, 0.7]),
        "tenure": tenure,
        "PhoneService": np.where(phone, "Yes", "No"),
        "MultipleLines": np.where(phone, rng.choice(["Yes", "No"], n, p=[0.47, 0.53]),
                                  "No phone service"),
        "InternetService": internet,
        "Contract": contract,
        "PaperlessBilling": rng.choice(["Yes", "No"], n, p=[0.59, 0.41]),
        "PaymentMethod": rng.choice(_PAYMENTS, n, p=[0.34, 0.23, 0.22, 0.21]),
    })
    has_internet = internet != "No"
    for addon in _ADDONS:
        takes = rng.random(n) < _ADDON_RATE[addon]
        frame[addon] = np.where(has_internet, np.where(takes, "Yes", "No"),
                                "No internet service")
    monthly = 20.0 + 5.0 * phone + 5.0 * (frame["MultipleLines"] == "Yes")
    monthly += np.select([internet == "Fiber optic", internet == "DSL"], [50.0, 25.0], 0.0)
    monthly += sum(5.0 * (frame[a] == "Yes") for a in _ADDONS)
    monthly = np.round(np.clip(monthly + rng.normal(0, 3.0, n), 18.25, 118.75), 2)
    frame["MonthlyCharges"] = monthly
    total = np.round(tenure * monthly * rng.uniform(0.95, 1.05, n), 2)
    frame["TotalCharges"] = np.where(tenure == 0, " ", total.astype(str))
    z = (1.6 * (contract == "Month-to-month") + 0.6 * (contract == "One year")
         + 0.7 * (internet == "Fiber optic") + 0.5 * (frame["PaymentMethod"] == "Electronic check")
         + 0.3 * (frame["PaperlessBilling"] == "Yes") + 0.3 * frame["SeniorCitizen"]
         + 0.01 * (monthly - 65.0) - 0.035 * tenure
         - 0.4 * (frame["TechSupport"] == "Yes") - 0.4 * (frame["OnlineSecurity"] == "Yes"))
    z = np.asarray(z, dtype=float)
    intercept = _calibrate_intercept(z, target_rate=0.265)
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-(z + intercept)))
    frame["Churn"] = np.where(churn, "Yes", "No")
    frame = frame[list(TELCO_SCHEMA.required_columns)].astype(str)
    fingerprint = hashlib.sha256(f"synthetic-telco:{n}:{seed}".encode()).hexdigest()
    return validate_frame(frame, TELCO_SCHEMA, f"synthetic(rows={n}, seed={seed})", fingerprint)


def _calibrate_intercept(z: np.ndarray, target_rate: float) -> float:
    low, high = -10.0, 10.0
    for _ in range(60):
        mid = (low + high) / 2.0
        rate = float(np.mean(1.0 / (1.0 + np.exp(-(z + mid)))))
        low, high = (mid, high) if rate < target_rate else (low, mid)
    return (low + high) / 2.0
