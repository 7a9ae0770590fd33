"""Exact federated Newton for L2 logistic regression: sites send loss/gradient/Hessian sums.

The objective is scikit-learn's centralized one, F(theta) = C * sum_i logloss_i + 0.5 ||w||^2
over all rows (theta = [w, b], intercept unpenalised). Its sums decompose over sites, so the
server can take exact Newton steps on it: each site returns, at every candidate point it is
sent, its unregularised sums (`clients.newton_payload`); the server adds them up exactly
(math.fsum per element, order-independent), multiplies by C and adds the L2 term once.
That keeps the pooled objective exact whichever sites reply (no per-site C scaling needed).

Rounds and the safeguard. After round k the server holds an anchor point (the best candidate
so far by the pooled objective) and the Newton direction d there; the new global model is
anchor + d. Round k + 1 sends the candidates anchor + a * d for a in `step_sizes`
(default 0.5, 1, 1.5: a line search that costs no extra round, only m Hessians per reply);
the best candidate becomes the next anchor if it lowers the objective, and its gradient and
Hessian give the next direction. If none does, the anchor stays and the steps are halved
(a/2, a/4, ...). With dropouts or sampling the objective is that of the sites that replied;
values from different site sets are not compared (the anchor restarts on the new set).
Measured on Telco (45 features): coefficients within 1e-4 of scikit-learn's tight fit after
4 rounds, whatever the partition (the sums do not depend on it).

Privacy: a Hessian reveals the site's feature second moments (see `clients.newton_payload`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, RecordDict
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from churn import protocol as P
from churn.certificate import exact_sum
from churn.ndarrays import ndarrays
from churn.rounds import ClientUpdate, Rejection
from strategy.aggregation import weighted_metrics
from strategy.fedavg import ChurnFedAvg

log = logging.getLogger(__name__)


@dataclass
class _Anchor:
    theta: np.ndarray  # [w, b]
    objective: float
    direction: np.ndarray
    gradient_norm: float
    sites: frozenset[int]


class ChurnNewton(ChurnFedAvg):
    """Federated Newton with a one-round line search; global model [coef, intercept]."""

    aggregation = "newton"

    def __init__(self, *, C: float, step_sizes: Sequence[float] = (0.5, 1.0, 1.5),
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if C <= 0 or not step_sizes or any(a <= 0 for a in step_sizes):
            raise ValueError(f"need C > 0 and positive step sizes, got C={C}, {step_sizes}")
        self.C = float(C)
        self.step_sizes = tuple(float(a) for a in step_sizes)
        self.num_params = self.expected_shapes[0][1] + 1
        self._anchor: _Anchor | None = None
        self._alphas: tuple[float, ...] = self.step_sizes
        self._candidates = np.zeros((1, self.num_params))
        self._sent_alphas: tuple[float, ...] = (0.0,)

    # ----- what the sites get ---------------------------------------------------------------
    def train_content(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord
                      ) -> RecordDict:
        """Global arrays, config with `update-kind=newton`, and the candidate points."""
        if self._anchor is None:
            coef, intercept = ndarrays(arrays)
            self._candidates = np.concatenate([np.ravel(coef), np.ravel(intercept)])[None, :]
            self._sent_alphas = (0.0,)
        else:
            self._sent_alphas = self._alphas
            self._candidates = np.stack([self._anchor.theta + a * self._anchor.direction
                                         for a in self._alphas])
        m, n = self._candidates.shape
        self.expected_shapes = [(m,), (m, n), (m, n, n)]
        config[P.UPDATE_KIND] = P.UPDATE_NEWTON
        return RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: config,
                           P.CANDIDATES: ArrayRecord({"thetas": Array(self._candidates)})})

    # ----- what the sites send --------------------------------------------------------------
    def check_reply(self, msg: Message) -> ClientUpdate | Rejection:
        """Shapes and finiteness (as for FedAvg), then what any honest sum satisfies."""
        outcome = super().check_reply(msg)
        if isinstance(outcome, Rejection):
            return outcome
        problem = newton_payload_problem(outcome.arrays, outcome.num_examples)
        return Rejection(outcome.node_id, problem, outcome.partition_id) if problem else outcome

    # ----- the step ---------------------------------------------------------------------------
    def aggregate_updates(self, server_round: int, updates: list[ClientUpdate]
                          ) -> tuple[list[np.ndarray], dict[str, float]]:
        """Pool the sums, pick the best candidate, take the Newton step from the anchor."""
        losses, grads, hessians = (exact_sum([u.arrays[k] for u in updates]) for k in range(3))
        d = self.num_params - 1
        penalty = np.ones(self.num_params)
        penalty[d] = 0.0  # the intercept is not penalised
        objectives = [self.C * losses[j] + 0.5 * float(theta[:d] @ theta[:d])
                      for j, theta in enumerate(self._candidates)]
        best = int(np.argmin(objectives))
        sites = frozenset(u.partition_id if u.partition_id is not None else u.node_id
                          for u in updates)
        improved = (self._anchor is None or sites != self._anchor.sites
                    or objectives[best] < self._anchor.objective)
        if improved:
            theta = self._candidates[best]
            gradient = self.C * grads[best] + penalty * theta
            hessian = self.C * hessians[best] + np.diag(penalty)
            hessian = (hessian + hessian.T) / 2.0
            self._anchor = _Anchor(theta.copy(), float(objectives[best]),
                                   _solve(hessian, -gradient), float(np.linalg.norm(gradient)),
                                   sites)
            self._alphas = self.step_sizes
        else:
            smallest = min(self._alphas)
            self._alphas = tuple(smallest / 2 ** (k + 1) for k in range(len(self.step_sizes)))
            log.info("round %d: no candidate lowered the objective; steps halved to %s",
                     server_round, self._alphas)
        anchor = self._anchor
        step = 1.0 if 1.0 in self._alphas else max(self._alphas)
        new_theta = anchor.theta + step * anchor.direction
        metrics = weighted_metrics([u.num_examples for u in updates], [u.metrics for u in updates])
        metrics.update({"objective": anchor.objective, "gradient-norm": anchor.gradient_norm,
                        "step-size": step, "line-search-improved": float(improved),
                        "candidate-step": self._sent_alphas[best]})
        return [new_theta[:d].reshape(1, -1), new_theta[d:].copy()], metrics


def _solve(hessian: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """H^-1 rhs by Cholesky (H is positive definite: C * sum p(1-p) x x^T + I on w)."""
    try:
        return cho_solve(cho_factor(hessian), rhs)
    except LinAlgError:
        log.warning("pooled Hessian not positive definite; using least squares")
        return np.linalg.lstsq(hessian, rhs, rcond=None)[0]


def newton_payload_problem(arrays: list[np.ndarray], num_examples: int) -> str | None:
    """Why [losses, gradients, hessians] cannot be an honest site's sums, or None.

    Checks (beyond shape and finiteness): losses >= 0; each Hessian symmetric and positive
    semi-definite; its intercept entry sum p(1 - p) <= n / 4; |intercept gradient| <= n.
    """
    losses, grads, hessians = arrays
    n = float(num_examples)
    if (losses < 0).any():
        return "newton payload: negative log-loss sum"
    for j, hessian in enumerate(hessians):
        scale = 1.0 + float(np.max(np.abs(hessian)))
        if np.max(np.abs(hessian - hessian.T)) > 1e-9 * scale:
            return f"newton payload: Hessian {j} is not symmetric"
        if float(np.linalg.eigvalsh(hessian)[0]) < -1e-8 * scale:
            return f"newton payload: Hessian {j} is not positive semi-definite"
        if hessian[-1, -1] > n / 4 * (1 + 1e-9):
            return f"newton payload: Hessian {j} intercept entry exceeds num-examples / 4"
    if (np.abs(grads[:, -1]) > n * (1 + 1e-9)).any():
        return "newton payload: intercept gradient exceeds num-examples"
    return None
