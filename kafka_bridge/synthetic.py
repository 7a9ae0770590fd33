"""Made-up but internally consistent federated runs (demos, dashboard tests, bridge tests,
benchmarks): every global model is the exact sample-weighted average of its round's updates.

No model is trained and no customer data exists. `synthetic_run` builds the whole run up
front, `play` drives a RoundObserver through it as the strategy would.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from churn.metrics import score_summary
from churn.rounds import ClientUpdate, Rejection, RoundObserver, RoundRecord, RunInfo
from kafka_bridge.verify import weighted_average

FEATURES = [
    "tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen", "Contract=Month-to-month",
    "Contract=One year", "Contract=Two year", "InternetService=Fiber optic", "InternetService=DSL",
    "PaymentMethod=Electronic check", "PaperlessBilling=Yes", "TechSupport=No",
    "OnlineSecurity=No", "Dependents=Yes", "Partner=Yes", "StreamingTV=Yes",
]
FIRST_NODE = 1000  # node ids are FIRST_NODE + partition id


@dataclass
class SyntheticRun:
    """A run's RunInfo and RoundRecords, then its summary or, from `failure`, its error."""

    info: RunInfo
    records: list[RoundRecord]
    summary: dict[str, Any]
    failure: str | None = None  # run_failed instead of run_finished, after `records`


def _curves(auc: float, points: int = 60) -> dict[str, dict[str, list[float]]]:
    """Binormal ROC with the given AUC and the matching PR curve at 26% prevalence."""
    from scipy.stats import norm

    sep = math.sqrt(2) * norm.ppf(auc)
    fpr = np.linspace(0, 1, points)
    tpr = norm.cdf(sep + norm.ppf(np.clip(fpr, 1e-9, 1 - 1e-9)))
    tpr[0], tpr[-1] = 0.0, 1.0
    prevalence = 0.26
    recall = tpr[1:]
    precision = prevalence * recall / (prevalence * recall + (1 - prevalence) * fpr[1:])
    return {"roc": {"fpr": fpr.round(4).tolist(), "tpr": tpr.round(4).tolist()},
            "pr": {"recall": recall.round(4).tolist(), "precision": precision.round(4).tolist()}}


