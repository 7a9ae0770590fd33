"""The one place that turns the `strategy` config into a strategy object (`strategy=<name>`).

Built in: fedavg, fedprox, newton, median, trimmed_mean, krum (conf/strategy/<name>.yaml).
Every strategy is a `ChurnFedAvg` subclass, so sampling, reply validation, missing/rejected
bookkeeping and the observers work the same for all of them.

Extension points (e.g. differential privacy, secure aggregation):

- `register_strategy(name, builder)`: a new `strategy=<name>`; `builder(ctx)` returns a
  ChurnFedAvg subclass instance, usually `MyStrategy(**ctx.base_kwargs(), my_option=...)`.
- `register_wrapper(name, wrapper)`: `wrapper(strategy, ctx)` runs after the builder for every
  strategy, in registration order, and returns the strategy to use (the same one, configured,
  or a new one built from `ctx.base_kwargs()`). It reads its own settings from `ctx.plan`
  (the ServerPlan: `privacy`, `secure`, unredacted) and returns `strategy` unchanged when
  they are off. It must return a ChurnFedAvg: Flower's own wrapper strategies bypass
  ChurnFedAvg.start, so observers would see no rounds. Register at import time of a module
  the ServerApp imports anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strategy.fedavg import ChurnFedAvg
from strategy.federated_eval import FederatedEvalSettings
from strategy.observer_hub import ObserverHub


@dataclass
class StrategyContext:
    """What a builder or wrapper may use; `options` is the `strategy` config node."""

    options: Mapping[str, Any]
    num_features: int
    spec_fingerprint: str
    hub: ObserverHub
    node_partitions: dict[int, int]
    sampling_seed: int
    C: float
    num_nodes: int
    num_rounds: int = 1
    sampling: dict[str, Any] = field(default_factory=dict)  # fraction_* / min_*_nodes
    plan: Any = None  # the strategy.server_app.ServerPlan of the run (None in unit tests)
    federated_eval: FederatedEvalSettings | None = None  # None: off

    @property
    def name(self) -> str:
        """The strategy name (`strategy.name`)."""
        return str(self.options.get("name", "fedavg"))

    def base_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every ChurnFedAvg subclass takes."""
        return {"num_features": self.num_features, "spec_fingerprint": self.spec_fingerprint,
                "hub": self.hub, "node_partitions": self.node_partitions,
                "sampling_seed": self.sampling_seed, "federated_eval": self.federated_eval,
                **self.sampling}


Builder = Callable[[StrategyContext], ChurnFedAvg]
Wrapper = Callable[[ChurnFedAvg, StrategyContext], ChurnFedAvg]
_BUILDERS: dict[str, Builder] = {}
_WRAPPERS: dict[str, Wrapper] = {}


def register_strategy(name: str, builder: Builder, *, replace: bool = False) -> None:
    """Make `strategy=<name>` build with `builder`."""
    if name in _BUILDERS and not replace:
        raise ValueError(f"strategy {name!r} is already registered")
    _BUILDERS[name] = builder


def register_wrapper(name: str, wrapper: Wrapper) -> None:
    """Apply `wrapper` to every built strategy (re-registering a name replaces it)."""
    _WRAPPERS[name] = wrapper


def strategy_names() -> tuple[str, ...]:
    """Registered strategy names."""
    return tuple(sorted(_BUILDERS))


def build_strategy(ctx: StrategyContext) -> ChurnFedAvg:
    """The strategy `ctx.options["name"]` names, passed through every registered wrapper."""
    if ctx.name not in _BUILDERS:
        raise ValueError(f"unknown strategy {ctx.name!r}; use one of {sorted(_BUILDERS)}")
    strategy = _BUILDERS[ctx.name](ctx)
    for name, wrapper in _WRAPPERS.items():
        strategy = wrapper(strategy, ctx)
        if not isinstance(strategy, ChurnFedAvg):
            raise TypeError(f"strategy wrapper {name!r} returned {type(strategy).__name__}, "
                            f"not a ChurnFedAvg")
    return strategy


# ----- built-in strategies -------------------------------------------------------------------
def _fedavg(ctx: StrategyContext) -> ChurnFedAvg:
    return ChurnFedAvg(**ctx.base_kwargs())


def _fedprox(ctx: StrategyContext) -> ChurnFedAvg:
    from strategy.fedprox import ChurnFedProx

    return ChurnFedProx(**ctx.base_kwargs(), proximal_mu=float(ctx.options["proximal_mu"]))


def _newton(ctx: StrategyContext) -> ChurnFedAvg:
    from strategy.newton import ChurnNewton

    steps = ctx.options.get("step_sizes") or (0.5, 1.0, 1.5)
    return ChurnNewton(**ctx.base_kwargs(), C=ctx.C, step_sizes=[float(a) for a in steps])


def _median(ctx: StrategyContext) -> ChurnFedAvg:
    from strategy.robust import ChurnMedian

    return ChurnMedian(**ctx.base_kwargs())


def _trimmed_mean(ctx: StrategyContext) -> ChurnFedAvg:
    from strategy.robust import ChurnTrimmedMean

    return ChurnTrimmedMean(**ctx.base_kwargs(), beta=float(ctx.options.get("beta", 0.2)))


def _krum(ctx: StrategyContext) -> ChurnFedAvg:
    from strategy.robust import ChurnKrum

    return ChurnKrum(**ctx.base_kwargs(),
                     num_malicious_nodes=int(ctx.options.get("num_malicious_nodes", 1)),
                     num_nodes_to_select=int(ctx.options.get("num_nodes_to_select", 0)))


for _name, _builder in (("fedavg", _fedavg), ("fedprox", _fedprox), ("newton", _newton),
                        ("median", _median), ("trimmed_mean", _trimmed_mean), ("krum", _krum)):
    register_strategy(_name, _builder)
