"""Any churn CSV through the real commands (subprocess): what the user sees on stdout/stderr, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn.sample_tables import bank_like, telecom_usage_like, write_csv

REPO = Path(__file__).resolve().parents[2]
FAST_RUN = ["engine=inprocess", "num_clients=3", "num_rounds=2"]


def _cli(command: str, *args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess:
    """`python -m fedchurn COMMAND ARGS` (what the `fedchurn` console script runs)."""
    environ = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    environ.update({"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
                    "OPENBLAS_NUM_THREADS": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "fedchurn", command, *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300)


def _assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, no traceback, one paragraph on stderr starting 'error:' holding `needles`."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert err.startswith("error: ") and err.count("error: ") == 1 and "\n\n" not in err, err
    flat = " ".join(err.split())
    for needle in needles:
        assert needle in flat, (needle, flat)
    return flat


@pytest.fixture(scope="module")
def bank_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """One one-line run on a bank-like file: (its csv, run dir, process)."""
    tmp = tmp_path_factory.mktemp("bank")
    csv_path = write_csv(bank_like(1500, seed=2), tmp / "bank.csv")
    run_dir = tmp / "run"
    proc = _cli("simulate", "data=csv", f"data.path={csv_path}", "data.target=Exited",
                *FAST_RUN, f"hydra.run.dir={run_dir}", cwd=tmp)
    return csv_path, run_dir, proc


def test_one_line_run_infers_prints_and_writes_the_schema(bank_run) -> None:
    _, run_dir, proc = bank_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "identifier" in lines["CustomerId"] and "dropped" in lines["CustomerId"]
    assert "identifier" in lines["Surname"] and "constant" in lines["Currency"]
    assert "categorical" in lines["Geography"] and "one-hot" in lines["Geography"]
    assert "target, churn = '1'" in lines["Exited"]
    written = (run_dir / "schema.yaml").read_text()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_agreed_by_sites"] == 3  # decided from the 3 nodes' evidence query
    assert results["schema"]["id_columns"] == ["RowNumber", "CustomerId", "Surname"]
    assert results["schema"]["dropped"] == ["Currency"] and "Currency" in written
    assert results["final"]["federated_auc"] > 0.7


def test_pinned_schema_and_own_test_file(bank_run, tmp_path: Path) -> None:
    csv_path, run_dir, _ = bank_run
    test_file = write_csv(bank_like(400, seed=9), tmp_path / "bank_test.csv", sep=";")
    out = tmp_path / "run2"
    proc = _cli("simulate", "data=csv", f"data.path={csv_path}", "data.target=Exited",
                f"data.schema={run_dir / 'schema.yaml'}", f"data.test_path={test_file}",
                *FAST_RUN, f"hydra.run.dir={out}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    first = json.loads((run_dir / "results.json").read_text())
    assert results["schema"] == first["schema"] and results["schema_agreed_by_sites"] is None
    assert results["data"]["test_rows"] == 400 and results["data"]["train_rows"] == 1500


def test_score_csv_lacking_model_columns(bank_run, tmp_path: Path) -> None:
    _, run_dir, _ = bank_run
    broken = write_csv(bank_like(20).drop(columns=["Age"]).rename(columns={"Gender": "gender"}),
                       tmp_path / "new_customers.csv")
    proc = _cli("score", "--model", str(run_dir / "model.json"), "--csv", str(broken),
                cwd=tmp_path)
    _assert_clean_error(proc, "new_customers.csv", "missing columns ['Gender', 'Age']",
                        "did you mean 'gender'?", "training file's header")


def _telecom_semicolon(tmp: Path) -> Path:
    return write_csv(telecom_usage_like(600, seed=4), tmp / "tel.csv", sep=";", decimal=",",
                     bom=True, crlf=True)


def _tab_quoted(tmp: Path) -> Path:
    frame = bank_like(300, seed=5)
    frame["Surname"] = frame["Surname"] + "\tJr"  # quoted cells holding the separator
    return write_csv(frame, tmp / "bank.tsv", sep="\t")


def _types_shown(stdout: str, columns: list[str]) -> dict[str, str]:
    """The type column of the printed schema table for `columns`."""
    shown = {}
    for line in stdout.splitlines():
        for column in columns:
            if line.startswith(column + " "):
                shown[column] = line[len(column):].split()[0]
    return shown


@pytest.mark.parametrize(("make", "dialect", "expect"), [
    (_telecom_semicolon, "separator ';', decimal ',', encoding utf-8-sig, line ends CRLF",
     {"Area code": "categorical", "Total day minutes": "numeric", "State": "categorical"}),
    (_tab_quoted, "separator tab, decimal '.', encoding utf-8, line ends LF",
     {"Surname": "identifier", "HasCrCard": "boolean", "Balance": "numeric"}),
])
def test_inspect_reads_dialects(make, dialect: str, expect: dict[str, str], tmp_path: Path) -> None:
    proc = _cli("inspect", "--csv", str(make(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert dialect in proc.stdout
    assert _types_shown(proc.stdout, list(expect)) == expect
    assert "churn rate:" in proc.stdout and "leaks: none" in proc.stdout


def test_inspect_warns_of_a_leak_naming_the_column(tmp_path: Path) -> None:
    frame = telecom_usage_like(500, seed=6)
    frame["Retention score"] = np.where(frame["Churn"] == "True", "0.95", "0.05")
    proc = _cli("inspect", "--csv", str(write_csv(frame, tmp_path / "leaky.csv")),
                "--target", "Churn", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: column 'Retention score' alone separates churners" in proc.stdout
    assert "leaks: 1" in proc.stdout


def _bad_files(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    good = bank_like(200, seed=7)
    (tmp / "empty.csv").write_text("")
    one_class = write_csv(good.assign(Exited="0"), tmp / "one_class.csv")
    three = write_csv(good.assign(Exited=np.resize(["0", "1", "2"], 200)), tmp / "three.csv")
    ragged = tmp / "ragged.csv"
    ragged.write_text("a;b;Exited\n1;2\n1,2,3,4\n")
    latin = tmp / "latin.csv"
    latin.write_bytes("Stadt,Exited\nK\xf6ln,1\nBonn,0\n".encode("latin-1"))
    return {
        "empty": (tmp / "empty.csv", ["empty.csv: the file is empty", "header line"]),
        "one class": (one_class, ["one_class.csv", "'Exited' has one class only {'0': 200}",
                                  "check that data.target names the churn column"]),
        "three labels": (three, ["three.csv", "has 3 labels", "data.negative=LABEL"]),
        "separator": (ragged, ["ragged.csv", "cannot tell the separator", "set data.sep"]),
        "encoding": (latin, ["latin.csv: not UTF-8: byte 0xf6 on line 2", "data.encoding"]),
    }


@pytest.mark.parametrize("kind", ["empty", "one class", "three labels", "separator", "encoding"])
def test_bad_files_end_inspect_with_one_paragraph(kind: str, tmp_path: Path) -> None:
    path, needles = _bad_files(tmp_path)[kind]
    _assert_clean_error(_cli("inspect", "--csv", str(path), "--target", "Exited",
                             cwd=tmp_path), *needles)


def test_simulate_bad_input_is_one_paragraph_and_debug_shows_traceback(
        tmp_path: Path, telco_csv: Path) -> None:
    renamed = tmp_path / "telco_renamed.csv"
    frame = pd.read_csv(telco_csv, dtype=str, keep_default_na=False).head(300)
    write_csv(frame.rename(columns={"tenure": "Tenure months"}), renamed)
    args = ["data=telco", f"data.path={renamed}", *FAST_RUN, f"hydra.run.dir={tmp_path / 'r'}"]
    _assert_clean_error(_cli("simulate", *args, cwd=tmp_path),
                        "telco_renamed.csv: missing columns ['tenure']",
                        "did you mean 'Tenure months'?", "rename the header")
    one_class = write_csv(bank_like(200).assign(Exited="0"), tmp_path / "stayers.csv")
    _assert_clean_error(_cli("simulate", "data=csv", f"data.path={one_class}",
                             "data.target=Exited", *args[2:], cwd=tmp_path),
                        "stayers.csv", "one class only")
    _assert_clean_error(_cli("simulate", "data=csv", f"data.path={one_class}",
                             "data.target=Churn", *args[2:], cwd=tmp_path),
                        "no target column 'Churn' (data.target)", "its columns are")
    traced = _cli("simulate", *args, "--debug", cwd=tmp_path)
    assert traced.returncode != 0 and "Traceback" in traced.stderr
    assert "DataError" in traced.stderr
    full = _cli("simulate", *args, cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert full.returncode != 0 and "Traceback" in full.stderr
