"""Fill compose's data volumes once (the `site-data` service): the user's split, else synthetic.

    python -m deploy.site_data --source /in --sites 3 --volumes /volumes

If SOURCE holds a complete split (`site-<i>.csv` for every site, `test.csv`, `manifest.json`,
as `python -m fedchurn.split_sites` writes it), that split is used; if it holds none, the
built-in synthetic customers are split (`fedchurn.split_sites data=synthetic`). Site i's rows
go to VOLUMES/site-<i>/site.csv (the only file its ClientApp mounts), the test set and the
manifest to VOLUMES/server/ (the ServerApp and the submitter).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from deploy.procs import DeployError

SERVER_FILES = ("test.csv", "manifest.json")


def split_files(sites: int) -> list[str]:
    return [*(f"site-{i}.csv" for i in range(sites)), *SERVER_FILES]


def find_split(source: Path, sites: int) -> bool:
    """True for a complete split in `source`, False for none; a partial one is an error."""
    if not os.access(source, os.R_OK | os.X_OK):
        raise DeployError(f"{source} is not readable by uid {os.getuid()} (the image's user): "
                          f"make the split folder readable, e.g. chmod -R o+rX deploy/data")
    present = [name for name in split_files(sites) if (source / name).is_file()]
    if present and len(present) < len(split_files(sites)):
        missing = sorted(set(split_files(sites)) - set(present))
        raise DeployError(f"{source} holds part of a {sites}-site split: missing {', '.join(missing)}. "
                          f"Write it again with `fedchurn split-sites --out deploy/data "
                          f"--sites {sites}` (or empty the folder for synthetic data)")
    return bool(present)


def synthetic_split(out: Path, sites: int) -> None:
    done = subprocess.run([sys.executable, "-m", "fedchurn.split_sites", "--out", str(out),
                           "--sites", str(sites), "data=synthetic"], capture_output=True, text=True)
    if done.returncode != 0:
        raise DeployError(f"synthetic split failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def fill(source: Path, sites: int, volumes: Path) -> str:
    """Copy the split into the volumes; which split it was."""
    with tempfile.TemporaryDirectory() as tmp:
        if find_split(source, sites):
            origin, what = source, f"the split in {source}"
        else:
            origin, what = Path(tmp), "built-in synthetic customers"
            synthetic_split(origin, sites)
        for i in range(sites):
            shutil.copyfile(origin / f"site-{i}.csv", volumes / f"site-{i}" / "site.csv")
        for name in SERVER_FILES:
            shutil.copyfile(origin / name, volumes / "server" / name)
    return what


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="folder of a split_sites split")
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--volumes", type=Path, required=True, help="holds site-<i>/ and server/")
    args = parser.parse_args(argv)
    try:
        what = fill(args.source, args.sites, args.volumes)
    except DeployError as exc:
        print(f"site-data: {exc}", file=sys.stderr)
        return 1
    print(f"site-data: {args.sites} sites from {what}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
