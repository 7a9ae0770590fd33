"""Pick the data source a config names: built-in synthetic, the Telco CSV, or any churn CSV."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from churn.loading import ChurnData, DataError, load_csv
from churn.schema import TELCO_SCHEMA, DatasetSchema, schema_from_config
from churn.synthetic import generate_synthetic_telco


def load_dataset(data_cfg: Mapping[str, Any]) -> ChurnData:
    """Load the data a `conf/data/*.yaml` node describes."""
    name = data_cfg.get("name")
    if name == "synthetic":
        return generate_synthetic_telco(int(data_cfg.get("num_rows", 7000)),
                                         int(data_cfg.get("seed", 0)))
    path = data_cfg.get("path")
    if not path or path == "???":
        raise DataError(f"data={name} needs a file: add data.path=FILE")
    path = _resolve(str(path))
    if name == "telco":
        return load_csv(path, TELCO_SCHEMA)
    if name == "csv":
        return load_csv(path, schema_from_config(data_cfg),
                        allow_extra_columns=bool(data_cfg.get("allow_extra_columns", False)))
    raise DataError(f"unknown data source {name!r}; use synthetic, telco or csv")


def dataset_schema(data_cfg: Mapping[str, Any]) -> DatasetSchema:
    """The schema a `conf/data/*.yaml` node implies, without reading any rows (a server with
    no test set of its own still needs the column roles to agree the feature spec)."""
    name = data_cfg.get("name")
    if name in ("synthetic", "telco"):
        return TELCO_SCHEMA
    if name == "csv":
        return schema_from_config(data_cfg)
    raise DataError(f"unknown data source {name!r}; use synthetic, telco or csv")


def _resolve(path: str) -> Path:
    """Relative paths are taken from where the user launched the command (Hydra keeps cwd)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    try:
        from hydra.utils import get_original_cwd

        return Path(get_original_cwd()) / candidate
    except (ImportError, ValueError):
        return candidate.resolve()
