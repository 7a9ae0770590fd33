"""Check a churn CSV before any training: `fedchurn inspect --csv FILE [--target COLUMN]`.

Prints how the file was read (dialect), the schema the federation would infer from this
file as one site (the same `churn.schema_inference` code), per-column checks (blanks, cells
that are not numbers in numeric columns), the churn rate and leak warnings. Bad input ends
with one paragraph and exit code 2. `--write-schema PATH` saves the decision for
`data.schema=PATH`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from churn.datasets import infer_schema_over, read_csv_table
from churn.dialect import NA_TOKENS, read_table
from churn.errors import DataError
from churn.loading import validate_frame
from churn.schema_file import write_schema_file
from churn.schema_inference import format_schema_table
from fedchurn.user_errors import run_reporting_bad_input

_TARGET_HINTS = ("churn", "exited", "attrition", "left", "target", "label")


def inspect_csv(path: Path, target: str | None = None, positive: str | None = None,
                sep: str | None = None, decimal: str | None = None, encoding: str | None = None,
                write_schema: Path | None = None) -> str:
    """The inspection report of `path` (DataError when the file cannot be used)."""
    data_cfg = {"name": "csv", "path": str(path), "target": target or _guess_target(path, sep),
                "positive": positive, "sep": sep, "decimal": decimal, "encoding": encoding}
    table = read_csv_table(data_cfg)
    decision = infer_schema_over([table.frame], data_cfg, table.source)
    data = validate_frame(table.frame, decision.schema, table.source, table.fingerprint)
    schema = decision.schema
    lines = [f"file {table.source}: {len(table.frame)} rows, {len(table.frame.columns)} columns; "
             f"read with {table.dialect.describe()}",
             format_schema_table(decision), "", "checks:"]
    counts = table.frame[list(schema.feature_columns)].isin(NA_TOKENS).sum()
    blanks = {str(c): int(n) for c, n in counts.items() if n}
    lines.append(f"  blanks: {blanks if blanks else 'none'}"
                 + (" (numeric blanks are imputed, text blanks become '(missing)')" if blanks else ""))
    churners = int(data.target.sum())
    lines.append(f"  churn rate: {100 * churners / len(data):.1f}% ({churners} of {len(data)} rows "
                 f"are {schema.positive!r})")
    lines.append(f"  features: {len(schema.categorical)} one-hot, {len(schema.numeric)} numeric; "
                 f"dropped: {list(schema.id_columns + schema.dropped) or 'none'}")
    lines.append(f"  leaks: {len(decision.leaks) or 'none'}")
    if write_schema is not None:
        lines.append(f"schema -> {write_schema_file(write_schema, decision, table.dialect)}")
    lines.append(f"train with: data=csv data.path={path} data.target={schema.target}"
                 + (f" data.positive={positive}" if positive else ""))
    return "\n".join(lines)


def _guess_target(path: Path, sep: str | None) -> str:
    columns = list(read_table(path, sep=sep).frame.columns)
    hinted = [c for c in columns if any(h in c.lower() for h in _TARGET_HINTS)]
    if len(hinted) == 1:
        return hinted[0]
    raise DataError(f"{path}: which column is the churn label? "
                    f"{'several look like one: ' + str(hinted) if hinted else 'none is named like churn'}"
                    f"; name it with --target COLUMN (columns: {columns})")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="fedchurn inspect", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", required=True, type=Path, help="the churn CSV to check")
    parser.add_argument("--target", help="the churn column (guessed from its name if omitted)")
    parser.add_argument("--positive", help="the target label that means churn")
    parser.add_argument("--sep", help="column separator (detected if omitted)")
    parser.add_argument("--decimal", help="decimal mark (detected if omitted)")
    parser.add_argument("--encoding", help="file encoding (UTF-8 with or without BOM if omitted)")
    parser.add_argument("--write-schema", type=Path, help="save the schema for data.schema=PATH")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of bad input")
    args = parser.parse_args(argv)
    report = run_reporting_bad_input(
        lambda: inspect_csv(args.csv, args.target, args.positive, args.sep, args.decimal,
                            args.encoding, args.write_schema), argv)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
