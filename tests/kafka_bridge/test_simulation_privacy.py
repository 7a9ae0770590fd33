"""Privacy: every raw Kafka message of a real Telco run holds model numbers, never customer data."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kafka_bridge.events import array_digest
from tests.kafka_bridge.helpers import raw_messages, unique_prefix
from tests.kafka_bridge.sim_helpers import bridge_overrides, expected_events, simulate

pytestmark = pytest.mark.kafka
CLIENTS, ROUNDS, SAMPLE = 5, 2, 200
ID_PATTERN = re.compile(rb"\d{4}-[A-Z]{5}")  # the shape of every Telco customerID


def _num(text: str) -> str:
    """A raw numeric cell as JSON would print the parsed number (e.g. "20.50" -> "20.5")."""
    value = float(text)
    return str(int(value)) if value.is_integer() and "." not in text else repr(value)


class Leaks:
    """Detectors for customer data in message bytes, built from the real CSV."""

    def __init__(self, path: Path) -> None:
        with open(path, newline="") as fh:
            lines = fh.read().splitlines()
        header = next(csv.reader(lines[:1]))
        rows = [dict(zip(header, values, strict=True)) for values in csv.reader(lines[1:])]
        self.columns = header
        self.ids = {r["customerID"].encode() for r in rows}
        billed = [(line, r) for line, r in zip(lines[1:], rows, strict=True)
                  if r["TotalCharges"].strip()]
        self.sample = random.Random(7).sample(billed, SAMPLE)
        needles: set[str] = set()
        for line, r in self.sample:
            tenure, monthly, total = r["tenure"], r["MonthlyCharges"], r["TotalCharges"]
            needles |= {line, line.split(",", 1)[1]}  # the raw row, with and without its id
            for t, m, c in ((tenure, monthly, total), (_num(tenure), _num(monthly), _num(total))):
                for sep in (",", ", ", '","', '", "'):  # CSV / JSON list of numbers or strings
                    needles |= {sep.join((t, m, c)), sep.join((m, c))}
        # a needle must stand alone: not the tail or head of a longer number
        self.row_patterns = [re.compile(rb"(?<![\d.])" + re.escape(n.encode()) + rb"(?![\d.])")
                             for n in sorted(needles)]
        self.column_keys = {_norm(c) for c in header}

    def ids_in(self, blob: bytes) -> set[bytes]:
        """Customer ids of the CSV found anywhere in `blob`."""
        return {m for m in ID_PATTERN.findall(blob) if m in self.ids}

    def rows_in(self, blob: bytes) -> list[bytes]:
        """Raw rows / distinctive (tenure, MonthlyCharges, TotalCharges) tuples in `blob`."""
        return [p.pattern for p in self.row_patterns if p.search(blob)]

    def column_lists_in(self, obj: Any, path: str = "") -> list[str]:
        """JSON keys named like a raw column whose value is a list or a mapping (per-row data)."""
        found = []
        if isinstance(obj, dict):
            for key, value in obj.items():
                here = f"{path}.{key}"
                if _norm(key) in self.column_keys and isinstance(value, list | dict):
                    found.append(here)
                found += self.column_lists_in(value, here)
        elif isinstance(obj, list):
            for i, value in enumerate(obj):
                found += self.column_lists_in(value, f"{path}[{i}]")
        return found


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _longest_list(obj: Any, path: str = "") -> tuple[int, str]:
    """(length, path) of the longest JSON list anywhere in `obj`."""
    if isinstance(obj, dict):
        return max((_longest_list(v, f"{path}.{k}") for k, v in obj.items()), default=(0, ""))
    if isinstance(obj, list):
        return max([(len(obj), path), *(_longest_list(v, f"{path}[{i}]")
                                        for i, v in enumerate(obj))])
    return 0, ""


def test_no_customer_data_in_any_message_of_a_real_telco_run(running_kafka, tmp_path, telco_csv):
    prefix = unique_prefix()
    results, bridge, run_id = simulate(tmp_path / "run", [
        "engine=inprocess", "data=telco", f"data.path={telco_csv}", f"num_clients={CLIENTS}",
        f"num_rounds={ROUNDS}", *bridge_overrides(running_kafka.bootstrap, prefix,
                                                  tmp_path / "spool", mirror_client_updates=True)])
    n = expected_events(ROUNDS, CLIENTS)
    assert bridge.inner.last_stats == {"delivered": n, "spooled": n, "pending": 0}
    leaks = Leaks(telco_csv)
    assert len(leaks.ids) == 7043

    messages = raw_messages(running_kafka.bootstrap, prefix)
    assert len(messages) == n
    assert all(key == run_id.encode() and not headers for _, key, _, headers in messages)
    for topic, key, value, _ in messages:
        where = f"{topic}: {value[:120]!r}"
        assert leaks.ids_in(key + value) == set(), where
        assert leaks.rows_in(value) == [], where
        doc = json.loads(value)  # raw JSON, not the event parser (it could hide extra keys)
        assert leaks.column_lists_in(doc) == [], where
    docs = [json.loads(v) for _, _, v, _ in messages]

    # ... while the messages do carry what they should: the model, per client and global
    started = next(d for d in docs if d["type"] == "run_started")["payload"]
    d = len(started["feature_names"])
    assert d >= 30 and started["mirror_client_updates"] is True
    assert "customerID" not in started["feature_names"]
    models = [x["payload"] for x in docs if x["type"] in ("client_update", "round_aggregated")]
    assert len(models) == ROUNDS * (CLIENTS + 1)
    for p in models:
        coef, intercept = np.asarray(p["coef"]), np.asarray(p["intercept"])
        assert coef.shape == (1, d) and intercept.shape == (1,)
        assert np.isfinite(coef).all() and np.abs(coef).max() > 0
        assert array_digest([coef, intercept]) == p["digest"]
    # a per-row list has one entry per row of a site (or of the test set): none is that long
    client_rows = [x["payload"]["num_examples"] for x in docs if x["type"] == "client_update"]
    longest = max(_longest_list(doc, doc["type"]) for doc in docs)
    assert d <= longest[0] < min(client_rows), (longest, min(client_rows))


def test_the_leak_detectors_fire_on_leaky_messages(telco_csv):
    """Each detector above catches what it looks for (so a pass is not vacuous)."""
    leaks = Leaks(telco_csv)
    line, row = leaks.sample[0]
    cid = row["customerID"].encode()
    assert leaks.ids_in(b'{"note":"' + cid + b'"}') == {cid}
    assert leaks.ids_in(b'{"digest":"1234-ABCDE"}') == set()  # the shape alone is no leak
    assert leaks.rows_in(b'{"row":"' + line.encode() + b'"}')
    assert leaks.rows_in(json.dumps({"row": line.split(",", 1)[1]}).encode())
    vector = json.dumps([int(row["SeniorCitizen"]), int(row["tenure"]),
                         float(row["MonthlyCharges"]), float(row["TotalCharges"])],
                        separators=(",", ":")).encode()
    assert leaks.rows_in(b'{"x":' + vector + b"}")
    assert leaks.rows_in(b"[0.0317,-1.2," + vector[1:-1] + b",0.5]")
    assert leaks.rows_in(json.dumps([row[c] for c in ("tenure", "MonthlyCharges",
                                                      "TotalCharges")]).encode())
    assert leaks.rows_in(b'{"coef":[[0.12345678901234567,-0.5]]}') == []
    assert leaks.column_lists_in({"payload": {"MonthlyCharges": [29.85, 56.95]}})
    assert leaks.column_lists_in({"a": [{"total_charges": {"0": 1.0}}]})
    assert leaks.column_lists_in({"feature_names": ["tenure", "MonthlyCharges"]}) == []
    assert _longest_list({"rows": [[1] * 5, list(range(1200))]}) == (1200, ".rows[1]")