def _scores(auc: float, rows: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Histogram and gains (as strategy/server_app.py sends them) of binormal scores with the
    given AUC at 26% prevalence."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    churned = rng.random(rows) < 0.26
    logit = rng.normal(size=rows) + churned * math.sqrt(2) * norm.ppf(auc) - 1.0
    return score_summary(churned, 1 / (1 + np.exp(-logit)))


def synthetic_run(run_id: str | None = None, *, num_clients: int = 3, num_rounds: int = 3,
                  seed: int = 0, train_rejections: Mapping[int, int] | None = None,
                  evaluate_rejections: Mapping[int, int] | None = None,
                  nan_evaluate_round: int | None = None, fail_at_round: int | None = None,
                  config: dict[str, Any] | None = None) -> SyntheticRun:
    """A run of `num_rounds` rounds whose model converges towards a seeded truth.

    `train_rejections` / `evaluate_rejections` map a round to the partition whose train reply
    is rejected (it sends no update) / whose evaluate reply is not used; `nan_evaluate_round`
    makes that round's evaluate AUC NaN; `fail_at_round` ends the run failed at that round.
    """
    train_rejections, evaluate_rejections = train_rejections or {}, evaluate_rejections or {}
    rng = np.random.default_rng(seed)
    run_id = run_id or f"synthetic-{uuid.uuid4().hex[:12]}"
    d = len(FEATURES)
    truth = rng.normal(0, 1.0, d)
    central_auc = 0.84 + 0.01 * rng.random()
    local_auc = {str(p): round(central_auc - 0.03 - 0.05 * rng.random(), 4) for p in range(num_clients)}
    cfg = {"data": {"name": "synthetic", "num_rows": 1500}, "partition": {"name": "iid"},
           "strategy": {"name": "fedavg"}, "engine": {"name": "inprocess"},
           "num_clients": num_clients, "num_rounds": num_rounds, "seed": seed, **(config or {})}
    info = RunInfo(
        run_id=run_id, config=cfg, dataset_fingerprint=f"synthetic-{seed}", code_version="demo",
        feature_names=FEATURES, spec_fingerprint="demo-spec", num_clients=num_clients,
        reference={"centralized_auc": central_auc, "local_auc": local_auc,
                   "centralized": {"auc": central_auc, "pr_auc": central_auc - 0.2, "log_loss": 0.41,
                                   "accuracy": 0.8},
                   "local_mean_auc": float(np.mean(list(local_auc.values()))),
                   "local_min_auc": min(local_auc.values())})
    nodes = [FIRST_NODE + p for p in range(num_clients)]
    records: list[RoundRecord] = []
    auc = 0.5
    for rnd in range(1, num_rounds + 1):
        if fail_at_round == rnd:
            return SyntheticRun(info, records, {}, failure=f"RuntimeError: node {nodes[0]} lost "
                                                           f"in round {rnd} (synthetic failure)")
        progress = 1 - math.exp(-rnd / 1.5)
        coef = truth * progress + rng.normal(0, 0.05, d)
        updates, rejected, eval_rejected = [], [], []
        for p, node in enumerate(nodes):
            if train_rejections.get(rnd) == p:
                rejected.append(Rejection(node, "spec-fingerprint mismatch", partition_id=p))
                continue
            if evaluate_rejections.get(rnd) == p:
                eval_rejected.append(Rejection(node, "evaluate reply timed out", partition_id=p))
            local = coef + rng.normal(0, 0.1, d)
            updates.append(ClientUpdate(node, p, int(1200 / num_clients) + p, {
                "train-log-loss": 0.6 - 0.15 * progress + 0.02 * rng.random(),
                "train-auc": 0.8 + 0.05 * progress + 0.01 * rng.random(),
                "train-accuracy": 0.7 + 0.08 * progress}, [local[None, :], np.array([-1.1])]))
        auc = central_auc - (central_auc - 0.62) * math.exp(-rnd / 1.2) + 0.002 * rng.standard_normal()
        global_arrays = weighted_average([(u.node_id, u.num_examples, u.arrays) for u in updates])
        eval_auc = float("nan") if rnd == nan_evaluate_round else 0.79 + 0.05 * progress
        records.append(RoundRecord(
            server_round=rnd, sampled_nodes=nodes, updates=updates, rejected=rejected,
            global_arrays=global_arrays, evaluate_rejected=eval_rejected,
            train_metrics={"train-log-loss": 0.6 - 0.15 * progress, "train-auc": 0.8 + 0.05 * progress},
            evaluate_metrics={"eval-log-loss": 0.58 - 0.14 * progress, "eval-auc": eval_auc},
            server_metrics={"auc": auc, "pr_auc": auc - 0.2, "log_loss": 0.62 - 0.2 * progress,
                            "accuracy": 0.72 + 0.07 * progress},
            durations={"train": 0.2 + 0.05 * rng.random(), "evaluate": 0.05, "round": 0.3}))
    # The shape strategy/server_app.py sends, plus the curve points the dashboard asks for.
    final_log_loss = 0.62 - 0.2 * (1 - math.exp(-num_rounds / 1.5))
    summary = {"run_id": run_id, "rounds": num_rounds,
               "final_server_metrics": {"auc": auc, "log_loss": final_log_loss},
               "curves": _curves(auc), "scores": _scores(auc)}
    return SyntheticRun(info, records, summary)


def every_event_kind(num_clients: int) -> dict[str, Any]:
    """`synthetic_run` options that exercise every event kind and the NaN encoding: round 2
    rejects the last client's train reply, round 3 one evaluate reply, round 1's evaluate AUC
    is NaN."""
    return {"train_rejections": {2: num_clients - 1} if num_clients > 1 else {},
            "evaluate_rejections": {3: 0}, "nan_evaluate_round": 1}


def play(observer: RoundObserver, run: SyntheticRun, delay_s: float = 0.0) -> None:
    """Drive `observer` through `run` as the strategy would, rounds `delay_s` apart; the
    summary's `wall_time_s` is the time the playing took."""
    started = time.monotonic()
    observer.run_started(run.info)
    for record in run.records:
        observer.round_started(record.server_round, record.sampled_nodes)
        observer.round_finished(record)
        if delay_s:
            time.sleep(delay_s)
    if run.failure is not None:
        observer.run_failed(run.failure)
        return
    observer.run_finished({**run.summary, "wall_time_s": time.monotonic() - started})
