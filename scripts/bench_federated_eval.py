"""Federated evaluation on Telco: pooled vs exact AUC, certificate bound vs true gap, per-site payoff.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_federated_eval.py [--rounds 5]

Every run is one in-process federation (`fedchurn.simulate.run_job`, the real ClientApp and
ServerApp) on the Telco CSV, seed 42, 80/20 split, `client.local_eval_fraction=0.2` (each site
holds out a stratified fifth of its rows for evaluation): IID and Dirichlet 0.1 at N = 10 and
20, for FedAvg, FedProx (mu 0.1) and Newton. Per round it prints the pooled AUC the server
merged from the sites' histograms next to the exact AUC of the same global model on the union
of the sites' evaluation rows (recomputed here from the rows, which the federation never
does), the reported binning bound, and the certificate's objective-gap bound next to the true
gap to a tight centralized fit on the union of the sites' training rows. Then per run the
sites' local-only vs federated AUC (computed at each site on its own evaluation rows).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TELCO = REPO.parent / "shared" / "data" / "telco_customer_churn.csv"

STRATEGIES = {"FedAvg": ["strategy=fedavg"],
              "FedProx 0.1": ["strategy=fedprox", "strategy.proximal_mu=0.1"],
              "Newton": ["strategy=newton"]}
PARTITIONS = {"IID": ["partition=iid"],
              "Dirichlet 0.1": ["partition=dirichlet", "partition.alpha=0.1"]}


class Rounds:
    """A RoundObserver keeping each round's record (the global model of every round)."""

    def __init__(self) -> None:
        self.records: list = []

    def run_started(self, info: object) -> None: ...

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None: ...

    def round_finished(self, record: object) -> None:
        self.records.append(record)

    def run_finished(self, summary: dict) -> None: ...

    def run_failed(self, error: str) -> None: ...


def run(strategy: list[str], partition: list[str], clients: int, rounds: int) -> dict:
    """One federation, and per round the pooled numbers next to the truth from pooled rows."""
    from churn.metrics import rank_auc
    from churn.model import predict_proba
    from churn.model_artifact import load_model
    from churn.optimum import objective, tight_fit
    from churn.site_data import encoded_node_data
    from fedchurn.config import compose_config
    from fedchurn.simulate import client_settings, run_job

    cfg = compose_config(["engine=inprocess", "data=telco", f"data.path={TELCO}", "seed=42",
                          f"num_clients={clients}", f"num_rounds={rounds}",
                          "client.local_eval_fraction=0.2", *partition, *strategy])
    observer = Rounds()
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        results = run_job(cfg, run_id="bench-fe", output_dir=Path(out), observers=[observer])
        seconds = time.perf_counter() - started
        spec_json = load_model(Path(out) / "model.json").named_steps["features"].spec_json
    sites = [encoded_node_data(client_settings(cfg), p, "", spec_json) for p in range(clients)]
    x_train = np.vstack([s[0] for s in sites])
    y_train = np.concatenate([s[1] for s in sites])
    labels = np.concatenate([s[3] for s in sites])
    C = float(cfg["C"])
    best = objective(tight_fit(x_train, y_train, C), x_train, y_train, C)
    per_round = []
    for record in observer.records:
        fe = record.federated_eval
        theta = np.concatenate([record.global_arrays[0].ravel(), record.global_arrays[1]])
        scores = np.concatenate([predict_proba(record.global_arrays, s[2]) for s in sites])
        per_round.append({"round": record.server_round, "pooled": fe["pooled_auc"],
                          "exact": rank_auc(labels, scores), "bin_error": fe["auc_bin_error"],
                          "bound": fe["objective_gap_bound"],
                          "gap": objective(theta, x_train, y_train, C) - best,
                          "grad": fe["gradient_norm"]})
    return {"rounds": per_round, "sites": results["final"]["federated_eval"]["sites"],
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 20])
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    started = time.perf_counter()
    print(f"Telco, seed 42, {args.rounds} rounds, local_eval_fraction 0.2, in-process engine; "
          f"load average at start {os.getloadavg()[0]:.1f}\n")
    print("| partition | N | strategy | round | pooled AUC | exact AUC | |diff| | bin bound "
          "| grad norm | gap bound | true gap | bound/gap |")
    print("|" + "|".join("---" for _ in range(12)) + "|")
    site_lines, worst_diff, violations = [], 0.0, 0
    for clients in args.clients:
        for pname, partition in PARTITIONS.items():
            for sname, strategy in STRATEGIES.items():
                out = run(strategy, partition, clients, args.rounds)
                for r in out["rounds"]:
                    diff = abs(r["pooled"] - r["exact"])
                    worst_diff = max(worst_diff, diff)
                    violations += r["bound"] < r["gap"] - 1e-9 * max(1.0, abs(r["gap"]))
                    ratio = r["bound"] / r["gap"] if r["gap"] > 1e-12 else float("inf")
                    print(f"| {pname} | {clients} | {sname} | {r['round']} | {r['pooled']:.5f} "
                          f"| {r['exact']:.5f} | {diff:.1e} | {r['bin_error']:.1e} "
                          f"| {r['grad']:.2e} | {r['bound']:.2e} | {r['gap']:.2e} "
                          f"| {ratio:.3g} |", flush=True)
                sites = out["sites"]
                gains = [s["auc_gain"] for s in sites if s["auc_gain"] is not None
                         and np.isfinite(s["auc_gain"])]
                site_lines.append(
                    f"| {pname} | {clients} | {sname} | "
                    + " ".join(_site_cell(s) for s in sites)
                    + f" | {sum(g > 0 for g in gains)}/{len(gains)} | "
                    f"{np.mean(gains) if gains else float('nan'):+.4f} | "
                    f"{sum(bool(s['flags']) for s in sites)} |")
                print(f"  ... {pname} N={clients} {sname} [{out['seconds']:.1f} s]",
                      file=sys.stderr, flush=True)
    print("\nPer site after the last round: local-only AUC -> federated AUC on the site's own "
          "evaluation rows (* = flagged small / one-class / no local model)\n")
    print("| partition | N | strategy | sites (local -> federated) | federated better | "
          "mean gain | flagged |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(site_lines))
    print(f"\nlargest |pooled - exact| AUC: {worst_diff:.1e}; rounds where the bound was below "
          f"the true gap: {violations}; load average at end {os.getloadavg()[0]:.1f}; "
          f"bench wall time {time.perf_counter() - started:.0f} s")


def _site_cell(site: dict) -> str:
    def fmt(v: object) -> str:
        return "-" if v is None or not np.isfinite(v) else f"{v:.3f}"

    flag = "*" if site["flags"] else ""
    return f"{site['partition_id']}{flag}:{fmt(site['local_auc'])}->{fmt(site['federated_auc'])}"


if __name__ == "__main__":
    main()
