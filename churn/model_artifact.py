"""The saved global model: parameters, feature spec, schema and versions in one hashed JSON file,
rebuilt on load into a scikit-learn Pipeline (raw columns -> FeatureSpec -> LR); no pickle."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from churn.feature_spec import FeatureSpec
from churn.loading import clean_features
from churn.model import apply_params, make_classifier
from churn.provenance import code_version
from churn.schema import DatasetSchema, schema_from_config

log = logging.getLogger(__name__)

FORMAT = "fedchurn-model/1"
MODEL_FILE = "model.json"


class MissingColumnsError(ValueError):
    """The input lacks columns the model needs."""


class ModelArtifactError(ValueError):
    """A model file that is not a valid, unchanged fedchurn model (or a pickle not trusted)."""


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


def content_sha256(content: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of everything but the hash."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def model_document(spec: FeatureSpec, schema: DatasetSchema, arrays: list[np.ndarray],
                   C: float) -> dict[str, Any]:
    """The JSON document `save_model` writes (floats round-trip exactly through JSON)."""
    coef, intercept = arrays
    content: dict[str, Any] = {
        "format": FORMAT,
        "model": {"family": "logistic_regression", "C": float(C),
                  "coef": np.asarray(coef, dtype=np.float64).reshape(-1).tolist(),
                  "intercept": np.asarray(intercept, dtype=np.float64).reshape(-1).tolist()},
        "feature_spec": json.loads(spec.to_json()),
        "schema": schema.to_dict(),
        "versions": {"fedchurn": importlib.metadata.version("fedchurn"),
                     "code": code_version(), "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__},
    }
    return {**content, "sha256": content_sha256(content)}


def save_model(path: Path, spec: FeatureSpec, schema: DatasetSchema, arrays: list[np.ndarray],
               C: float) -> Path:
    """Write the model as JSON (`model_document`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model_document(spec, schema, arrays, C), indent=1) + "\n")
    return path


def stored_sha256(path: Path) -> str:
    """The sha256 a model file written by `save_model` records (results.json repeats it)."""
    return str(json.loads(Path(path).read_text())["sha256"])


def load_model(path: Path, trust_pickle: bool = False) -> Pipeline:
    """Verify a file written by `save_model` and rebuild its Pipeline.

    A pickle (an old `model.joblib`) runs whatever code its author put in it, so it is read
    only with `trust_pickle=True`; anything else that is not an unchanged model is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelArtifactError(f"{path}: no such model file")
    raw = path.read_bytes()
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if trust_pickle:
            return _load_trusted_pickle(path)
        raise ModelArtifactError(
            f"{path}: not a fedchurn JSON model (an old pickle such as model.joblib?). Loading a "
            f"pickle runs any code its author put in it; use the run's {MODEL_FILE}, or pass "
            f"--trust-pickle only for a file whose origin you trust") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelArtifactError(f"{path}: not a fedchurn model (expected \"format\": {FORMAT!r})")
    content = {k: v for k, v in document.items() if k != "sha256"}
    if document.get("sha256") != content_sha256(content):
        raise ModelArtifactError(f"{path}: sha256 mismatch, the file was changed after it was "
                                 f"written; refusing to load it (re-export it from its run)")
    try:
        return _rebuild(document)
    except (KeyError, TypeError, ValueError) as ex:
        raise ModelArtifactError(f"{path}: inconsistent model content: {ex}") from None


def _rebuild(document: dict[str, Any]) -> Pipeline:
    spec = FeatureSpec.from_json(json.dumps(document["feature_spec"]))
    schema = schema_from_config(document["schema"])
    model = document["model"]
    coef = np.asarray(model["coef"], dtype=np.float64).reshape(1, -1)
    intercept = np.asarray(model["intercept"], dtype=np.float64).reshape(-1)
    if coef.shape[1] != spec.num_features or intercept.shape != (1,):
        raise ValueError(f"{coef.shape[1]} weights and {intercept.size} intercepts for "
                         f"{spec.num_features} features")
    saved = document.get("versions", {}).get("scikit-learn")
    if saved != sklearn.__version__:
        # Only plain arrays are stored, so a different version rebuilds the same model.
        log.info("model written with scikit-learn %s, loaded with %s", saved, sklearn.__version__)
    return build_pipeline(spec, schema, [coef, intercept], float(model["C"]))


def _load_trusted_pickle(path: Path) -> Pipeline:
    import joblib

    log.warning("%s: loading a pickle because trust_pickle is set; it can run arbitrary code",
                path)
    pipeline = joblib.load(path)
    if not isinstance(pipeline, Pipeline) or "features" not in pipeline.named_steps:
        raise ModelArtifactError(f"{path}: not a fedchurn model (expected a Pipeline)")
    return pipeline
