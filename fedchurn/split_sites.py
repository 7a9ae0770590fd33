"""Split a churn CSV into one file per site plus the server's held-out test.csv (deployment data).

    fedchurn split-sites --csv ../shared/data/telco_customer_churn.csv \
        --out deploy/data --sites 3 partition=dirichlet partition.alpha=0.5

Positional arguments are Hydra overrides of `conf/config.yaml` (partition, seed, test_size,
data=csv data.target=... for a non-Telco CSV). Without `--csv` the configured data source is
written out (e.g. the built-in synthetic customers). The split is the one the simulation
uses: `stratified_split` holds out `test.csv` (the ServerApp's evaluation set), then
`partition_rows` deals the training rows to `site-<i>.csv`. Site files keep the CSV's
original rows and header; `manifest.json` records sizes, churn rates and the data config
a SuperNode needs to read its file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn.datasets import load_dataset
from churn.dialect import read_table
from churn.loading import ChurnData
from churn.partitioning import describe_partitions, format_partition_report, partition_rows
from churn.schema import DatasetSchema
from churn.split import stratified_split
from fedchurn.config import absolute_path, compose_config
from fedchurn.user_errors import run_reporting_bad_input

ROW = "__row__"


def split_overrides(overrides: Sequence[str], csv: str | None, sites: int) -> list[str]:
    """`overrides` plus `num_clients=sites` and, with `csv`, that file as the data source."""
    out = list(overrides)
    if csv is not None:
        if not any(o.split("=", 1)[0] == "data" for o in out):
            out.append("data=telco")
        out.append(f"data.path={absolute_path(csv)}")
    return [*out, f"num_clients={sites}"]


def raw_table(data_cfg: dict[str, Any]) -> tuple[pd.DataFrame, ChurnData, dict[str, Any]]:
    """(raw string rows, validated data, data config that reads the written files)."""
    data = load_dataset(data_cfg)
    if data_cfg.get("name") == "synthetic":
        raw = _frame_from(data)
        site_cfg: dict[str, Any] = {"name": "telco"}
    else:  # the cells as read (any dialect); written back as plain UTF-8 CSV with '.' decimals
        raw = data.raw if data.raw is not None else read_table(data.source).frame
        site_cfg = {k: v for k, v in data_cfg.items()
                    if k not in ("path", "test_path", "sep", "decimal", "encoding")}
    return raw, data, site_cfg


def _frame_from(data: ChurnData) -> pd.DataFrame:
    """A CSV-shaped table of generated data (string cells, schema column order)."""
    schema: DatasetSchema = data.schema
    frame = data.features.astype(str).copy()
    for column in schema.id_columns:
        frame[column] = [f"GEN-{i:06d}" for i in range(len(data))]
    negative = schema.negative if schema.negative is not None else "No"
    frame[schema.target] = np.where(data.target == 1, schema.positive, negative)
    return frame[list(schema.required_columns)]


def split_sites(cfg: dict[str, Any], out: Path) -> dict[str, Any]:
    """Write site-<i>.csv, test.csv and manifest.json into `out`; return the manifest."""
    raw, data, site_cfg = raw_table(cfg["data"])
    indexed = ChurnData(data.features.assign(**{ROW: np.arange(len(data))}), data.target,
                        data.schema, data.source, data.fingerprint)
    train, test = stratified_split(indexed, float(cfg["test_size"]), int(cfg["seed"]))
    parts = partition_rows(train, cfg["partition"], int(cfg["num_clients"]), int(cfg["seed"]))
    report = describe_partitions(parts, train.target)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for site, rows in enumerate(parts):
        files[f"site-{site}"] = _write(raw, train.features[ROW].to_numpy()[rows],
                                       out / f"site-{site}.csv")
    files["test"] = _write(raw, test.features[ROW].to_numpy(), out / "test.csv")
    for name in ("test", *[f"site-{i}" for i in range(len(parts))]):
        _check_readable(out / f"{name}.csv", site_cfg)
    manifest = {
        "source": data.source, "source_fingerprint": data.fingerprint,
        "sites": len(parts), "partition": cfg["partition"], "seed": int(cfg["seed"]),
        "test_size": float(cfg["test_size"]), "data_config": site_cfg,
        "files": files, "partition_report": report,
        "test_rows": int(len(test)), "test_churn_rate": float(test.target.mean()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=float) + "\n")
    return manifest


def _write(raw: pd.DataFrame, rows: np.ndarray, path: Path) -> dict[str, Any]:
    raw.iloc[np.sort(rows)].to_csv(path, index=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": path.name, "rows": int(len(rows)), "sha256": digest}


def _check_readable(path: Path, site_cfg: dict[str, Any]) -> None:
    """The written file loads with the config the sites get (data=csv: inferring on it)."""
    load_dataset({**site_cfg, "path": str(path)})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fedchurn split-sites", description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="churn CSV to split (default: the configured data source)")
    parser.add_argument("--out", default="deploy/data", help="output folder (default deploy/data)")
    parser.add_argument("--sites", type=int, default=3, help="number of sites (default 3)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. partition=dirichlet")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of bad input")
    args = parser.parse_args(argv)
    cfg = compose_config(split_overrides(args.overrides, args.csv, args.sites))
    manifest = run_reporting_bad_input(lambda: split_sites(cfg, Path(args.out)),
                                       ["--debug"] if args.debug else [])
    print(f"{manifest['source']} -> {args.out}: {manifest['sites']} sites "
          f"({cfg['partition']['name']}), test.csv {manifest['test_rows']} rows")
    print(format_partition_report(manifest["partition_report"]))


if __name__ == "__main__":
    main()
