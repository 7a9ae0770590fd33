"""A synthetic, internally consistent federated run for demos, tests and benchmarks."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from churn.rounds import ClientUpdate, Rejection, RoundObserver, RoundRecord, RunInfo
from kafka_bridge.verify import weighted_average


def synthetic_run(run_id: str | None = None, *, rounds: int = 3, clients: int = 4,
                  dim: int = 8, seed: int = 0) -> tuple[RunInfo, list[RoundRecord]]:
    """RunInfo + RoundRecords whose global arrays are the exact sample-weighted average.

    Round 2 rejects the last client's train reply, round 3 one evaluate reply, and the
    evaluate AUC of round 1 is NaN, so every event kind and the NaN encoding are exercised.
    """
    rng = np.random.default_rng(seed)
    run_id = run_id or f"synthetic-{uuid.uuid4().hex[:12]}"
    features = [f"f{i}" for i in range(dim)]
    info = RunInfo(run_id=run_id, config={"rounds": rounds, "clients": clients, "lr": 0.1},
                   dataset_fingerprint="sha256:" + "0" * 64, code_version="synthetic",
                   feature_names=features, spec_fingerprint="sha256:" + "1" * 64,
                   num_clients=clients,
                   reference={"centralized_auc": 0.84, "local_auc": {"0": 0.8, "1": None}})
    nodes = [1000 + 17 * i for i in range(clients)]
    records = []
    for r in range(1, rounds + 1):
        accepted = nodes[:-1] if (r == 2 and clients > 1) else nodes
        updates = [ClientUpdate(node_id=n, partition_id=i, num_examples=int(rng.integers(50, 500)),
                                metrics={"train_loss": float(rng.random()), "accuracy": 0.7},
                                arrays=[rng.normal(size=(1, dim)), rng.normal(size=(1,))])
                   for i, n in enumerate(nodes) if n in accepted]
        rejected = [Rejection(n, "non-finite coef", partition_id=nodes.index(n))
                    for n in nodes if n not in accepted]
        global_arrays = weighted_average([(u.node_id, u.num_examples, u.arrays) for u in updates])
        record = RoundRecord(
            server_round=r, sampled_nodes=list(nodes), updates=updates, rejected=rejected,
            global_arrays=global_arrays, train_metrics={"train_loss": float(rng.random())},
            evaluate_metrics={"auc": float("nan") if r == 1 else float(rng.random())},
            server_metrics={"auc": 0.5 + r / (2 * rounds), "pr_auc": float(rng.random())},
            durations={"train": 0.5, "evaluate": 0.1, "round": 0.7})
        if r == 3:
            record.evaluate_rejected = [Rejection(nodes[0], "evaluate timeout", 0)]
        records.append(record)
    return info, records


def play(observer: RoundObserver, info: RunInfo, records: list[RoundRecord],
         summary: dict[str, Any] | None = None) -> None:
    """Drive an observer through a whole run, as the strategy would."""
    observer.run_started(info)
    for rec in records:
        observer.round_started(rec.server_round, rec.sampled_nodes)
        observer.round_finished(rec)
    observer.run_finished(summary or {"rounds": len(records),
                                      "final_auc": records[-1].server_metrics.get("auc")})
