"""Score new customers from a raw CSV with a saved global model.

  fedchurn score --model RUN_DIR/model.json --csv customers.csv [--out scores.csv]

The model file is verified (its sha256) and rebuilt; a pickle (an old model.joblib) is read
only with --trust-pickle, because unpickling runs any code its author put in it.
The CSV needs the model's feature columns as in the training data (extra columns, such as the
churn label, are ignored); id columns of the schema (e.g. customerID) are passed through.
Writes one row per customer: ids, `churn_probability`, `churn_predicted` (probability >= 0.5).
Id cells that a spreadsheet would run as a formula (starting with = + - @ tab or CR) get a
leading single quote (OWASP's CSV-injection rule).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import pandas as pd

from churn.dialect import read_table
from churn.errors import did_you_mean
from churn.model_artifact import MissingColumnsError, ModelArtifactError, load_model
from fedchurn.user_errors import EXIT_BAD_INPUT, error_paragraph, wants_traceback

# pandas' default to_csv leaves a cell holding "\r" unquoted (measured: b'a\n\rCR\n'), which
# splits the row; quoting every text cell keeps such ids in one cell.
QUOTING = csv.QUOTE_NONNUMERIC
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would evaluate (=, +, -, @, tab, CR first) quoted with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def score_frame(model_path: Path, frame: pd.DataFrame, source: str = "input",
                trust_pickle: bool = False) -> pd.DataFrame:
    """Churn probabilities for the rows of `frame` (raw columns, as read from CSV); id cells
    made spreadsheet-safe."""
    pipeline = load_model(model_path, trust_pickle=trust_pickle)
    schema = pipeline.named_steps["features"].schema
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in schema.feature_columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{source}: missing columns {missing}{did_you_mean(missing[0], list(frame.columns))}"
            f"; the model needs {list(schema.feature_columns)}: give a CSV with the training "
            "file's header (extra columns are ignored)")
    probabilities = pipeline.predict_proba(frame)[:, 1]
    scores = frame[[c for c in schema.id_columns if c in frame.columns]].map(spreadsheet_safe)
    scores["churn_probability"] = probabilities
    scores["churn_predicted"] = (probabilities >= 0.5).astype(int)
    return scores


def score_csv(model_path: Path, csv_path: Path, out_path: Path | None = None,
              trust_pickle: bool = False) -> pd.DataFrame:
    """Read `csv_path` as text (like the training loader), score it, optionally write CSV."""
    frame = read_table(csv_path).frame  # any dialect the training loader reads
    scores = score_frame(model_path, frame, source=str(csv_path), trust_pickle=trust_pickle)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        scores.to_csv(out_path, index=False, quoting=QUOTING)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedchurn score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="model.json of a run")
    parser.add_argument("--csv", required=True, type=Path, help="raw customer rows")
    parser.add_argument("--out", type=Path, help="output CSV (default: standard output)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="also read a pickled model (runs any code in the file)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of bad input")
    args = parser.parse_args(argv)
    if args.trust_pickle:
        print("warning: --trust-pickle: a pickled model runs any code its author put in it",
              file=sys.stderr)
    try:
        scores = score_csv(args.model, args.csv, args.out, trust_pickle=args.trust_pickle)
    except (MissingColumnsError, ModelArtifactError, FileNotFoundError, ValueError) as ex:
        if wants_traceback(sys.argv if argv is None else argv):
            raise
        print(error_paragraph(ex), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.out is None:
        scores.to_csv(sys.stdout, index=False, quoting=QUOTING)
    else:
        print(f"scored {len(scores)} rows -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
