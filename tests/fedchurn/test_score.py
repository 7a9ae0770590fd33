"""`fedchurn score`: a real scores.csv with spreadsheet-safe id cells; bad model files refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import joblib
import pytest

from churn.model import fit_classifier, params_of
from churn.model_artifact import load_model, save_model
from churn.preprocessing import federated_feature_spec
from fedchurn.score import main as score_main

HOSTILE_IDS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.fixture(scope="module")
def model_and_csv(synthetic_small, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("score")
    spec = federated_feature_spec([synthetic_small.features], synthetic_small.schema, "median")
    arrays = params_of(fit_classifier(spec.transform(synthetic_small.features),
                                      synthetic_small.target))
    model = save_model(folder / "model.json", spec, synthetic_small.schema, arrays, 1.0)
    rows = synthetic_small.features.head(len(HOSTILE_IDS) + 1).copy()
    rows.insert(0, "customerID", [*HOSTILE_IDS, "7590-VHVEG"])
    rows.to_csv(folder / "customers.csv", index=False, quoting=csv.QUOTE_ALL)
    return model, folder / "customers.csv"


def test_formula_like_id_cells_are_quoted_in_the_written_file(model_and_csv, tmp_path: Path) -> None:
    model, customers = model_and_csv
    out = tmp_path / "scores.csv"
    assert score_main(["--model", str(model), "--csv", str(customers), "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        ids = [row["customerID"] for row in csv.DictReader(handle)]
    assert ids == ["'" + value for value in HOSTILE_IDS] + ["7590-VHVEG"]
    assert not any(cell[0] in "=+-@\t\r" for cell in ids)


def test_a_tampered_model_is_refused_with_one_readable_line(model_and_csv, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    model, customers = model_and_csv
    document = json.loads(model.read_text())
    document["model"]["intercept"][0] = 5.0
    changed = tmp_path / "model.json"
    changed.write_text(json.dumps(document))
    assert score_main(["--model", str(changed), "--csv", str(customers)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256 mismatch" in err[0] and str(changed) in err[0]


def test_a_pickle_needs_trust_pickle_and_says_so(model_and_csv, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    model, customers = model_and_csv
    legacy = tmp_path / "model.joblib"
    joblib.dump(load_model(model), legacy)
    assert score_main(["--model", str(legacy), "--csv", str(customers)]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    out = tmp_path / "scores.csv"
    assert score_main(["--model", str(legacy), "--csv", str(customers), "--out", str(out),
                       "--trust-pickle"]) == 0
    assert "runs any code" in capsys.readouterr().err
    with out.open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(HOSTILE_IDS) + 1
