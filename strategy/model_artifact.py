"""The saved global model: a fitted sklearn Pipeline (raw columns -> FeatureSpec -> LR) in joblib."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from fedchurn.feature_spec import FeatureSpec
from fedchurn.loading import MISSING_CATEGORY
from fedchurn.model import apply_params, make_classifier
from fedchurn.schema import DatasetSchema


class MissingColumnsError(ValueError):
    """The input lacks columns the model needs."""


class FeatureSpecTransformer(TransformerMixin, BaseEstimator):
    """Raw churn columns (strings as read from CSV, or typed) -> the global model's inputs.

    Cleans like the training loader (trimmed text, blank category -> "(missing)", blank
    numeric -> the schema's `blank_fill` or the spec's fill value) and then applies the
    FeatureSpec. It is built fitted: its statistics come from the federation, not from data.
    """

    def __init__(self, spec_json: str, schema: DatasetSchema) -> None:
        self.spec_json = spec_json
        self.schema = schema

    def fit(self, frame: pd.DataFrame, y: object = None) -> FeatureSpecTransformer:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        spec = FeatureSpec.from_json(self.spec_json)
        return spec.transform(clean_feature_columns(frame, self.schema), source="scoring input")


def clean_feature_columns(frame: pd.DataFrame, schema: DatasetSchema,
                          source: str = "input") -> pd.DataFrame:
    """The schema's feature columns cleaned as `fedchurn.loading` cleans training rows."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in schema.feature_columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(f"{source}: missing columns {missing} needed by the model "
                                  f"(it expects {list(schema.feature_columns)})")
    cleaned = pd.DataFrame(index=frame.index)
    for column in schema.categorical:
        values = frame[column].astype(str).str.strip()
        cleaned[column] = values.mask(values == "", MISSING_CATEGORY)
    for column in schema.numeric:
        cleaned[column] = _numeric(frame[column], column, schema, source)
    return cleaned


def _numeric(values: pd.Series, column: str, schema: DatasetSchema, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
    else:
        text = values.astype(str).str.strip()
        blank = text == ""
        numbers = pd.to_numeric(text.mask(blank, None), errors="coerce")
        bad = numbers.isna() & ~blank
        if bad.any():
            lines = (np.flatnonzero(bad.to_numpy()) + 2)[:10].tolist()
            raise ValueError(f"{source}: column {column!r} must be numeric; text "
                             f"{text[bad].head(3).tolist()} on line(s) {lines}")
    if column in schema.blank_fill:
        numbers = numbers.fillna(schema.blank_fill[column])
    return numbers.astype(float)


def build_pipeline(spec: FeatureSpec, schema: DatasetSchema, arrays: list[np.ndarray],
                   C: float) -> Pipeline:
    """A ready-to-use Pipeline holding the global parameters `arrays`."""
    model = apply_params(make_classifier(C=C), arrays)
    return Pipeline([("features", FeatureSpecTransformer(spec.to_json(), schema)),
                     ("model", model)])


def save_model(path: Path, spec: FeatureSpec, schema: DatasetSchema, arrays: list[np.ndarray],
               C: float) -> Path:
    """Write the Pipeline with joblib; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(build_pipeline(spec, schema, arrays, C), path)
    return path


def load_model(path: Path) -> Pipeline:
    """Read a Pipeline written by `save_model`."""
    pipeline = joblib.load(Path(path))
    if not isinstance(pipeline, Pipeline) or "features" not in pipeline.named_steps:
        raise ValueError(f"{path}: not a fedchurn model (expected a Pipeline from save_model)")
    return pipeline
