"""Client-level DP accounting with Google's `dp-accounting` (RDP or PLD) and noise calibration.

One private release per round: the server adds N(0, (z*S)^2) to the sum of the clipped update
deltas of the sites it sampled by Poisson sampling with rate q. Each round is therefore a
`PoissonSampledDpEvent(q, GaussianDpEvent(z))` under add-or-remove-one-site neighbouring (the
Gaussian's sensitivity is S, one site's clipped delta); T rounds compose T such events.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from dp_accounting import dp_event, mechanism_calibration, pld, rdp
from dp_accounting.privacy_accountant import NeighboringRelation, PrivacyAccountant

ACCOUNTANTS = ("rdp", "pld")
_MIN_NOISE = 0.3  # calibration searches z >= this (PLD of a tiny z needs huge grids)
logging.getLogger("absl").setLevel(logging.ERROR)  # RDP logs every fractional order it skips


def round_event(noise_multiplier: float, sampling_rate: float) -> dp_event.DpEvent:
    """The DP event of one round: Poisson-sampled Gaussian mechanism."""
    return dp_event.PoissonSampledDpEvent(sampling_rate, dp_event.GaussianDpEvent(noise_multiplier))


def new_accountant(kind: str) -> PrivacyAccountant:
    """A fresh dp-accounting accountant: "rdp" (Renyi DP) or "pld" (privacy loss distributions)."""
    if kind == "rdp":
        return rdp.RdpAccountant(neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE)
    if kind == "pld":
        return pld.PLDAccountant(neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE)
    raise ValueError(f"unknown accountant {kind!r}; use one of {ACCOUNTANTS}")


def epsilon_after(rounds: int, noise_multiplier: float, sampling_rate: float, delta: float,
                  kind: str = "rdp") -> float:
    """ε at `delta` after `rounds` releases (0 rounds -> 0; no noise -> inf)."""
    if rounds <= 0:
        return 0.0
    if noise_multiplier <= 0:
        return math.inf
    accountant = new_accountant(kind)
    accountant.compose(round_event(noise_multiplier, sampling_rate), rounds)
    return float(accountant.get_epsilon(delta))


def calibrate_noise(target_epsilon: float, rounds: int, sampling_rate: float, delta: float,
                    kind: str = "rdp") -> float:
    """The smallest noise multiplier z whose ε after `rounds` rounds is at most `target_epsilon`."""
    if not math.isfinite(target_epsilon):
        return 0.0
    if target_epsilon <= 0:
        raise ValueError(f"target_epsilon must be positive, got {target_epsilon}")
    if epsilon_after(rounds, _MIN_NOISE, sampling_rate, delta, kind) <= target_epsilon:
        return _MIN_NOISE  # a budget this loose needs less noise than the search covers
    z = float(mechanism_calibration.calibrate_dp_mechanism(
        lambda: new_accountant(kind),
        lambda sigma: dp_event.SelfComposedDpEvent(round_event(sigma, sampling_rate), rounds),
        target_epsilon, delta,
        bracket_interval=mechanism_calibration.LowerEndpointAndGuess(_MIN_NOISE, 1.0), tol=1e-4))
    # Brent's tolerance may land a hair on the wrong side: step up until the budget holds.
    while epsilon_after(rounds, z, sampling_rate, delta, kind) > target_epsilon:
        z *= 1.0 + 1e-4
    return z


@dataclass
class DPSettings:
    """A resolved DP configuration: every number the mechanism and the accountant use."""

    clipping_norm: float  # S: L2 bound on one site's update delta [coef, intercept]
    noise_multiplier: float  # z: noise std on the SUM of clipped deltas is z * S
    sampling_rate: float  # q: Poisson probability that a site takes part in a round
    num_sites: int  # N: sites in the federation; the average divides by q * N
    rounds: int  # T: releases planned
    delta: float
    accountant: str = "rdp"
    target_epsilon: float | None = None  # the ε the noise was calibrated for, if any
    secret_noise_seed: int | None = None  # None: fresh OS entropy (the private setting)

    @property
    def denominator(self) -> float:
        """Fixed, data-independent divisor of the noisy sum: the expected number of sites."""
        return self.sampling_rate * self.num_sites

    def epsilon(self, rounds: int) -> float:
        """ε spent after `rounds` releases."""
        return epsilon_after(rounds, self.noise_multiplier, self.sampling_rate, self.delta,
                             self.accountant)

    def public(self) -> dict[str, Any]:
        """The settings as observers and results.json see them (the noise seed redacted)."""
        out = asdict(self)
        out["secret_noise_seed"] = None if self.secret_noise_seed is None else "***"
        out["planned_epsilon"] = self.epsilon(self.rounds)
        out["notion"] = "client-level (whole site) central DP, add/remove one site"
        return out


def resolve_dp(cfg: Mapping[str, Any], num_sites: int, rounds: int, sampling_rate: float) -> DPSettings:
    """DPSettings from the `privacy=dp` config group; calibrates z when only a target ε is given."""
    if not 0 < sampling_rate <= 1:
        raise ValueError(f"the sampling rate (strategy.fraction_train) must be in (0, 1], got "
                         f"{sampling_rate}")
    delta = float(cfg.get("delta", 1e-5))
    kind = str(cfg.get("accountant", "rdp"))
    target = cfg.get("target_epsilon")
    z = cfg.get("noise_multiplier")
    if z is None:
        if target is None:
            raise ValueError("privacy=dp needs privacy.noise_multiplier or privacy.target_epsilon")
        z = calibrate_noise(float(target), rounds, sampling_rate, delta, kind)
    seed = cfg.get("secret_noise_seed")
    return DPSettings(
        clipping_norm=float(cfg.get("clipping_norm", 1.0)), noise_multiplier=float(z),
        sampling_rate=float(sampling_rate), num_sites=int(num_sites), rounds=int(rounds),
        delta=delta, accountant=kind, target_epsilon=None if target is None else float(target),
        secret_noise_seed=None if seed is None else int(seed))
