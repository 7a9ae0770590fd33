"""Seeded churn tables of shapes other than Telco (bank-like, telecom-usage-like), as raw CSV text cells.

They exercise schema inference: identifiers (row numbers, customer ids, surnames), a
constant column, integer codes (area codes), 0/1 flags, a 51-value text column (US
states), True/False and 1/0 targets. `HAND_SCHEMAS` is what a person would write for each,
the baseline the inferred schema is compared with.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from churn.schema import DatasetSchema

_STATES = ("AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC "
           "ND NE NH NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY").split()
_SURNAMES = ("Smith Jones Brown Taylor Wilson Davies Evans Thomas Johnson Roberts Walker Wright "
             "Robinson Thompson White Hughes Edwards Green Hall Wood Harris Lewis Martin Jackson "
             "Clarke Clark Turner Hill Scott Cooper Morris Ward Moore King Watson Baker Harrison "
             "Morgan Patel Young Allen Mitchell James Anderson Phillips Lee Bell Parker Davis").split()


def _churn(rng: np.random.Generator, logit: np.ndarray) -> np.ndarray:
    return rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-logit))


def bank_like(num_rows: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Bank customers: Exited 1/0, ids and surnames to drop, a constant Currency column."""
    rng = np.random.default_rng(seed)
    geography = rng.choice(["France", "Germany", "Spain"], num_rows, p=[0.5, 0.25, 0.25])
    gender = rng.choice(["Female", "Male"], num_rows)
    age = np.clip(rng.normal(39, 10, num_rows).round(), 18, 92).astype(int)
    balance = np.where(rng.random(num_rows) < 0.35, 0.0, rng.normal(120000, 30000, num_rows).round(2))
    products = rng.choice([1, 2, 3, 4], num_rows, p=[0.5, 0.45, 0.04, 0.01])
    active = rng.integers(0, 2, num_rows)
    score = np.clip(rng.normal(650, 95, num_rows).round(), 350, 850).astype(int)
    logit = (-2.2 + 0.07 * (age - 39) + 0.8 * (geography == "Germany") + 0.5 * (gender == "Female")
             - 0.9 * active + 1.6 * (products >= 3) - 0.5 * (products == 2) + 2e-6 * balance
             - 0.001 * (score - 650))
    surname_ids = rng.integers(0, len(_SURNAMES), num_rows)
    return pd.DataFrame({
        "RowNumber": np.arange(1, num_rows + 1).astype(str),
        "CustomerId": (15_565_701 + rng.permutation(num_rows * 3)[:num_rows]).astype(str),
        "Surname": [f"{_SURNAMES[i]}-{rng.integers(1000)}" for i in surname_ids],
        "CreditScore": score.astype(str),
        "Geography": geography,
        "Gender": gender,
        "Age": age.astype(str),
        "Tenure": rng.integers(0, 11, num_rows).astype(str),
        "Balance": [f"{b:.2f}" for b in balance],
        "NumOfProducts": products.astype(str),
        "HasCrCard": rng.integers(0, 2, num_rows).astype(str),
        "IsActiveMember": active.astype(str),
        "EstimatedSalary": [f"{s:.2f}" for s in rng.uniform(100, 200000, num_rows)],
        "Currency": "EUR",
        "Exited": _churn(rng, logit).astype(int).astype(str),
    })


def telecom_usage_like(num_rows: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Telecom usage: minutes and calls, area codes, states, yes/no plans, Churn True/False."""
    rng = np.random.default_rng(seed)
    day_minutes = np.clip(rng.normal(180, 54, num_rows), 0, None).round(1)
    eve_minutes = np.clip(rng.normal(200, 50, num_rows), 0, None).round(1)
    intl_plan = rng.random(num_rows) < 0.1
    vmail_plan = rng.random(num_rows) < 0.27
    service_calls = rng.poisson(1.5, num_rows)
    logit = (-3.0 + 0.018 * (day_minutes - 180) + 0.006 * (eve_minutes - 200) + 2.0 * intl_plan
             - 0.8 * vmail_plan + 0.7 * np.maximum(service_calls - 3, 0))
    frame = pd.DataFrame({
        "State": rng.choice(_STATES, num_rows),
        "Account length": rng.integers(1, 240, num_rows).astype(str),
        "Area code": rng.choice(["408", "415", "510"], num_rows, p=[0.25, 0.5, 0.25]),
        "International plan": np.where(intl_plan, "yes", "no"),
        "Voice mail plan": np.where(vmail_plan, "yes", "no"),
        "Number vmail messages": np.where(vmail_plan, rng.integers(10, 50, num_rows), 0).astype(str),
        "Total day minutes": day_minutes,
        "Total day calls": rng.poisson(100, num_rows).astype(str),
        "Total eve minutes": eve_minutes,
        "Total night minutes": np.clip(rng.normal(200, 50, num_rows), 0, None).round(1),
        "Total intl minutes": np.clip(rng.normal(10, 2.8, num_rows), 0, None).round(1),
        "Customer service calls": service_calls.astype(str),
        "Churn": np.where(_churn(rng, logit), "True", "False"),
    })
    for column in ("Total day minutes", "Total eve minutes", "Total night minutes",
                   "Total intl minutes"):
        frame[column] = [f"{v:.1f}" for v in frame[column]]
    return frame


def write_csv(frame: pd.DataFrame, path: str | Path, sep: str = ",", decimal: str = ".",
              bom: bool = False, crlf: bool = False) -> Path:
    """Write text cells in a dialect: separator, decimal mark (of decimal numbers), BOM, CRLF."""
    if decimal != ".":
        number = re.compile(r"^[+-]?\d+\.\d+$")
        frame = frame.apply(lambda cells: cells.map(
            lambda v: v.replace(".", decimal) if isinstance(v, str) and number.match(v) else v))
    path = Path(path)
    frame.to_csv(path, index=False, sep=sep, encoding="utf-8-sig" if bom else "utf-8",
                 lineterminator="\r\n" if crlf else "\n")
    return path


HAND_SCHEMAS: dict[str, DatasetSchema] = {
    "bank": DatasetSchema(
        name="csv", target="Exited", positive="1", negative="0",
        categorical=("Geography", "Gender"),
        numeric=("CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard",
                 "IsActiveMember", "EstimatedSalary"),
        id_columns=("RowNumber", "CustomerId", "Surname", "Currency")),
    "telecom": DatasetSchema(
        name="csv", target="Churn", positive="True", negative="False",
        categorical=("State", "Area code", "International plan", "Voice mail plan"),
        numeric=("Account length", "Number vmail messages", "Total day minutes",
                 "Total day calls", "Total eve minutes", "Total night minutes",
                 "Total intl minutes", "Customer service calls")),
}
