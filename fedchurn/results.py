"""A federated run's results.json and its console tables (rounds, federated vs references)."""

from __future__ import annotations

import math
from typing import Any

from churn.metrics import METRIC_NAMES
from churn.run_results import round_rows, write_results

__all__ = ["comparison_table", "final_comparison", "observer_reference", "round_rows",
           "write_results"]


def final_comparison(rounds: list[dict], reference: dict[str, Any]) -> dict[str, Any]:
    """Federated (last round) next to centralized and local-only references."""
    last = rounds[-1]
    central = reference.get("centralized") or {}
    final = {f"federated_{k}": last.get(k) for k in METRIC_NAMES}
    final.update({f"centralized_{k}": central.get(k) for k in METRIC_NAMES})
    final.update({k: reference.get(k) for k in ("local_mean_auc", "local_min_auc",
                                                 "local_trained", "local_untrainable")})
    if last.get("auc") is not None and central.get("auc") is not None:
        final["auc_gap"] = central["auc"] - last["auc"]
    evaluated = [r["federated_eval"] for r in rounds if r.get("federated_eval")]
    final["federated_eval"] = evaluated[-1] if evaluated else None
    return final


def observer_reference(reference: dict[str, Any]) -> dict[str, Any]:
    """The reference numbers in the shape `RunInfo.reference` documents."""
    local = reference.get("local") or []
    return {
        "centralized_auc": (reference.get("centralized") or {}).get("auc"),
        "centralized": reference.get("centralized"),
        "local_auc": {str(i): (m or {}).get("auc") for i, m in enumerate(local)},
        "local_mean_auc": reference.get("local_mean_auc"),
        "local_min_auc": reference.get("local_min_auc"),
    }


def comparison_table(final: dict[str, Any]) -> str:
    """Federated / centralized / local-only on the shared test set."""
    lines = [f"{'model':<22} {'AUC':>7} {'PR-AUC':>7} {'logloss':>8} {'acc':>6}"]
    for label, prefix in (("federated (final)", "federated"), ("centralized", "centralized")):
        values = [final.get(f"{prefix}_{k}") for k in METRIC_NAMES]
        lines.append(f"{label:<22} " + " ".join(
            _fmt(v, w) for v, w in zip(values, (7, 7, 8, 6), strict=True)))
    if final.get("local_trained") or final.get("local_untrainable"):
        lines.append(f"{'local-only mean':<22} {_fmt(final.get('local_mean_auc'), 7)}")
        lines.append(f"{'local-only min':<22} {_fmt(final.get('local_min_auc'), 7)}"
                     f"   ({final.get('local_untrainable') or 0} site(s) cannot train alone)")
    else:
        lines.append(f"{'local-only':<22} not fitted (reference.local_only=false)")
    if final.get("auc_gap") is not None:
        lines.append(f"AUC gap centralized - federated: {final['auc_gap']:+.4f}")
    fe = final.get("federated_eval")
    if fe:
        lines.append(f"pooled at the sites: AUC {_fmt(fe.get('pooled_auc'), 7)} "
                     f"(binning +-{fe.get('auc_bin_error') or 0:.1e}), log-loss "
                     f"{_fmt(fe.get('pooled_log_loss'), 7)}, lift@10% {_fmt(fe.get('lift_top10'), 6)}; "
                     f"gradient norm {fe.get('gradient_norm', float('nan')):.3g}, objective gap "
                     f"<= {fe.get('objective_gap_bound', float('nan')):.3g}")
    return "\n".join(lines)


def _fmt(value: Any, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.4f}"
