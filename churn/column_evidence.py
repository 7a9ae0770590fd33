"""What one site reports about its raw columns for schema inference: counts and flags, no rows.

Per column: rows, blanks, cells parsing as numbers / as integers, numeric min and max (the
summary query shares them anyway), distinct values capped at DISTINCT_CAP, whether every
value is unique per row, the value names only for text columns with at most MAX_LEVELS
values, and `separation`: how well the column alone ranks the site's two classes (the
in-sample ROC-AUC folded to >= 0.5, on numbers or on each level's churn rate), for the
server's leak warning. For the target: its label counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churn.dialect import NA_TOKENS
from churn.metrics import rank_auc

DISTINCT_CAP = 1000
# Text columns with more values are not one-hot encoded: 60 keeps US states (51) as a
# category and drops names and free text.
MAX_LEVELS = 60
_MIN_ROWS_FOR_LEAK = 20  # separation on fewer rows says little


def site_evidence(frame: pd.DataFrame, target: str) -> dict[str, Any]:
    """Evidence of one site's raw (string) rows; safe to send: it holds no row."""
    if target not in frame.columns:
        raise KeyError(target)
    labels = frame[target].astype(str).str.strip()
    counts = labels[~labels.isin(NA_TOKENS)].value_counts()
    binary = None
    if len(counts) == 2:
        binary = (labels == str(counts.index[0])).to_numpy()
    columns = {str(c): column_evidence(frame[c], binary) for c in frame.columns if c != target}
    return {"rows": int(len(frame)), "target": {str(k): int(v) for k, v in counts.items()},
            "columns": columns}


def column_evidence(cells: pd.Series, binary: np.ndarray | None) -> dict[str, Any]:
    """The evidence of one raw column (see the module docstring)."""
    text = cells.astype(str).str.strip()
    blank = text.isin(NA_TOKENS)
    present = text[~blank]
    numbers = pd.to_numeric(present, errors="coerce")
    is_number = numbers.notna() & np.isfinite(numbers.fillna(0.0))
    values = numbers[is_number]
    distinct = int(present.nunique())
    evidence: dict[str, Any] = {
        "rows": int(len(text)),
        "blank": int(blank.sum()),
        "numeric": int(is_number.sum()),
        "integer": int((values == np.round(values)).sum()),
        "min": float(values.min()) if len(values) else None,
        "max": float(values.max()) if len(values) else None,
        "distinct": min(distinct, DISTINCT_CAP),
        "unique_per_row": bool(len(present) > 1 and distinct == len(present)),
        "categories": None,
        "separation": None,
    }
    all_numbers = len(present) > 0 and bool(is_number.all())
    if not all_numbers and distinct <= MAX_LEVELS:
        evidence["categories"] = sorted(present.unique().tolist())
    if binary is not None and len(text) >= _MIN_ROWS_FOR_LEAK and distinct > 1:
        evidence["separation"] = _separation(present, numbers, all_numbers, binary[~blank.to_numpy()],
                                             distinct)
    return evidence


def _separation(present: pd.Series, numbers: pd.Series, all_numbers: bool, labels: np.ndarray,
                distinct: int) -> float | None:
    if labels.all() or not labels.any():
        return None
    if all_numbers:
        scores = numbers.to_numpy(dtype=float)
    elif distinct <= MAX_LEVELS:  # each level scored by its churn rate on this site
        rates = pd.Series(labels, index=present.index).groupby(present).mean()
        scores = present.map(rates).to_numpy(dtype=float)
    else:
        return None  # names and ids separate any sample in-sample; not a leak signal
    auc = rank_auc(labels.astype(int), scores)
    return float(max(auc, 1.0 - auc))
