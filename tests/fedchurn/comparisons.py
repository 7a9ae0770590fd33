"""Exact comparison of two runs' federated results across engines and worker counts."""

from __future__ import annotations

import json
from typing import Any


def federated_results(results: dict[str, Any]) -> str:
    """The `final.federated_*` entries as canonical JSON: NaN compares equal to NaN (a plain
    `==` on lists only does when both sides hold the same NaN object, which a value from
    another process never is), and site node ids are left out (each engine draws its own)."""
    final = results["final"]
    chosen = {k: v for k, v in final.items() if k.startswith("federated_")}
    evaluation = chosen.get("federated_eval")
    if isinstance(evaluation, dict) and "sites" in evaluation:
        chosen["federated_eval"] = {**evaluation, "sites": [
            {k: v for k, v in site.items() if k != "node_id"} for site in evaluation["sites"]]}
    return json.dumps(chosen, sort_keys=True)
