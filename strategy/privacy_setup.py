"""From the `privacy` / `secure` config groups to a resolved config, a strategy and a summary."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from churn import protocol as P
from churn.rounds import RoundRecord
from strategy.fedavg import ChurnFedAvg

if TYPE_CHECKING:  # dp-accounting is imported only when privacy=dp is asked for
    from churn.privacy_accounting import DPSettings

PRIVACY_MODES = ("none", "dp")
SECURE_MODES = ("none", "secagg")
DP_STRATEGIES = ("fedavg", "fedprox")  # DP replaces the aggregation rule: FedAvg-type only


def _group(cfg: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    value = (cfg or {}).get(key)
    return value if isinstance(value, Mapping) else (cfg or {})


def privacy_mode(cfg: Mapping[str, Any] | None) -> str:
    """"none" or "dp" from a run config (or from its `privacy` group)."""
    name = str(_group(cfg, "privacy").get("name", "none"))
    if name not in PRIVACY_MODES:
        raise ValueError(f"unknown privacy mode {name!r}; use one of {PRIVACY_MODES}")
    return name


def secure_mode(cfg: Mapping[str, Any] | None) -> str:
    """"none" or "secagg" from a run config (or from its `secure` group)."""
    name = str(_group(cfg, "secure").get("name", "none"))
    if name not in SECURE_MODES:
        raise ValueError(f"unknown secure mode {name!r}; use one of {SECURE_MODES}")
    return name


def dp_settings(privacy: Mapping[str, Any], num_sites: int, rounds: int,
                sampling_rate: float) -> DPSettings:
    """DPSettings of a (resolved or raw) `privacy=dp` group."""
    from churn.privacy_accounting import resolve_dp

    return resolve_dp(privacy, num_sites, rounds, sampling_rate)


def with_resolved_privacy(cfg: Mapping[str, Any], num_sites: int) -> dict[str, Any]:
    """A copy of the run config whose `privacy` group names every number the run will use
    (the calibrated noise multiplier, sampling rate, planned ε); unchanged without DP."""
    out = copy.deepcopy(dict(cfg))
    dp_on, secure_on = privacy_mode(out) == "dp", secure_mode(out) == "secagg"
    strategy_name = str((out.get("strategy") or {}).get("name", "fedavg"))
    if (dp_on or secure_on) and strategy_name not in DP_STRATEGIES:
        raise ValueError(f"privacy=dp / secure=secagg replace the aggregation with (DP-)FedAvg; "
                         f"they cannot run with strategy={strategy_name} (use one of "
                         f"{DP_STRATEGIES})")
    if not dp_on:
        return out
    q = float((out.get("strategy") or {}).get("fraction_train", 1.0))
    settings = dp_settings(out["privacy"], num_sites, int(out["num_rounds"]), q)
    public = settings.public()
    public["secret_noise_seed"] = out["privacy"].get("secret_noise_seed")  # redacted on output
    out["privacy"] = {**out["privacy"], **public, "name": "dp"}
    return out


def private_strategy(privacy: Mapping[str, Any], secure: Mapping[str, Any],
                     strategy_args: dict[str, Any], num_rounds: int, num_sites: int,
                     base: ChurnFedAvg | None = None) -> ChurnFedAvg | None:
    """The strategy `privacy` / `secure` ask for, or None when both are off. `base` (the
    strategy the config built) may only be FedAvg or FedProx, whose `proximal-mu` is kept."""
    dp_on, secure_on = privacy_mode(privacy) == "dp", secure_mode(secure) == "secagg"
    if not dp_on and not secure_on:
        return None
    if base is not None and base.aggregation != "fedavg":
        raise ValueError(f"privacy=dp / secure=secagg replace the aggregation with (DP-)FedAvg; "
                         f"they cannot run with {type(base).__name__}")
    extra = {P.PROXIMAL_MU: float(base.proximal_mu)} if hasattr(base, "proximal_mu") else {}
    settings = (dp_settings(privacy, num_sites, num_rounds,
                            float(strategy_args.get("fraction_train", 1.0))) if dp_on else None)
    if secure_on:
        from strategy.secure import SecureChurnFedAvg

        return SecureChurnFedAvg(dp=settings, secure=dict(secure), extra_train_config=extra,
                                 **strategy_args)
    from strategy.privacy import DPChurnFedAvg

    assert settings is not None
    return DPChurnFedAvg(dp=settings, extra_train_config=extra, **strategy_args)


def _factory_wrapper(strategy: ChurnFedAvg, ctx: Any) -> ChurnFedAvg:
    """strategy.factory wrapper: swap in the DP / secure strategy when the plan asks for one."""
    plan = ctx.plan
    if plan is None:
        return strategy
    return private_strategy(getattr(plan, "privacy", {}), getattr(plan, "secure", {}),
                            ctx.base_kwargs(), ctx.num_rounds, ctx.num_nodes,
                            base=strategy) or strategy


def privacy_summary(privacy: Mapping[str, Any] | None, records: Sequence[RoundRecord]
                    ) -> dict[str, Any] | None:
    """results.json's `privacy` block: the DP settings and the ε actually spent."""
    if privacy_mode(privacy) != "dp":
        return None
    stamped = [r.privacy for r in records if r.privacy]
    spent = stamped[-1]["epsilon"] if stamped else 0.0
    keys = ("clipping_norm", "noise_multiplier", "sampling_rate", "num_sites", "rounds", "delta",
            "accountant", "target_epsilon", "planned_epsilon", "notion")
    return {**{k: (privacy or {}).get(k) for k in keys},
            "epsilon": spent if math.isfinite(spent) else None,
            "epsilon_infinite": not math.isfinite(spent),
            "releases": stamped[-1]["releases"] if stamped else 0,
            "epsilon_per_round": [p["epsilon"] for p in stamped]}


try:  # strategy.factory (strategy=<name>) applies registered wrappers to every strategy it builds
    from strategy.factory import register_wrapper
except ImportError:  # pragma: no cover - checkouts before the factory existed
    pass
else:
    register_wrapper("privacy", _factory_wrapper)
