"""Audit of DP and secure-aggregation runs: what can still be checked when FedAvg cannot be redone.

- `privacy=dp`: the global model holds secret Gaussian noise, so the weighted average cannot be
  recomputed. Checked instead, per round: seq/digests/counts as for FedAvg
  (`round_checks.check_round`, which calls `PrivateAudit.check_values`); every mirrored
  update's delta from the previous global has L2 norm <= S; the residual
  (global - previous) * q*N - Σ clipped deltas is Gaussian noise of the declared scale z*S
  (χ² test on its squared norm, two-sided at 1e-9); ε is monotone and equals dp-accounting's
  value for the declared z, q, δ and number of releases (RDP).
- `secure=secagg`: the server only learned sums. Checked: no client_update event exists (no
  per-client values or digests), one round_aggregated per round with a matching global digest,
  counts of participants and rejections; the average and the noise cannot be checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import chi2

from kafka_bridge.events import Event
from kafka_bridge.round_checks import RoundEvents, RoundVerdict

CLIP_SLACK = 1e-9
NOISE_ALPHA = 1e-9  # two-sided level of the χ² noise check
EPS_RTOL = 1e-6


@dataclass
class PrivateAudit:
    """Round checks for a run whose run_started config names privacy=dp and/or secure=secagg."""

    dp: dict[str, Any] | None
    secure: bool
    previous: list[np.ndarray] | None = None  # the global model before the round being checked
    last_epsilon: float = 0.0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_started(cls, started: Event | None) -> PrivateAudit | None:
        """The audit for this run, or None for a plain FedAvg run."""
        config = (started.payload.get("config") or {}) if started else {}
        privacy, secure = config.get("privacy") or {}, config.get("secure") or {}
        dp = dict(privacy) if privacy.get("name") == "dp" else None
        is_secure = secure.get("name") == "secagg"
        if dp is None and not is_secure:
            return None
        audit = cls(dp=dp, secure=is_secure)
        if is_secure:
            audit.notes.append("secure aggregation: the server saw only sums, so no per-client "
                               "update and no weighted average could be checked; seq, global "
                               "digests and counts were")
        if dp is not None:
            audit.notes.append(
                "differential privacy: the global models carry secret noise; checked clipping "
                "bounds, the noise scale (χ² test) and ε against dp-accounting"
                + ("" if not is_secure else " (noise and clipping not checkable under secure "
                                             "aggregation: ε only)"))
        return audit

    def check_values(self, rv: RoundVerdict, round_: RoundEvents) -> None:
        """The value check of `round_checks.check_round` for this run (rounds must be checked
        in increasing order: each round's noise is measured against the previous global)."""
        if self.secure:
            rv.updates = len(round_.aggregate["participants"])
            rv.average = "sum only (secure)"
            if round_.updates:
                rv.problems.append(f"{len(round_.updates)} client_update event(s) in a secure-"
                                   "aggregation run: per-client updates must never be mirrored")
        else:
            self._check_dp_updates(rv, round_)
        if self.dp is not None:
            self._check_epsilon(rv, round_.aggregate)
        if round_.global_arrays is not None:
            self.previous = round_.global_arrays

    def _check_dp_updates(self, rv: RoundVerdict, round_: RoundEvents) -> None:
        global_arrays = round_.global_arrays
        if len(round_.mirrored) < len(round_.updates) or global_arrays is None:
            rv.average = "not mirrored"
            return
        info = round_.aggregate.get("privacy") or {}
        previous = self.previous or [np.zeros_like(a) for a in global_arrays]
        bound = float(info.get("clipping_norm", (self.dp or {}).get("clipping_norm", 0.0)))
        deltas = []
        for node_id, _, arrays in round_.mirrored:
            delta = [x - p for x, p in zip(arrays, previous, strict=True)]
            norm = math.sqrt(sum(float(np.sum(d * d)) for d in delta))
            if norm > bound * (1 + CLIP_SLACK):
                rv.problems.append(f"node {node_id}: update norm {norm:.6g} > "
                                   f"clipping norm {bound:.6g}")
            deltas.append(delta)
        denominator = float(info.get("denominator", 0.0))
        residual = [(g - p) * denominator - sum((d[i] for d in deltas), np.zeros_like(p))
                    for i, (g, p) in enumerate(zip(global_arrays, previous, strict=True))]
        std = float(info.get("noise_multiplier", 0.0)) * bound
        squared = sum(float(np.sum(x * x)) for x in residual)
        size = sum(x.size for x in residual)
        rv.max_abs_diff = max(float(np.max(np.abs(x), initial=0.0)) for x in residual)
        if std == 0.0:
            ok = rv.max_abs_diff <= 1e-9 * max(1.0, denominator)
            rv.average = "ok (no noise)" if ok else "MISMATCH"
        else:
            p = float(chi2.cdf(squared / std ** 2, size))
            ok = NOISE_ALPHA < p < 1 - NOISE_ALPHA
            rv.average = f"noise ok (χ² cdf {p:.2f})" if ok else f"NOISE OFF (χ² cdf {p:.3g})"
        if not ok:
            rv.problems.append(f"the global model is not previous + (Σ clipped deltas + noise of "
                               f"std {std:.4g}) / {denominator:g}")

    def _check_epsilon(self, rv: RoundVerdict, agg: dict[str, Any]) -> None:
        info = agg.get("privacy")
        if not info:
            rv.problems.append("no privacy figures in round_aggregated")
            return
        epsilon = float(info["epsilon"])
        if epsilon < self.last_epsilon:
            rv.problems.append(f"ε decreased: {epsilon:.6g} < {self.last_epsilon:.6g}")
        self.last_epsilon = epsilon
        if info.get("accountant", "rdp") != "rdp" or not math.isfinite(epsilon):
            return
        from churn.privacy_accounting import epsilon_after

        expected = epsilon_after(int(info["releases"]), float(info["noise_multiplier"]),
                                 float(info["sampling_rate"]), float(info["delta"]), "rdp")
        if not math.isclose(epsilon, expected, rel_tol=EPS_RTOL):
            rv.problems.append(f"ε {epsilon:.6g} != dp-accounting's {expected:.6g}")
