"""Loading and validation: the real Telco file, and each bad-input case names its problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn.datasets import load_dataset
from churn.dialect import read_table
from churn.loading import DataError, load_csv
from churn.schema import TELCO_SCHEMA, schema_from_config


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "churn.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def telco_frame(telco_csv: Path) -> pd.DataFrame:
    return read_table(telco_csv).frame.head(200)


def test_telco_file_loads_with_known_properties(telco_csv: Path) -> None:
    data = load_csv(telco_csv, TELCO_SCHEMA)
    assert len(data) == 7043
    assert int(data.target.sum()) == 1869
    assert "customerID" not in data.features.columns
    assert data.features["TotalCharges"].dtype == float
    assert not data.features["TotalCharges"].isna().any()
    blank_rows = data.features["tenure"] == 0
    assert blank_rows.sum() == 11
    assert (data.features.loc[blank_rows, "TotalCharges"] == 0.0).all()
    assert data.fingerprint == "88be4b93fbe0cc83421af1c503794c97c342eca914c1576db7c276e61d61358a"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.csv: no such file"):
        load_csv(tmp_path / "nope.csv", TELCO_SCHEMA)


def test_empty_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        load_csv(path, TELCO_SCHEMA)


def test_cells_stay_text_and_an_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("id,charges,label\nNA,,007\n")
    frame = read_table(path).frame
    assert frame.to_dict("records") == [{"id": "NA", "charges": "", "label": "007"}]
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id,city\n1,M\xfcnchen\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.csv: not UTF-8: byte 0xfc on line 2"):
        read_table(latin1)


def test_header_only_file(tmp_path: Path, telco_frame: pd.DataFrame) -> None:
    path = _write(tmp_path, telco_frame.head(0))
    with pytest.raises(DataError, match="no data rows"):
        load_csv(path, TELCO_SCHEMA)


def test_missing_column_is_named(tmp_path: Path, telco_frame: pd.DataFrame) -> None:
    path = _write(tmp_path, telco_frame.drop(columns=["Contract"]))
    with pytest.raises(DataError, match=r"churn.csv: missing columns \['Contract'\]"):
        load_csv(path, TELCO_SCHEMA)


def test_unexpected_column_is_named(tmp_path: Path, telco_frame: pd.DataFrame) -> None:
    path = _write(tmp_path, telco_frame.assign(Region="north"))
    with pytest.raises(DataError, match=r"unexpected columns \['Region'\]"):
        load_csv(path, TELCO_SCHEMA)


def test_text_in_numeric_column_names_rows(tmp_path: Path, telco_frame: pd.DataFrame) -> None:
    frame = telco_frame.copy()
    frame.loc[4, "MonthlyCharges"] = "abc"
    frame.loc[9, "MonthlyCharges"] = "12,5"
    path = _write(tmp_path, frame)
    with pytest.raises(DataError) as err:
        load_csv(path, TELCO_SCHEMA)
    message = str(err.value)
    assert "'MonthlyCharges' must be numeric" in message
    assert "line(s) 6, 11" in message and "2 row(s)" in message


def test_unknown_target_label(tmp_path: Path, telco_frame: pd.DataFrame) -> None:
    frame = telco_frame.copy()
    frame.loc[0, "Churn"] = "Maybe"
    with pytest.raises(DataError, match=r"labels \{'Maybe': 1\} besides"):
        load_csv(_write(tmp_path, frame), TELCO_SCHEMA)


def test_single_class_target(tmp_path: Path, telco_frame: pd.DataFrame) -> None:
    frame = telco_frame.assign(Churn="No")
    with pytest.raises(DataError, match="one class only"):
        load_csv(_write(tmp_path, frame), TELCO_SCHEMA)


def test_generic_csv_through_config(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "CustomerId": range(100),
        "Geography": rng.choice(["France", "Spain"], 100),
        "Age": rng.integers(18, 80, 100),
        "Balance": rng.normal(1000, 10, 100).round(2),
        "Exited": rng.choice([0, 1], 100),
    })
    path = _write(tmp_path, frame, "bank.csv")
    cfg = {"name": "csv", "path": str(path), "target": "Exited", "positive": 1, "negative": 0,
           "categorical": ["Geography"], "numeric": ["Age", "Balance"], "id_columns": ["CustomerId"]}
    data = load_dataset(cfg)
    assert list(data.features.columns) == ["Geography", "Age", "Balance"]
    assert data.target.tolist() == frame["Exited"].tolist()
    assert schema_from_config(cfg).target == "Exited"


def test_csv_config_without_path_is_explained() -> None:
    with pytest.raises(DataError, match="data.path=FILE"):
        load_dataset({"name": "csv", "path": "???"})


def test_loaded_text_is_held_as_categories_not_a_string_per_cell(telco_csv: Path) -> None:
    data = load_csv(telco_csv, TELCO_SCHEMA)
    rows = len(data)
    # as a Python str per cell the Telco features took 1,074 bytes a row, the raw cells 1,314
    assert data.features.memory_usage(deep=True).sum() / rows < 150
    assert data.raw is not None and data.raw.memory_usage(deep=True).sum() / rows < 600
    assert all(isinstance(data.features[c].dtype, pd.CategoricalDtype)
               for c in TELCO_SCHEMA.categorical)
    part = data.subset(np.arange(0, rows, 7))  # a site's rows keep the codes, same values
    assert isinstance(part.features["Contract"].dtype, pd.CategoricalDtype)
    assert part.features["Contract"].astype(str).tolist() == \
        data.features["Contract"].astype(str).tolist()[::7]
    assert sorted(part.features["Contract"].unique()) == [
        "Month-to-month", "One year", "Two year"]
