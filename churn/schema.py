"""Dataset schema: which columns are features, target and identifiers, and Telco's layout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DatasetSchema:
    """Column roles of a churn table.

    `categories` optionally fixes the category set of categorical columns; columns not
    listed there get their categories from the union that clients report.
    """

    name: str
    target: str
    positive: str
    negative: str | None
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    id_columns: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()  # columns read but not used (constant, all blank)
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    blank_fill: Mapping[str, float] = field(default_factory=dict)

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return self.categorical + self.numeric

    @property
    def required_columns(self) -> tuple[str, ...]:
        return self.id_columns + self.feature_columns + (self.target,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "positive": self.positive,
            "negative": self.negative,
            "categorical": list(self.categorical),
            "numeric": list(self.numeric),
            "id_columns": list(self.id_columns),
            "dropped": list(self.dropped),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "blank_fill": dict(self.blank_fill),
        }


TELCO_CATEGORIES: dict[str, tuple[str, ...]] = {
    "gender": ("Female", "Male"),
    "Partner": ("No", "Yes"),
    "Dependents": ("No", "Yes"),
    "PhoneService": ("No", "Yes"),
    "MultipleLines": ("No", "No phone service", "Yes"),
    "InternetService": ("DSL", "Fiber optic", "No"),
    "OnlineSecurity": ("No", "No internet service", "Yes"),
    "OnlineBackup": ("No", "No internet service", "Yes"),
    "DeviceProtection": ("No", "No internet service", "Yes"),
    "TechSupport": ("No", "No internet service", "Yes"),
    "StreamingTV": ("No", "No internet service", "Yes"),
    "StreamingMovies": ("No", "No internet service", "Yes"),
    "Contract": ("Month-to-month", "One year", "Two year"),
    "PaperlessBilling": ("No", "Yes"),
    "PaymentMethod": (
        "Bank transfer (automatic)",
        "Credit card (automatic)",
        "Electronic check",
        "Mailed check",
    ),
}

TELCO_SCHEMA = DatasetSchema(
    name="telco",
    target="Churn",
    positive="Yes",
    negative="No",
    categorical=tuple(TELCO_CATEGORIES),
    numeric=("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"),
    id_columns=("customerID",),
    categories=TELCO_CATEGORIES,
    # A blank TotalCharges belongs to a customer with tenure 0 who was never billed: 0 is
    # the true value, not a missing one (all 11 such rows in the IBM file have tenure 0).
    blank_fill={"TotalCharges": 0.0},
)


def schema_from_config(cfg: Mapping[str, Any]) -> DatasetSchema:
    """Build a schema from a `conf/data/*.yaml` node (any mapping with the same keys)."""
    if cfg.get("name") in ("telco", "synthetic") and not cfg.get("categorical"):
        return TELCO_SCHEMA
    missing = [k for k in ("target", "positive", "categorical", "numeric") if k not in cfg]
    if missing:
        raise ValueError(f"data config {cfg.get('name', '?')!r} lacks keys: {missing}")
    categories = cfg.get("categories") or {}
    return DatasetSchema(
        name=str(cfg.get("name", "csv")),
        target=str(cfg["target"]),
        positive=str(cfg["positive"]),
        negative=None if cfg.get("negative") is None else str(cfg["negative"]),
        categorical=_strings(cfg["categorical"]),
        numeric=_strings(cfg["numeric"]),
        id_columns=_strings(cfg.get("id_columns") or ()),
        dropped=_strings(cfg.get("dropped") or ()),
        categories={str(k): _strings(v) for k, v in categories.items()},
        blank_fill={str(k): float(v) for k, v in (cfg.get("blank_fill") or {}).items()},
    )


def _strings(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)
