#!/usr/bin/env bash
# Start the local single-node KRaft Kafka broker (jars from Maven Central); prints HOST:PORT.
# Extra args go to `python -m kafka_bridge.broker up` (e.g. --state-dir DIR --port N).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
cd "$ROOT"
exec "$PY" -m kafka_bridge.broker up "$@"
