"""DP-FedAvg with client-level central differential privacy on top of ChurnFedAvg.

What is protected (README-ready):

    `privacy=dp` gives client-level (site-level) central differential privacy: the sequence of
    global models the server releases (every round's `coef` and `intercept`, hence the final
    model and every metric computed from the models alone, such as the server-side test AUC)
    is (ε, δ)-differentially private with respect to adding or removing one site's entire
    dataset. Each round every site is sampled independently with probability
    q = `strategy.fraction_train` (Poisson sampling from a secret RNG); a sampled site sends
    its update delta clipped to L2 norm S (Flower's `fixedclipping_mod`; re-checked and if
    need be clipped again on the server, except under `secure=secagg`, where the server sees
    only the sum and relies on the sites' clipping); the server adds N(0, z²S²) to the SUM of the clipped
    deltas and divides by the fixed q·N (uniform weights: a site's row count cannot raise its
    influence). The server is the trusted aggregator ("central" DP): it sees the clipped
    per-site updates, the sampled set, the sites' metrics and row counts, and so do the
    Kafka audit topics and results.json, which belong to its trust boundary. Outside that
    boundary (whoever gets the model or its test metrics) the guarantee holds; ε is accounted
    with Google's dp-accounting (RDP by default) for T rounds of the Poisson-subsampled
    Gaussian mechanism. NOT covered: the feature spec (category lists and imputation /
    scaling statistics agreed from client summaries before training), the clients' reported
    train/evaluation metrics and row counts, and floating-point side channels of the
    Gaussian sampler. Against the server itself there is no protection: combine with
    `secure=secagg` so that the server only learns sums (see strategy.secure).

Flower's `DifferentialPrivacyClientSideFixedClipping` wrapper is not used on the server: its
accountant accepts only no-amplification sampling and an unmodified `FedAvg.aggregate_train`
with equal client weights (our sites differ in size and ChurnFedAvg validates replies), its
noise comes from the unseeded global NumPy RNG, and it adds the noise after ChurnFedAvg has
reported the round, so observers would mirror the pre-noise model. This subclass does the
same arithmetic (Flower's clipping helpers, noise std z·S on the sum) inside the round.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy.strategy_utils import sample_nodes
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM, get_norm

from churn.privacy_accounting import DPSettings, new_accountant, round_event
from churn.rounds import RoundRecord, RunInfo
from strategy.fedavg import ChurnFedAvg
from strategy.observer_hub import ObserverHub

log = logging.getLogger(__name__)
CLIP_SLACK = 1e-9  # relative float slack when checking a client-clipped norm


def clip_delta(arrays: list[np.ndarray], reference: list[np.ndarray], bound: float
               ) -> tuple[list[np.ndarray], float]:
    """(arrays - reference) scaled to L2 norm <= bound, and the norm before clipping."""
    delta = [np.asarray(a, dtype=np.float64) - np.asarray(r, dtype=np.float64)
             for a, r in zip(arrays, reference, strict=True)]
    norm = get_norm(delta)
    if norm > bound:
        delta = [d * (bound / norm) for d in delta]
    return delta, norm


def exact_sum(arrays_per_site: list[list[np.ndarray]], like: list[np.ndarray]) -> list[np.ndarray]:
    """Element-wise `math.fsum` over sites (order-independent); zeros shaped `like` if none."""
    if not arrays_per_site:
        return [np.zeros_like(np.asarray(a, dtype=np.float64)) for a in like]
    out = []
    for position, template in enumerate(like):
        flat = np.stack([np.asarray(site[position], dtype=np.float64).ravel()
                         for site in arrays_per_site])
        sums = [math.fsum(flat[:, j].tolist()) for j in range(flat.shape[1])]
        out.append(np.asarray(sums).reshape(np.shape(template)))
    return out


class StampingHub(ObserverHub):
    """Forwards to the run's hub; sets `record.<attribute>` from `stamps[attribute][round]`
    before observers see a round (ChurnFedAvg builds the RoundRecord itself)."""

    def __init__(self, inner: ObserverHub, stamps: dict[str, dict[int, dict[str, Any]]]) -> None:
        super().__init__()
        self.inner, self.stamps = inner, stamps

    def run_started(self, info: RunInfo) -> None:
        self.inner.run_started(info)

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        self.inner.round_started(server_round, sampled_nodes)

    def round_finished(self, record: RoundRecord) -> None:
        for attribute, by_round in self.stamps.items():
            setattr(record, attribute, by_round.get(record.server_round))
        self.inner.round_finished(record)

    def run_finished(self, summary: dict[str, Any]) -> None:
        self.inner.run_finished(summary)

    def run_failed(self, error: str) -> None:
        self.inner.run_failed(error)


class DPMechanism:
    """The private part of a round: secret Poisson sample, noisy release of a delta sum, ε."""

    def __init__(self, dp: DPSettings) -> None:
        self.dp = dp
        # One secret RNG for the Poisson sample and the noise: None -> fresh OS entropy.
        self._secret = np.random.default_rng(dp.secret_noise_seed)
        self._accountant = new_accountant(dp.accountant)
        self.releases = 0
        self.by_round: dict[int, dict[str, Any]] = {}

    def sample(self, ordered_nodes: list[int]) -> list[int]:
        """Each node independently with probability q (order kept)."""
        draws = self._secret.random(len(ordered_nodes))
        return [n for n, u in zip(ordered_nodes, draws, strict=True) if u < self.dp.sampling_rate]

    def release(self, server_round: int, previous: list[np.ndarray], delta_sum: list[np.ndarray],
                contributors: int, clipped_here: int = 0) -> list[np.ndarray]:
        """previous + (delta_sum + N(0, (zS)^2)) / (qN); composes one event into the accountant."""
        std = self.dp.noise_multiplier * self.dp.clipping_norm
        noisy = [t + self._secret.normal(0.0, std, size=np.shape(t)) if std > 0 else t
                 for t in delta_sum]
        self.releases += 1
        if self.dp.noise_multiplier > 0:
            self._accountant.compose(round_event(self.dp.noise_multiplier, self.dp.sampling_rate))
            epsilon = float(self._accountant.get_epsilon(self.dp.delta))
        else:
            epsilon = math.inf
        self.by_round[server_round] = {
            "epsilon": epsilon, "delta": self.dp.delta, "releases": self.releases,
            "noise_multiplier": self.dp.noise_multiplier, "clipping_norm": self.dp.clipping_norm,
            "sampling_rate": self.dp.sampling_rate, "denominator": self.dp.denominator,
            "contributors": contributors, "clipped_on_server": clipped_here,
            "accountant": self.dp.accountant}
        log.info("round %d: DP release %d, ε=%.4g at δ=%g", server_round, self.releases,
                 epsilon, self.dp.delta)
        return [p + s / self.dp.denominator for p, s in zip(previous, noisy, strict=True)]

    @property
    def epsilon_spent(self) -> float:
        """ε after the releases so far (0 before the first)."""
        last = self.by_round.get(max(self.by_round, default=-1))
        return float(last["epsilon"]) if last else 0.0


class DPChurnFedAvg(ChurnFedAvg):
    """Client-level central DP-FedAvg: Poisson sampling, clipped deltas, noisy uniform mean."""

    aggregation = "dp_fedavg"

    def __init__(self, *, dp: DPSettings, extra_train_config: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        kwargs["fraction_train"] = dp.sampling_rate
        super().__init__(**kwargs)
        self.dp = dp
        self.mechanism = DPMechanism(dp)
        self.extra_train_config = dict(extra_train_config or {})  # e.g. FedProx's proximal-mu
        self.hub = StampingHub(self.hub, {"privacy": self.mechanism.by_round})

    # ----- sampling: Poisson with rate q, from the secret RNG --------------------------------
    def _sample(self, grid: Grid, fraction: float, min_nodes: int, server_round: int,
                phase: str) -> list[int]:
        if phase != "train":
            return super()._sample(grid, fraction, min_nodes, server_round, phase)
        _, all_nodes = sample_nodes(grid, self.min_available_nodes, 0)  # waits for nodes
        return self.mechanism.sample(
            sorted(all_nodes, key=lambda n: (self.node_partitions.get(n, 1 << 62), n)))

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """Tell the sites the clipping norm (Flower's `fixedclipping_mod` reads this key)."""
        config[KEY_CLIPPING_NORM] = self.dp.clipping_norm
        for key, value in self.extra_train_config.items():
            config[key] = value
        return super().configure_train(server_round, arrays, config, grid)

    # ----- the private release ---------------------------------------------------------------
    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Validate as ChurnFedAvg, then release previous + (Σ clipped deltas + noise) / (qN).

        The release happens every round, also when no site answered (noise only), so the
        accountant's T releases are exactly what was published.
        """
        state = self._state(server_round)
        previous = [np.asarray(a, dtype=np.float64).copy() for a in state.global_arrays]
        super().aggregate_train(server_round, replies)  # validation, bookkeeping, train metrics
        bound, clipped_here, deltas = self.dp.clipping_norm, 0, []
        for update in state.updates:
            delta, norm = clip_delta(update.arrays, previous, bound)
            if norm > bound * (1 + CLIP_SLACK):
                clipped_here += 1
                log.warning("round %d: node %d sent a delta of norm %.4g > S=%.4g; clipped on "
                            "the server", server_round, update.node_id, norm, bound)
            update.arrays = [p + d for p, d in zip(previous, delta, strict=True)]  # as used
            deltas.append(delta)
        state.global_arrays = self.mechanism.release(
            server_round, previous, exact_sum(deltas, previous), len(deltas), clipped_here)
        return ArrayRecord(state.global_arrays), MetricRecord(state.train_metrics)

    @property
    def epsilon_spent(self) -> float:
        """ε after the releases so far (0 before the first)."""
        return self.mechanism.epsilon_spent
