"""Synthetic federated runs fed through the real KafkaObserver (demos, tests, benchmark).

Run: python -m dashboard.demo_feed --bootstrap HOST:PORT [--runs 3 --rounds 5 --delay 1]
Every number is made up; no model is trained and no customer data exists.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any, Protocol

import numpy as np

from churn.metrics import score_summary
from churn.rounds import ClientUpdate, Rejection, RoundRecord, RunInfo
from kafka_bridge.verify import weighted_average

FEATURES = [
    "tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen", "Contract=Month-to-month",
    "Contract=One year", "Contract=Two year", "InternetService=Fiber optic", "InternetService=DSL",
    "PaymentMethod=Electronic check", "PaperlessBilling=Yes", "TechSupport=No",
    "OnlineSecurity=No", "Dependents=Yes", "Partner=Yes", "StreamingTV=Yes",
]


class Observer(Protocol):
    """The RoundObserver methods this feed calls."""

    def run_started(self, info: RunInfo) -> None: ...
    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None: ...
    def round_finished(self, record: RoundRecord) -> None: ...
    def run_finished(self, summary: dict[str, Any]) -> None: ...
    def run_failed(self, error: str) -> None: ...


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
    """Histogram and gains of binormal scores with the given AUC at 26% prevalence."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    churned = rng.random(rows) < 0.26
    logit = rng.normal(size=rows) + churned * math.sqrt(2) * norm.ppf(auc) - 1.0
    return score_summary(churned, 1 / (1 + np.exp(-logit)))


def feed_run(observer: Observer, run_id: str, *, num_clients: int = 3, num_rounds: int = 3,
             seed: int = 0, delay_s: float = 0.0, fail_at_round: int | None = None,
             reject_node: int | None = None, config: dict[str, Any] | None = None) -> None:
    """Drive `observer` through one synthetic run (rounds `delay_s` apart)."""
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    d = len(FEATURES)
    truth = rng.normal(0, 1.0, d)
    central_auc = 0.84 + 0.01 * rng.random()
    local_auc = {str(p): round(central_auc - 0.03 - 0.05 * rng.random(), 4) for p in range(num_clients)}
    cfg = {"data": {"name": "synthetic", "num_rows": 1500}, "partition": {"name": "iid"},
           "strategy": {"name": "fedavg"}, "engine": {"name": "inprocess"},
           "num_clients": num_clients, "num_rounds": num_rounds, "seed": seed, **(config or {})}
    observer.run_started(RunInfo(
        run_id=run_id, config=cfg, dataset_fingerprint=f"synthetic-{seed}", code_version="demo",
        feature_names=FEATURES, spec_fingerprint="demo-spec", num_clients=num_clients,
        reference={"centralized_auc": central_auc, "local_auc": local_auc,
                   "centralized": {"auc": central_auc, "pr_auc": central_auc - 0.2, "log_loss": 0.41,
                                   "accuracy": 0.8},
                   "local_mean_auc": float(np.mean(list(local_auc.values()))),
                   "local_min_auc": min(local_auc.values())}))
    nodes = [1000 + p for p in range(num_clients)]
    auc = 0.5
    for rnd in range(1, num_rounds + 1):
        if fail_at_round == rnd:
            observer.run_failed(f"RuntimeError: node {nodes[0]} lost in round {rnd} (synthetic failure)")
            return
        observer.round_started(rnd, nodes)
        progress = 1 - math.exp(-rnd / 1.5)
        coef = truth * progress + rng.normal(0, 0.05, d)
        updates, rejected, eval_rejected = [], [], []
        for p, node in enumerate(nodes):
            if node == reject_node and rnd % 2 == 0:
                rejected.append(Rejection(node, "spec-fingerprint mismatch", partition_id=p))
                continue
            if node == reject_node and rnd % 3 == 0:
                eval_rejected.append(Rejection(node, "evaluate reply timed out", partition_id=p))
            local = coef + rng.normal(0, 0.1, d)
            updates.append(ClientUpdate(node, p, int(1200 / num_clients) + p, {
                "train-log-loss": 0.6 - 0.15 * progress + 0.02 * rng.random(),
                "train-auc": 0.8 + 0.05 * progress + 0.01 * rng.random(),
                "train-accuracy": 0.7 + 0.08 * progress}, [local[None, :], np.array([-1.1])]))
        auc = central_auc - (central_auc - 0.62) * math.exp(-rnd / 1.2) + 0.002 * rng.standard_normal()
        global_arrays = weighted_average([(u.node_id, u.num_examples, u.arrays) for u in updates])
        observer.round_finished(RoundRecord(
            server_round=rnd, sampled_nodes=nodes, updates=updates, rejected=rejected,
            global_arrays=global_arrays, evaluate_rejected=eval_rejected,
            train_metrics={"train-log-loss": 0.6 - 0.15 * progress, "train-auc": 0.8 + 0.05 * progress},
            evaluate_metrics={"eval-log-loss": 0.58 - 0.14 * progress, "eval-auc": 0.79 + 0.05 * progress},
            server_metrics={"auc": auc, "pr_auc": auc - 0.2, "log_loss": 0.62 - 0.2 * progress,
                            "accuracy": 0.72 + 0.07 * progress},
            durations={"train": 0.2 + 0.05 * rng.random(), "evaluate": 0.05, "round": 0.3}))
        if delay_s:
            time.sleep(delay_s)
    # The shape strategy/server_app.py sends, plus the curve points the dashboard asks for.
    observer.run_finished({
        "run_id": run_id, "rounds": num_rounds,
        "final_server_metrics": {"auc": auc, "log_loss": 0.62 - 0.2 * (1 - math.exp(-num_rounds / 1.5))},
        "wall_time_s": time.monotonic() - started, "curves": _curves(auc),
        "scores": _scores(auc)})


def main(argv: list[str] | None = None) -> int:
    """Publish a few synthetic runs to a broker through the real bridge."""
    from kafka_bridge.observer import KafkaObserver

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic-prefix", default="fedchurn")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--spool-dir", default=".kafka/demo-spool")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    for i in range(args.runs):
        observer = KafkaObserver({"bootstrap_servers": args.bootstrap, "topic_prefix": args.topic_prefix,
                                  "spool_dir": args.spool_dir})
        feed_run(observer, f"demo_{stamp}_{i}", num_clients=args.clients, num_rounds=args.rounds,
                 seed=i, delay_s=args.delay, reject_node=1001 if i % 2 else None)
        print(f"published demo_{stamp}_{i}: {observer.last_stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
