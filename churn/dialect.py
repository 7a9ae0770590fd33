"""Read a CSV of unknown dialect as text: encoding/BOM, line ends, separator, quoting, decimal commas."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from churn.errors import DataError

SEPARATORS = (",", ";", "\t", "|")
_SAMPLE_LINES = 200  # lines the separator must split consistently
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+$")
# Cells that mean "no value" in exported files; read as blanks everywhere.
NA_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?"})


@dataclass(frozen=True)
class Dialect:
    """How a file was read (detected or set with data.sep / data.decimal / data.encoding)."""

    sep: str
    decimal: str
    encoding: str
    line_end: str

    def describe(self) -> str:
        sep = {"\t": "tab"}.get(self.sep, repr(self.sep))
        return (f"separator {sep}, decimal {self.decimal!r}, encoding {self.encoding}, "
                f"line ends {self.line_end}")


@dataclass
class RawTable:
    """A CSV's cells as strings (as written; header names stripped), where it came from, how read."""

    frame: pd.DataFrame
    source: str
    fingerprint: str
    dialect: Dialect


def read_table(path: str | Path, sep: str | None = None, decimal: str | None = None,
               encoding: str | None = None) -> RawTable:
    """Read `path` as text cells, detecting what is not given; DataError says what it saw."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check data.path (relative paths start where "
                        "you ran the command)")
    raw_bytes = path.read_bytes()
    text, encoding = _decode(raw_bytes, path, encoding)
    line_end = "CRLF" if "\r\n" in text[:65536] else "LF"
    # pandas reads CRLF itself; the text goes to it unchanged (a lone CR inside a quoted cell
    # stays a CR), the lines below are only for detection
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        raise DataError(f"{path}: the file is empty (0 lines); give a CSV with a header line "
                        "and one row per customer")
    sep = sep or _detect_separator(lines, path)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            skip_blank_lines=True)
    except (pd.errors.ParserError, csv.Error) as err:
        raise DataError(f"{path}: not a readable CSV with separator {sep!r} ({err}); set "
                        "data.sep to the file's separator") from err
    frame = frame.rename(columns=lambda c: str(c).strip())  # cells stay as written (split-sites)
    if frame.empty:
        raise DataError(f"{path}: has a header line ({lines[0][:80]!r}) but no data rows")
    decimal = decimal or _detect_decimal(frame, sep)
    if decimal == ",":
        frame = frame.apply(_decimal_commas_to_points)
    dialect = Dialect(sep=sep, decimal=decimal, encoding=encoding, line_end=line_end)
    return RawTable(frame, str(path), hashlib.sha256(raw_bytes).hexdigest(), dialect)


def _decode(raw_bytes: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return raw_bytes.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as err:
            raise DataError(f"{path}: cannot be read as data.encoding={encoding} ({err})") from err
    if raw_bytes.startswith(b"\xef\xbb\xbf"):
        return raw_bytes[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return raw_bytes.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        line = raw_bytes[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}: not UTF-8: byte 0x{raw_bytes[err.start]:02x} on line {line}; set "
            "data.encoding to the file's encoding (e.g. data.encoding=latin-1 or cp1252)"
        ) from err


def _detect_separator(lines: list[str], path: Path) -> str:
    """The separator that splits the header into >1 fields and every sampled line alike."""
    sample = lines[:_SAMPLE_LINES]
    fits: list[tuple[int, str]] = []
    for sep in SEPARATORS:
        counts = [len(row) for row in csv.reader(sample, delimiter=sep)]
        if counts[0] > 1 and all(n == counts[0] for n in counts):
            fits.append((counts[0], sep))
    if fits:
        return max(fits)[1]
    if len(sample) == 1 and all(s not in sample[0] for s in SEPARATORS):
        raise DataError(f"{path}: one line with one column ({sample[0][:80]!r}); a churn CSV "
                        "needs a header line and data rows with several columns")
    header_fields = {sep: len(next(csv.reader([sample[0]], delimiter=sep))) for sep in SEPARATORS}
    likely = max(SEPARATORS, key=lambda sep: header_fields[sep])
    counts = [len(row) for row in csv.reader(sample, delimiter=likely)]
    odd = [(number, n) for number, n in enumerate(counts, start=1) if n != counts[0]]
    odd_text = ", ".join(f"line {number}: {n}" for number, n in odd[:5])
    name = "tab" if likely == "\t" else repr(likely)
    raise DataError(
        f"{path}: cannot tell the separator: no candidate splits the first {len(sample)} lines "
        f"into the same number of fields; with {name} the header ({sample[0][:80]!r}) has "
        f"{counts[0]} fields but {odd_text}{', ...' if len(odd) > 5 else ''} (non-empty lines "
        f"counted); fix those rows, or set data.sep if the separator is another one"
    )


def _detect_decimal(frame: pd.DataFrame, sep: str) -> str:
    """',' when some column holds only decimal-comma numbers and none uses decimal points."""
    if sep == ",":
        return "."  # a comma-separated file's unquoted cells cannot hold decimal commas
    commas = points = 0
    for column in frame.columns:
        cells = frame[column].str.strip()
        cells = cells[~cells.isin(NA_TOKENS)]
        commas += int(cells.str.match(_DECIMAL_COMMA).sum())
        points += int(cells.str.match(_DECIMAL_POINT).sum())
    return "," if commas > 0 and points == 0 else "."


def _decimal_commas_to_points(cells: pd.Series) -> pd.Series:
    present = cells.str.strip()
    present = present[~present.isin(NA_TOKENS)]
    if len(present) and present.str.match(r"^[+-]?\d+(,\d+)?$").all():
        return cells.str.replace(",", ".", regex=False)
    return cells
