"""Strategies side by side on Telco: final AUC gap to centralized and rounds to come within 0.002.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_strategies.py [--rounds 10]

Every cell is one in-process run (`fedchurn.simulate.run_job`, the real ClientApp/ServerApp)
on the Telco CSV with seed 42 and an 80/20 split: IID, Dirichlet 0.5, Dirichlet 0.1 and
quantity skew 0.5 at N = 10 and 50, for FedAvg, FedProx (mu = 0.01, 0.1), Newton, median, trimmed
mean (beta 0.2), Multi-Krum (m = n - f, f = 1) and classical Krum (m = 1). A cell reads
"gap (r)": centralized AUC minus the federated AUC after the last round, and the first round
whose |gap| < 0.002 ("-" if none). All sites are honest here; tests/strategy/test_robust.py
has the hostile-site comparison. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TELCO = REPO.parent / "shared" / "data" / "telco_customer_churn.csv"

STRATEGIES = {
    "FedAvg": ["strategy=fedavg"],
    "FedProx 0.01": ["strategy=fedprox", "strategy.proximal_mu=0.01"],
    "FedProx 0.1": ["strategy=fedprox", "strategy.proximal_mu=0.1"],
    "Newton": ["strategy=newton"],
    "median": ["strategy=median"],
    "trimmed 0.2": ["strategy=trimmed_mean", "strategy.beta=0.2"],
    "Multi-Krum": ["strategy=krum"],
    "Krum m=1": ["strategy=krum", "strategy.num_nodes_to_select=1"],
}
PARTITIONS = {
    "IID": ["partition=iid"],
    "Dirichlet 0.5": ["partition=dirichlet", "partition.alpha=0.5"],
    "Dirichlet 0.1": ["partition=dirichlet", "partition.alpha=0.1"],
    "quantity 0.5": ["partition=quantity", "partition.alpha=0.5"],
}
THRESHOLD = 0.002


def run_cell(strategy: list[str], partition: list[str], clients: int, rounds: int) -> dict:
    """One federation; its final gap, first round within THRESHOLD and wall time."""
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job

    # README numbers: sites train on all their rows (client.local_eval_fraction=0)
    cfg = compose_config(["engine=inprocess", "data=telco", f"data.path={TELCO}", "seed=42",
                          f"num_clients={clients}", f"num_rounds={rounds}", *partition,
                          *strategy, "client.local_eval_fraction=0"])
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = run_job(cfg, run_id="bench-strategies", output_dir=None, observers=[])
    central = results["final"]["centralized_auc"]
    aucs = [r["auc"] for r in results["rounds"][1:]]
    within = next((i + 1 for i, auc in enumerate(aucs) if abs(central - auc) < THRESHOLD), None)
    return {"gap": central - aucs[-1], "within": within, "central": central,
            "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="rounds per run (default 10)")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--strategies", nargs="+", choices=list(STRATEGIES),
                        default=list(STRATEGIES))
    parser.add_argument("--partitions", nargs="+", choices=list(PARTITIONS),
                        default=list(PARTITIONS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # dropped / declined sites are expected here
    logging.getLogger().setLevel(logging.ERROR)
    started = time.perf_counter()
    print(f"Telco, seed 42, {args.rounds} rounds, in-process engine. Cell: centralized AUC - "
          f"federated AUC after round {args.rounds} (first round with |gap| < {THRESHOLD}).\n")
    header = ["partition", "N", *args.strategies]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for clients in args.clients:
        for pname in args.partitions:
            cells, central = [], None
            for sname in args.strategies:
                cell = run_cell(STRATEGIES[sname], PARTITIONS[pname], clients, args.rounds)
                central = cell["central"]
                cells.append(f"{cell['gap']:+.4f} ({cell['within'] or '-'})")
                print(f"  ... {pname} N={clients} {sname}: {cells[-1]} "
                      f"[{cell['seconds']:.1f} s]", file=sys.stderr, flush=True)
            print(f"| {pname} | {clients} | " + " | ".join(cells) + " |", flush=True)
    print(f"\ncentralized AUC {central:.4f} (same rows in every cell); "
          f"bench wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
