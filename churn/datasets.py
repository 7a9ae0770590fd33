"""Pick the data source a config names: built-in synthetic, the Telco CSV, or any churn CSV."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from churn.column_evidence import site_evidence
from churn.dialect import RawTable, read_table
from churn.errors import DataError, did_you_mean
from churn.loading import ChurnData, load_csv, validate_frame
from churn.schema import TELCO_SCHEMA, DatasetSchema
from churn.schema_file import read_schema_file
from churn.schema_inference import SchemaDecision, decide_schema, is_set
from churn.synthetic import generate_synthetic_telco


def load_dataset(data_cfg: Mapping[str, Any]) -> ChurnData:
    """Load the data a `conf/data/*.yaml` node describes.

    data=csv reads the file's dialect and, unless `data.schema` pins one, infers the schema
    from this file alone (one site); a federation then agrees one over all sites
    (`infer_schema_over`) and re-applies it with `ChurnData.with_schema`.
    """
    name = data_cfg.get("name")
    if name == "synthetic":
        return generate_synthetic_telco(int(data_cfg.get("num_rows", 7000)),
                                         int(data_cfg.get("seed", 0)))
    path = data_cfg.get("path")
    if not is_set(path) or not path:
        raise DataError(f"data={name} needs a file: add data.path=FILE")
    if name == "telco":
        return load_csv(resolve_path(str(path)), TELCO_SCHEMA, **dialect_options(data_cfg))
    if name == "csv":
        table = read_csv_table(data_cfg)
        if is_set(data_cfg.get("schema")) and data_cfg.get("schema"):
            schema = read_schema_file(resolve_path(str(data_cfg["schema"])))
        else:
            schema = infer_schema_over([table.frame], data_cfg, table.source).schema
        return validate_frame(table.frame, schema, table.source, table.fingerprint,
                              allow_extra_columns=bool(data_cfg.get("allow_extra_columns", False)))
    raise DataError(f"unknown data source {name!r}; use synthetic, telco or csv")


def needs_inference(data_cfg: Mapping[str, Any]) -> bool:
    """Whether the schema comes from the sites' evidence (data=csv without data.schema)."""
    return data_cfg.get("name") == "csv" and not (is_set(data_cfg.get("schema"))
                                                  and data_cfg.get("schema"))


def read_csv_table(data_cfg: Mapping[str, Any]) -> RawTable:
    """The file of `data.path` as text cells, in its detected (or configured) dialect."""
    if not is_set(data_cfg.get("target")):
        raise DataError(f"data={data_cfg.get('name')} needs the churn column: add "
                        "data.target=COLUMN")
    table = read_table(resolve_path(str(data_cfg["path"])), **dialect_options(data_cfg))
    target = str(data_cfg["target"])
    if target not in table.frame.columns:
        raise DataError(f"{table.source}: no target column {target!r} (data.target)"
                        f"{did_you_mean(target, list(table.frame.columns))}; read with "
                        f"{table.dialect.describe()}")
    return table


def infer_schema_over(frames: list[pd.DataFrame], data_cfg: Mapping[str, Any], source: str) -> SchemaDecision:
    """The schema decision over sites' raw frames, each reduced to its evidence first."""
    target = str(data_cfg["target"])
    return decide_schema([site_evidence(frame, target) for frame in frames], data_cfg, source)


def dialect_options(data_cfg: Mapping[str, Any]) -> dict[str, str | None]:
    """data.sep / data.decimal / data.encoding, None where not set (then detected)."""
    return {key: str(data_cfg[key]) if is_set(data_cfg.get(key)) and data_cfg.get(key) else None
            for key in ("sep", "decimal", "encoding")}


def dataset_schema(data_cfg: Mapping[str, Any]) -> DatasetSchema | None:
    """The schema a `conf/data/*.yaml` node pins without reading any rows (a server with no
    test set of its own still needs the column roles to agree the feature spec): Telco's, or
    `data.schema`'s file; None when the sites' evidence decides it (data=csv, no data.schema)."""
    name = data_cfg.get("name")
    if name in ("synthetic", "telco"):
        return TELCO_SCHEMA
    if name == "csv":
        if needs_inference(data_cfg):
            return None
        return read_schema_file(resolve_path(str(data_cfg["schema"])))
    raise DataError(f"unknown data source {name!r}; use synthetic, telco or csv")


def resolve_path(path: str) -> Path:
    """Relative paths are taken from where the user launched the command (Hydra keeps cwd)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    try:
        from hydra.utils import get_original_cwd

        return Path(get_original_cwd()) / candidate
    except (ImportError, ValueError):
        return candidate.resolve()
