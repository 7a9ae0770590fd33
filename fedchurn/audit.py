"""Audit CLI: `python -m fedchurn.audit verify|list|export` (logic lives in kafka_bridge)."""

from __future__ import annotations

import sys

from kafka_bridge.audit_cli import main

if __name__ == "__main__":
    sys.exit(main())
