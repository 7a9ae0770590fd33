"""The server's one decision for all sites: column types and target labels from site evidence.

Sites send `churn.column_evidence.site_evidence`; `decide_schema` merges it and gives every
column a type (numeric, categorical, boolean, identifier, constant) and a decision (used as
a numeric or one-hot feature, or dropped). Explicit `data.categorical` / `data.numeric` /
`data.id_columns` win over the evidence. Pure functions: the simulation driver, the Flower
ServerApp and `fedchurn inspect` all call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from churn.column_evidence import DISTINCT_CAP, MAX_LEVELS
from churn.errors import DataError, did_you_mean
from churn.schema import DatasetSchema

LEAK_SEPARATION = 0.99  # one column alone ranks a site's classes this well: likely a leak
_MAX_CODE_LEVELS = 10  # integer columns with this few values and gaps are codes (area codes)
_MIN_ROWS_FOR_ID = 50
_PAIRS = (("yes", "no"), ("true", "false"), ("1", "0"), ("1.0", "0.0"), ("y", "n"), ("t", "f"),
          ("churned", "stayed"), ("churn", "no churn"), ("left", "stayed"), ("exited", "retained"))
_POSITIVE = tuple(p for p, _ in _PAIRS)
_NEGATIVE = tuple(n for _, n in _PAIRS)


@dataclass(frozen=True)
class ColumnDecision:
    """One row of the printed schema table."""

    column: str
    type: str  # numeric | categorical | boolean | identifier | constant | target
    evidence: str
    decision: str


@dataclass
class SchemaDecision:
    """The schema every site uses, why, and the leak warnings."""

    schema: DatasetSchema
    columns: list[ColumnDecision]
    leaks: list[str] = field(default_factory=list)
    sites: int = 1


def is_set(value: Any) -> bool:
    """Whether a config value was given (Hydra's "???" and null mean not given)."""
    return value is not None and str(value) != "???"


def decide_schema(evidences: Sequence[Mapping[str, Any]], data_cfg: Mapping[str, Any],
                  source: str = "the sites' data") -> SchemaDecision:
    """Merge the sites' evidence and decide the schema (DataError on unusable data)."""
    if not evidences:
        raise DataError(f"{source}: no site reported evidence; schema inference needs one")
    target = str(data_cfg["target"])
    columns = list(evidences[0]["columns"])
    for site, evidence in enumerate(evidences[1:], start=1):
        if set(evidence["columns"]) != set(columns):
            lacks = sorted(set(columns) ^ set(evidence["columns"]))
            raise DataError(f"{source}: site {site} and site 0 disagree on columns {lacks}; "
                            "every site's file needs the same header")
    labels: dict[str, int] = {}
    for evidence in evidences:
        for label, count in evidence["target"].items():
            labels[label] = labels.get(label, 0) + int(count)
    positive, negative = recognise_target(labels, data_cfg, source)
    explicit = {str(c): kind for key, kind in (("categorical", "categorical"), ("numeric", "numeric"),
                                               ("id_columns", "identifier"))
                for c in (data_cfg.get(key) or ())}
    unknown = [c for c in explicit if c not in columns]
    if unknown:
        raise DataError(f"{source}: data.categorical / data.numeric / data.id_columns name "
                        f"{unknown}, which the file lacks{did_you_mean(unknown[0], columns)}")
    rows = [ColumnDecision(target, "target", _label_text(labels), f"target, churn = {positive!r}")]
    roles: dict[str, list[str]] = {"categorical": [], "numeric": [], "id": [], "dropped": []}
    for column in columns:
        merged = [e["columns"][column] for e in evidences]
        kind, role, text = _infer_column(merged)
        if column in explicit:
            kind = explicit[column]
            role = {"identifier": "id"}.get(kind, kind)
            text += f"; set by data.{_CONFIG_KEYS[kind]}"
        roles[role].append(column)
        rows.append(ColumnDecision(column, kind, text, _DECISIONS[role]))
    leaks = _leaks(evidences, roles["categorical"] + roles["numeric"], source)
    schema = DatasetSchema(
        name=str(data_cfg.get("name", "csv")), target=target, positive=positive, negative=negative,
        categorical=tuple(roles["categorical"]), numeric=tuple(roles["numeric"]),
        id_columns=tuple(roles["id"]), dropped=tuple(roles["dropped"]),
        categories={str(k): tuple(str(x) for x in v)
                    for k, v in (data_cfg.get("categories") or {}).items()},
        blank_fill={str(k): float(v) for k, v in (data_cfg.get("blank_fill") or {}).items()},
    )
    return SchemaDecision(schema, rows, leaks, len(evidences))


_CONFIG_KEYS = {"categorical": "categorical", "numeric": "numeric", "identifier": "id_columns"}
_DECISIONS = {"categorical": "feature, one-hot", "numeric": "feature, standardised",
              "id": "dropped (identifier)", "dropped": "dropped (no information)"}


def recognise_target(labels: Mapping[str, int], data_cfg: Mapping[str, Any],
                     source: str) -> tuple[str, str | None]:
    """(positive, negative) labels of the target; DataError listing labels when unclear."""
    target = data_cfg["target"]
    shown = _label_text(labels)
    positive = str(data_cfg["positive"]) if is_set(data_cfg.get("positive")) else None
    negative = str(data_cfg["negative"]) if is_set(data_cfg.get("negative")) else None
    if not labels:
        raise DataError(f"{source}: target column {target!r} is blank on every row")
    if len(labels) > 2 and negative is None:
        raise DataError(f"{source}: target column {target!r} has {len(labels)} labels "
                        f"({shown}); a churn target needs two: merge them into two labels, or "
                        "name both with data.positive=LABEL data.negative=LABEL")
    if positive is None and len(labels) == 1:  # one class: name the missing one in the error
        (only,) = labels
        pairs = {n: p for p, n in _PAIRS} | {p: p for p, _ in _PAIRS}
        if only.lower() in pairs:
            positive = _same_case(pairs[only.lower()], only)
    if positive is None:
        lowered = {label.lower(): label for label in labels}
        found = [lowered[p] for p in _POSITIVE if p in lowered]
        others = [label for label in labels if label not in found]
        if len(found) != 1 or any(label.lower() not in _NEGATIVE for label in others):
            raise DataError(f"{source}: cannot tell which label of target column {target!r} "
                            f"means churn ({shown}); set data.positive=LABEL")
        positive = found[0]
    elif positive not in labels and len(labels) > 1:
        raise DataError(f"{source}: data.positive={positive!r} is not a label of target column "
                        f"{target!r} ({shown}); use one of {sorted(labels)}")
    if negative is None:
        rest = [label for label in labels if label != positive]
        negative = rest[0] if rest else None
    return positive, negative


def _infer_column(parts: Sequence[Mapping[str, Any]]) -> tuple[str, str, str]:
    """(type, role, evidence text) of one column from every site's evidence."""
    rows = sum(p["rows"] for p in parts)
    blank = sum(p["blank"] for p in parts)
    present = rows - blank
    numeric = sum(p["numeric"] for p in parts)
    levels = max(p["distinct"] for p in parts)  # a lower bound of the global count
    blanks = f"{blank} blank" if blank else "no blanks"
    if present == 0:
        return "constant", "dropped", "every cell blank"
    if numeric == present:
        low = min(p["min"] for p in parts if p["min"] is not None)
        high = max(p["max"] for p in parts if p["max"] is not None)
        integers = sum(p["integer"] for p in parts) == present
        span = f"{'integers' if integers else 'numbers'} {low:.10g}..{high:.10g}, {blanks}"
        if low == high:
            return "constant", "dropped", f"one value ({low:g}), {blanks}"
        if levels == 2 and {low, high} <= {0.0, 1.0}:
            return "boolean", "numeric", f"0/1, {blanks}"
        unique = all(p["unique_per_row"] for p in parts) and present >= _MIN_ROWS_FOR_ID
        if integers and unique:
            return "identifier", "id", f"unique per row ({present} rows), {span}"
        if integers and 3 <= levels <= _MAX_CODE_LEVELS and high - low + 1 > 2 * levels:
            return "categorical", "categorical", f"integer codes, {levels} values ({span})"
        at_least = "+" if levels >= DISTINCT_CAP or len(parts) > 1 else ""  # max over sites
        return "numeric", "numeric", f"{span}, {levels}{at_least} values"
    lists = [p["categories"] for p in parts]
    names = sorted(set().union(*lists)) if all(v is not None for v in lists) else None
    count = len(names) if names is not None else levels
    share = f"{100 * numeric / present:.0f}% numbers" if numeric else "text"
    if count == 1:
        return "constant", "dropped", f"one value ({names[0]!r}), {blanks}" if names else "one value"
    if all(p["unique_per_row"] for p in parts) and present >= _MIN_ROWS_FOR_ID:
        return "identifier", "id", f"{share}, unique per row ({present} rows)"
    if count > max(10, present // 2):
        return "identifier", "id", f"{share}, {count} values in {present} rows (names, free text)"
    if names is not None and count <= MAX_LEVELS:
        shown = ", ".join(names[:4]) + (", ..." if count > 4 else "")
        kind = "boolean" if count == 2 else "categorical"
        return kind, "categorical", f"{share}, {count} values ({shown}), {blanks}"
    return "identifier", "id", f"{share}, {count}+ values (high-cardinality text)"


def _leaks(evidences: Sequence[Mapping[str, Any]], features: list[str], source: str) -> list[str]:
    warnings = []
    for column in features:
        worst = [(e["columns"][column]["separation"] or 0.0, site)
                 for site, e in enumerate(evidences)]
        separation, site = max(worst)
        if separation >= LEAK_SEPARATION:
            warnings.append(
                f"column {column!r} alone separates churners from the others almost perfectly "
                f"on site {site} of {source} (in-sample AUC {separation:.3f}): it may be "
                f"derived from the target (a leak); if so list it in data.id_columns to drop it")
    return warnings


def _same_case(word: str, like: str) -> str:
    return word.upper() if like.isupper() else word.capitalize() if like[:1].isupper() else word


def _label_text(labels: Mapping[str, int]) -> str:
    return ", ".join(f"{label!r}: {n}" for label, n in sorted(labels.items(), key=lambda x: -x[1]))


def format_schema_table(decision: SchemaDecision) -> str:
    """The inferred schema as a plain-text table (column, type, evidence, decision)."""
    header = ("column", "type", "evidence", "decision")
    cells = [header] + [(c.column, c.type, c.evidence, c.decision) for c in decision.columns]
    widths = [min(max(len(row[i]) for row in cells), 72) for i in range(3)]
    lines = [f"schema inferred from {decision.sites} site(s):"]
    for row in cells:
        lines.append("  ".join(row[i][:72].ljust(widths[i]) for i in range(3)) + "  " + row[3])
    lines += [f"WARNING: {leak}" for leak in decision.leaks]
    return "\n".join(lines)
