"""The JSON model artifact: exact round trip, tamper refusal, and no unpickling unless trusted."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest

from churn.model import fit_classifier, params_of, predict_proba
from churn.model_artifact import (
    ModelArtifactError,
    build_pipeline,
    load_model,
    save_model,
)
from churn.preprocessing import federated_feature_spec


@pytest.fixture(scope="module")
def fitted(synthetic_small):
    spec = federated_feature_spec([synthetic_small.features], synthetic_small.schema, "median")
    x = spec.transform(synthetic_small.features)
    arrays = params_of(fit_classifier(x, synthetic_small.target, C=0.5))
    return synthetic_small, spec, arrays


def test_saved_model_is_json_and_rebuilds_the_same_pipeline(fitted, tmp_path: Path) -> None:
    data, spec, arrays = fitted
    path = save_model(tmp_path / "model.json", spec, data.schema, arrays, C=0.5)
    document = json.loads(path.read_text())  # plain JSON, nothing to unpickle
    assert document["format"] == "fedchurn-model/1" and len(document["sha256"]) == 64
    assert {"fedchurn", "code", "scikit-learn", "numpy"} <= set(document["versions"])
    assert document["feature_spec"]["numeric"] == spec.numeric
    pipeline = load_model(path)
    assert pipeline.named_steps["features"].schema == data.schema
    model = pipeline.named_steps["model"]
    assert np.array_equal(model.coef_, arrays[0]) and np.array_equal(model.intercept_, arrays[1])
    assert model.C == 0.5
    in_memory = build_pipeline(spec, data.schema, arrays, 0.5)
    assert np.array_equal(pipeline.predict_proba(data.features), in_memory.predict_proba(data.features))
    expected = predict_proba(arrays, spec.transform(data.features))
    np.testing.assert_allclose(pipeline.predict_proba(data.features)[:, 1], expected, rtol=1e-12)


def test_a_changed_artifact_is_refused_with_one_error(fitted, tmp_path: Path) -> None:
    data, spec, arrays = fitted
    path = save_model(tmp_path / "model.json", spec, data.schema, arrays, C=1.0)
    document = json.loads(path.read_text())
    document["model"]["coef"][0] += 1e-9
    path.write_text(json.dumps(document))
    with pytest.raises(ModelArtifactError, match="sha256 mismatch"):
        load_model(path)


class _Planted:
    """Unpickling this runs code: it writes a marker file (what a hostile model could do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def test_a_pickle_is_not_loaded_unless_trusted(fitted, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    hostile = tmp_path / "model.joblib"
    with hostile.open("wb") as handle:
        pickle.dump(_Planted(marker), handle)
    with pytest.raises(ModelArtifactError, match="--trust-pickle"):
        load_model(hostile)
    assert not marker.exists()  # the planted code did not run

    data, spec, arrays = fitted
    legacy = tmp_path / "legacy.joblib"
    joblib.dump(build_pipeline(spec, data.schema, arrays, 1.0), legacy)
    with pytest.raises(ModelArtifactError):
        load_model(legacy)
    model = load_model(legacy, trust_pickle=True).named_steps["model"]
    assert np.array_equal(model.coef_, arrays[0])
