"""Schema inference: the server's decision from site evidence, target labels, leaks, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.column_evidence import site_evidence
from churn.errors import DataError
from churn.sample_tables import HAND_SCHEMAS, bank_like, telecom_usage_like
from churn.schema_inference import decide_schema, format_schema_table


def _decide(frames: list[pd.DataFrame], **cfg: object):
    data_cfg = {"name": "csv", "target": "Churn", **cfg}
    return decide_schema([site_evidence(f, str(data_cfg["target"])) for f in frames], data_cfg)


def _types(decision) -> dict[str, str]:
    return {c.column: c.type for c in decision.columns}


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "cust": [f"C{i:05d}" for i in range(n)],
        "seq": [str(1000 + i) for i in range(n)],
        "area": rng.choice(["408", "415", "510"], n),
        "calls": rng.integers(0, 9, n).astype(str),
        "flag": rng.integers(0, 2, n).astype(str),
        "plan": rng.choice(["basic", "pro", "max"], n),
        "spend": [f"{v:.2f}" for v in rng.normal(50, 10, n)],
        "same": "x",
        "empty": "",
        "Churn": rng.choice(["Yes", "No"], n),
    })


def test_types_and_decisions() -> None:
    decision = _decide([_frame()])
    assert _types(decision) == {
        "Churn": "target", "cust": "identifier", "seq": "identifier", "area": "categorical",
        "calls": "numeric", "flag": "boolean", "plan": "categorical", "spend": "numeric",
        "same": "constant", "empty": "constant"}
    schema = decision.schema
    assert schema.categorical == ("area", "plan") and schema.numeric == ("calls", "flag", "spend")
    assert schema.id_columns == ("cust", "seq") and schema.dropped == ("same", "empty")
    assert (schema.positive, schema.negative) == ("Yes", "No")
    table = format_schema_table(decision)
    assert "integer codes, 3 values" in table and "dropped (identifier)" in table


def test_sites_merge_categories_and_must_share_columns() -> None:
    frame = _frame(400)
    low = frame.iloc[:200].assign(plan="basic")
    high = frame.iloc[200:].assign(plan="pro")
    merged = _decide([low, high])
    assert "plan" in merged.schema.categorical and merged.sites == 2
    assert "2 values (basic, pro)" in {c.column: c.evidence for c in merged.columns}["plan"]
    with pytest.raises(DataError, match=r"site 1 and site 0 disagree on columns \['plan'\]"):
        _decide([low, high.drop(columns="plan")])


def test_explicit_roles_win() -> None:
    decision = _decide([_frame()], numeric=["area"], id_columns=["plan"], categorical=["calls"])
    assert "area" in decision.schema.numeric and "plan" in decision.schema.id_columns
    assert "calls" in decision.schema.categorical
    with pytest.raises(DataError, match=r"name \['plna'\].*did you mean 'plan'"):
        _decide([_frame()], categorical=["plna"])


@pytest.mark.parametrize(("labels", "positive"), [
    (["Yes", "No"], "Yes"), (["True", "False"], "True"), (["1", "0"], "1"), (["yes", "no"], "yes")])
def test_target_labels_recognised(labels: list[str], positive: str) -> None:
    frame = _frame().assign(Churn=np.resize(labels, 200))
    assert _decide([frame]).schema.positive == positive


def test_target_label_errors_list_labels() -> None:
    three = _frame().assign(Churn=np.resize(["gone", "stayed", "paused"], 200))
    with pytest.raises(DataError, match=r"has 3 labels \('gone': 67.*data.positive=LABEL"):
        _decide([three])
    two = _frame().assign(Churn=np.resize(["gone", "kept"], 200))
    with pytest.raises(DataError, match=r"cannot tell which label.*set data.positive"):
        _decide([two])
    assert _decide([two], positive="gone").schema.negative == "kept"
    with pytest.raises(DataError, match=r"data.positive='left' is not a label"):
        _decide([two], positive="left")


def test_leak_is_named_not_dropped() -> None:
    frame = _frame()
    frame["retention_score"] = np.where(frame["Churn"] == "Yes", "0.9", "0.1")
    decision = _decide([frame.iloc[:100], frame.iloc[100:]])
    assert "retention_score" in decision.schema.feature_columns
    assert len(decision.leaks) == 1 and "'retention_score'" in decision.leaks[0]
    assert not _decide([_frame()]).leaks


@pytest.mark.parametrize(("name", "make"), [("bank", bank_like), ("telecom", telecom_usage_like)])
def test_sample_tables_match_the_hand_written_schemas(name: str, make) -> None:
    frame = make(1500, seed=1)
    hand = HAND_SCHEMAS[name]
    schema = _decide([frame.iloc[:700], frame.iloc[700:]], target=hand.target).schema
    assert set(schema.categorical) == set(hand.categorical)
    assert set(schema.numeric) == set(hand.numeric)
    assert set(schema.id_columns + schema.dropped) == set(hand.id_columns)
    assert schema.positive == hand.positive
