"""Score new customers from a raw CSV with a saved global model.

  fedchurn score --model RUN_DIR/model.joblib --csv customers.csv [--out scores.csv]

The CSV needs the model's feature columns as in the training data (extra columns, such as the
churn label, are ignored); id columns of the schema (e.g. customerID) are passed through.
Writes one row per customer: ids, `churn_probability`, `churn_predicted` (probability >= 0.5).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from churn.loading import read_table
from churn.model_artifact import MissingColumnsError, load_model


def score_frame(model_path: Path, frame: pd.DataFrame, source: str = "input") -> pd.DataFrame:
    """Churn probabilities for the rows of `frame` (raw columns, as read from CSV)."""
    pipeline = load_model(model_path)
    schema = pipeline.named_steps["features"].schema
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in schema.feature_columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(f"{source}: missing columns {missing}; the model needs "
                                  f"{list(schema.feature_columns)}")
    probabilities = pipeline.predict_proba(frame)[:, 1]
    scores = frame[[c for c in schema.id_columns if c in frame.columns]].copy()
    scores["churn_probability"] = probabilities
    scores["churn_predicted"] = (probabilities >= 0.5).astype(int)
    return scores


def score_csv(model_path: Path, csv_path: Path, out_path: Path | None = None) -> pd.DataFrame:
    """Read `csv_path` as text (like the training loader), score it, optionally write CSV."""
    if not Path(csv_path).is_file():
        raise FileNotFoundError(f"{csv_path}: no such file")
    frame = read_table(csv_path)
    scores = score_frame(model_path, frame, source=str(csv_path))
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        scores.to_csv(out_path, index=False)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedchurn score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="model.joblib of a run")
    parser.add_argument("--csv", required=True, type=Path, help="raw customer rows")
    parser.add_argument("--out", type=Path, help="output CSV (default: standard output)")
    args = parser.parse_args(argv)
    try:
        scores = score_csv(args.model, args.csv, args.out)
    except (MissingColumnsError, FileNotFoundError, ValueError) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 2
    if args.out is None:
        scores.to_csv(sys.stdout, index=False)
    else:
        print(f"scored {len(scores)} rows -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
