#!/usr/bin/env bash
# Regenerate docker/requirements.lock: pyproject's runtime deps (flwr without [simulation]),
# resolved by pip at the versions installed in .venv (the tested set).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip freeze --exclude-editable | grep -iv '^fedchurn' > "$tmp/constraints.txt"
"$PY" - "$tmp/requirements.in" <<'PYEOF'
import sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
open(sys.argv[1], "w").write("\n".join(d.replace("flwr[simulation]", "flwr") for d in deps) + "\n")
PYEOF
"$PY" -m pip install --dry-run --ignore-installed --quiet --report "$tmp/report.json" \
  -r "$tmp/requirements.in" -c "$tmp/constraints.txt"
"$PY" - "$tmp/report.json" <<'PYEOF'
import json, sys
pins = sorted((i["metadata"]["name"], i["metadata"]["version"])
              for i in json.load(open(sys.argv[1]))["install"])
header = ["# Pinned runtime dependencies of the fedchurn image (docker/Dockerfile); flwr matches the",
          "# base image. Resolved from pyproject's dependencies (flwr without the simulation extra: no Ray)",
          "# at the versions of the tested venv; regenerate with docker/lock-requirements.sh."]
open("docker/requirements.lock", "w").write("\n".join(header + [f"{n}=={v}" for n, v in pins]) + "\n")
PYEOF
echo "docker/requirements.lock: $(grep -c '==' docker/requirements.lock) pins"
