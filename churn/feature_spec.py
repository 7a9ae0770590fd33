"""FeatureSpec: the serialisable, fingerprinted recipe that turns raw columns into model inputs."""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


class UnknownCategoryWarning(UserWarning):
    """A client holds a category value the global spec does not know; it is encoded as zeros."""


@dataclass(frozen=True)
class FeatureSpec:
    """One-hot categories and standardised numeric columns, the same on every client.

    The fingerprint hashes the whole spec (feature names and their order, category sets,
    scaling and fill values), so any difference in feature space makes it differ.
    """

    categories: dict[str, list[str]]
    numeric: list[str]
    means: dict[str, float]
    stds: dict[str, float]
    fills: dict[str, float]
    imputation: str

    @property
    def feature_names(self) -> list[str]:
        names = [f"{col}={cat}" for col, cats in self.categories.items() for cat in cats]
        return names + list(self.numeric)

    @property
    def num_features(self) -> int:
        return sum(len(c) for c in self.categories.values()) + len(self.numeric)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @property
    def input_columns(self) -> list[str]:
        return list(self.categories) + list(self.numeric)

    def to_json(self) -> str:
        # Key order is kept: the order of `categories` is the order of the feature columns.
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    def transform(self, frame: pd.DataFrame, source: str = "input") -> np.ndarray:
        """Encode raw columns; unknown categories warn and become an all-zero block."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{source}: missing columns {missing} needed by the model")
        blocks = []
        for column, cats in self.categories.items():
            values = frame[column].astype(str).str.strip().to_numpy()
            unknown = sorted(set(values) - set(cats))
            if unknown:
                message = (f"{source}: column {column!r} has categories {unknown} unknown to the "
                           f"global spec (known: {cats}); encoded as all zeros")
                warnings.warn(message, UnknownCategoryWarning, stacklevel=2)
                log.warning(message)
            blocks.append((values[:, None] == np.asarray(cats, dtype=object)[None, :]).astype(float))
        for column in self.numeric:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            values = np.where(np.isnan(values), self.fills[column], values)
            blocks.append(((values - self.means[column]) / self.stds[column])[:, None])
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
