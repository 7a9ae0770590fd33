#!/usr/bin/env bash
# Stop the local Kafka broker (SIGTERM, SIGKILL after 30 s); its data dir is kept.
# Extra args go to `python -m kafka_bridge.broker down` (e.g. --state-dir DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
cd "$ROOT"
exec "$PY" -m kafka_bridge.broker down "$@"
