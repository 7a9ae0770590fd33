"""Load and validate a churn CSV against its schema, with errors that name file, column and rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from churn.schema import DatasetSchema

MISSING_CATEGORY = "(missing)"
_MAX_ROWS_SHOWN = 10


class DataError(ValueError):
    """A churn table that cannot be used as given; the message says where and why."""


@dataclass
class ChurnData:
    """Validated features (raw columns), 0/1 target and where they came from."""

    features: pd.DataFrame
    target: np.ndarray
    schema: DatasetSchema
    source: str
    fingerprint: str

    def __len__(self) -> int:
        return len(self.target)

    def subset(self, rows: np.ndarray) -> ChurnData:
        """The same data restricted to `rows` (positional indices)."""
        return ChurnData(
            features=self.features.iloc[rows].reset_index(drop=True),
            target=self.target[rows],
            schema=self.schema,
            source=self.source,
            fingerprint=self.fingerprint,
        )


def load_csv(path: str | Path, schema: DatasetSchema, allow_extra_columns: bool = False) -> ChurnData:
    """Read `path` and validate it against `schema`; raise DataError naming the problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw_bytes = path.read_bytes()
    if not raw_bytes.strip():
        raise DataError(f"{path}: the file is empty")
    frame = read_table(path)
    if frame.empty:
        raise DataError(f"{path}: has a header but no data rows")
    fingerprint = hashlib.sha256(raw_bytes).hexdigest()
    return validate_frame(frame, schema, str(path), fingerprint, allow_extra_columns)


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV's cells as the text written there: no type guessing, and "NA" or a blank stays a
    string, so the schema (not pandas) decides what is missing. DataError when it cannot parse."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV ({err})") from err


def validate_frame(
    frame: pd.DataFrame,
    schema: DatasetSchema,
    source: str,
    fingerprint: str,
    allow_extra_columns: bool = False,
) -> ChurnData:
    """Validate a string-typed frame (as read from CSV) and convert it to ChurnData."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in schema.required_columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing columns {missing} (schema {schema.name!r})")
    extra = [c for c in frame.columns if c not in schema.required_columns]
    if extra and not allow_extra_columns:
        raise DataError(
            f"{source}: unexpected columns {extra}; list them in data.id_columns to drop them "
            "or in data.categorical / data.numeric to use them"
        )
    target = _target_to_binary(frame[schema.target].astype(str).str.strip(), schema, source)
    features = clean_features(frame, schema, source)
    return ChurnData(features.reset_index(drop=True), target, schema, source, fingerprint)


def clean_features(frame: pd.DataFrame, schema: DatasetSchema, source: str = "input") -> pd.DataFrame:
    """The schema's feature columns of `frame` (raw CSV strings or typed), cleaned for the model.

    Categorical blanks become MISSING_CATEGORY; numeric text is parsed (bad text is an error
    naming the lines), and blanks the schema gives a meaning to (`blank_fill`) are filled.
    """
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in schema.feature_columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing columns {missing} (schema {schema.name!r} needs "
                        f"{list(schema.feature_columns)})")
    features = pd.DataFrame(index=frame.index)
    for column in schema.categorical:
        values = frame[column].astype(str).str.strip()
        features[column] = values.mask(values == "", MISSING_CATEGORY)
    for column in schema.numeric:
        features[column] = _numeric_column(frame[column], column, schema, source)
    return features


def _numeric_column(values: pd.Series, column: str, schema: DatasetSchema, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
        if column in schema.blank_fill:
            numbers = numbers.fillna(schema.blank_fill[column])
        return numbers
    text = values.astype(str).str.strip()
    blank = text == ""
    numbers = pd.to_numeric(text.mask(blank, None), errors="coerce")
    bad = numbers.isna() & ~blank
    if bad.any():
        lines = (np.flatnonzero(bad.to_numpy()) + 2).tolist()  # +1 header, +1 one-based
        examples = text[bad].head(3).tolist()
        raise DataError(
            f"{source}: column {column!r} must be numeric but has text {examples} on "
            f"line(s) {_shorten(lines)} ({len(lines)} row(s))"
        )
    if not np.isfinite(numbers.dropna().to_numpy(dtype=float)).all():
        raise DataError(f"{source}: column {column!r} holds infinite values")
    if column in schema.blank_fill:
        numbers = numbers.fillna(schema.blank_fill[column])
    return numbers.astype(float)


def _target_to_binary(labels: pd.Series, schema: DatasetSchema, source: str) -> np.ndarray:
    allowed = {schema.positive} | ({schema.negative} if schema.negative is not None else set())
    counts = labels.value_counts()
    if schema.negative is not None:
        unknown = {label: int(n) for label, n in counts.items() if label not in allowed}
        if unknown:
            raise DataError(
                f"{source}: target column {schema.target!r} has labels {unknown} besides the "
                f"configured positive={schema.positive!r} / negative={schema.negative!r}"
            )
    elif len(counts) > 2:
        raise DataError(
            f"{source}: target column {schema.target!r} has {len(counts)} labels "
            f"{dict(counts)}; a churn target needs two (set data.negative to name the other)"
        )
    if len(counts) < 2 or schema.positive not in counts:
        raise DataError(
            f"{source}: target column {schema.target!r} has one class only {dict(counts)}; "
            f"need both positive={schema.positive!r} and another label"
        )
    return (labels.to_numpy() == schema.positive).astype(np.int8)


def _shorten(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:_MAX_ROWS_SHOWN])
    return shown + (", ..." if len(lines) > _MAX_ROWS_SHOWN else "")
