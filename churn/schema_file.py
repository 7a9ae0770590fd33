"""schema.yaml: the schema a run decided (and why), written to its run directory, read back by data.schema."""

from __future__ import annotations

from pathlib import Path

import yaml

from churn.dialect import Dialect
from churn.errors import DataError
from churn.schema import DatasetSchema, schema_from_config
from churn.schema_inference import SchemaDecision


def write_schema_file(path: Path, decision: SchemaDecision, dialect: Dialect | None = None) -> Path:
    """Write the schema (the part `data.schema` reads) with the decision table and leaks."""
    document = {
        "schema": decision.schema.to_dict(),
        "inferred_from_sites": decision.sites,
        "columns": [{"column": c.column, "type": c.type, "evidence": c.evidence,
                     "decision": c.decision} for c in decision.columns],
        "leak_warnings": list(decision.leaks),
    }
    if dialect is not None:
        document["dialect"] = {"sep": dialect.sep, "decimal": dialect.decimal,
                               "encoding": dialect.encoding}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


def read_schema_file(path: str | Path) -> DatasetSchema:
    """The schema in a schema.yaml written by a run (or by hand with the same keys)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; data.schema must name a schema.yaml a run wrote")
    try:
        document = yaml.safe_load(path.read_text())
        return schema_from_config(document["schema"])
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: not a schema file ({type(err).__name__}: {err}); data.schema "
                        "needs the `schema:` block a run writes to RUN_DIR/schema.yaml") from err
