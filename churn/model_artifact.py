"""The saved global model: a fitted sklearn Pipeline (raw columns -> FeatureSpec -> LR) in joblib."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from churn.feature_spec import FeatureSpec
from churn.loading import clean_features
from churn.model import apply_params, make_classifier
from churn.schema import DatasetSchema


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
        return spec.transform(clean_features(frame, self.schema, "scoring input"), source="scoring input")


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
