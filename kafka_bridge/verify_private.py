"""Audit of DP and secure-aggregation runs: what can still be checked when FedAvg cannot be redone.

- `privacy=dp`: the global model holds secret Gaussian noise, so the weighted average cannot be
  recomputed. Checked instead, per round: seq/digests/counts as for FedAvg; every mirrored
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

from kafka_bridge.events import Event, array_digest, decode_arrays
from kafka_bridge.verify import RoundVerdict

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

    def check_round(self, r: int, events: list[Event]) -> RoundVerdict:
        """The verdict of one round (rounds must be checked in increasing order)."""
        rv = RoundVerdict(round=r)
        updates = [e for e in events if e.type == "client_update"]
        rejections = [e for e in events if e.type == "reply_rejected"
                      and e.payload["phase"] == "train"]
        aggregated = [e for e in events if e.type == "round_aggregated"]
        rv.rejected = len(rejections)
        rv.eval_rejected = len([e for e in events if e.type == "reply_rejected"]) - rv.rejected
        if len(aggregated) != 1:
            rv.problems.append(f"{len(aggregated)} round_aggregated events (expected 1)")
            return rv
        agg = aggregated[0].payload
        global_arrays = decode_arrays(agg)
        if global_arrays is None or array_digest(global_arrays) != agg["digest"]:
            rv.problems.append("global model digest mismatch")
        if agg["rejected"] != rv.rejected:
            rv.problems.append(f"rejected={agg['rejected']} but {rv.rejected} train rejections")
        if self.secure:
            rv.updates = len(agg["participants"])
            rv.average = "sum only (secure)"
            if updates:
                rv.problems.append(f"{len(updates)} client_update event(s) in a secure-"
                                   "aggregation run: per-client updates must never be mirrored")
        else:
            rv.updates = len(updates)
            self._check_dp_updates(rv, agg, updates, global_arrays)
        rv.digests = "bad" if any("digest" in p for p in rv.problems) else "ok"
        if self.dp is not None:
            self._check_epsilon(rv, agg)
        if global_arrays is not None:
            self.previous = global_arrays
        return rv

    def _check_dp_updates(self, rv: RoundVerdict, agg: dict[str, Any], updates: list[Event],
                          global_arrays: list[np.ndarray] | None) -> None:
        nodes = sorted(u.payload["node_id"] for u in updates)
        if sorted(agg["participants"]) != nodes:
            rv.problems.append(f"participants {agg['participants']} != updates from {nodes}")
        if agg["num_examples"] != sum(u.payload["num_examples"] for u in updates):
            rv.problems.append("num_examples differs from the sum over the updates")
        info = agg.get("privacy") or {}
        arrays = [decode_arrays(u.payload) for u in updates]
        if any(a is None for a in arrays) or global_arrays is None:
            rv.average = "not mirrored"
            return
        previous = self.previous or [np.zeros_like(a) for a in global_arrays]
        bound = float(info.get("clipping_norm", self.dp.get("clipping_norm", 0.0)))
        deltas = []
        for u, a in zip(updates, arrays, strict=True):
            delta = [x - p for x, p in zip(a, previous, strict=True)]
            norm = math.sqrt(sum(float(np.sum(d * d)) for d in delta))
            if norm > bound * (1 + CLIP_SLACK):
                rv.problems.append(f"node {u.payload['node_id']}: update norm {norm:.6g} > "
                                   f"clipping norm {bound:.6g}")
            if array_digest(a) != u.payload["digest"]:
                rv.problems.append(f"node {u.payload['node_id']}: update digest mismatch")
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
