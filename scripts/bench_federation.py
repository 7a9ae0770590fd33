"""Benchmark the federation on Telco: accuracy vs centralized, heterogeneity gaps, engine cost.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_federation.py [--quick]

1. IID, N in {2, 5, 10, 20}: test AUC per round (5 rounds) against centralized LR.
2. Label skew (Dirichlet 0.5 / 0.1) and size skew (quantity 0.5) at N = 10 and 50 (--quick: 10),
   and variants against client drift at Dirichlet 0.1.
3. Cost of 10 clients x 10 rounds: a plain numpy FedAvg loop over the same partitions, the
   in-process engine and Flower's simulation engine (Ray), each in its own child process;
   wall time and peak memory of the child's whole process tree (Ray's too). The three must
   end with bit-identical parameters. Numbers are measured, nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TELCO = REPO.parent / "shared" / "data" / "telco_customer_churn.csv"


def telco_overrides(engine: str, clients: int, rounds: int, *extra: str) -> list[str]:
    return [f"engine={engine}", "data=telco", f"data.path={TELCO}", f"num_clients={clients}",
            f"num_rounds={rounds}", "seed=42", "test_size=0.2",
            "client.local_eval_fraction=0", *extra]  # README numbers: sites train on all their rows


def quiet_run(overrides: list[str], output_dir: Path | None = None) -> dict:
    """run_job with its console output swallowed."""
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job

    cfg = compose_config(overrides, output_dir=output_dir)
    with contextlib.redirect_stdout(io.StringIO()):
        return run_job(cfg, run_id="bench", output_dir=output_dir, observers=[])


def accuracy_section(quick: bool) -> None:
    print("\n== 1. IID: test AUC per round vs centralized (Telco, 80/20 split, seed 42)")
    print(f"{'N':>3}  {'r1':>7} {'r2':>7} {'r3':>7} {'r4':>7} {'r5':>7}  {'central':>7} "
          f"{'gap r5':>7}  first round |gap|<0.002")
    for clients in (2, 5, 10, 20):
        results = quiet_run(telco_overrides("inprocess", clients, 5))
        aucs = [r["auc"] for r in results["rounds"][1:]]
        central = results["final"]["centralized_auc"]
        within = next((i + 1 for i, a in enumerate(aucs) if abs(central - a) < 0.002), None)
        print(f"{clients:>3}  " + " ".join(f"{a:7.4f}" for a in aucs)
              + f"  {central:7.4f} {central - aucs[-1]:+7.4f}  {within or 'not within 5'}")


def heterogeneity_section(quick: bool) -> None:
    rounds = 5 if quick else 10
    print(f"\n== 2. Skewed partitions: gap after {rounds} rounds (Telco)")
    print(f"{'partition':<16} {'N':>3} {'fed AUC':>8} {'central':>8} {'gap':>8} "
          f"{'local mean':>10} {'local min':>9} {'1-class':>7} {'untrainable':>11}")
    settings = [("dirichlet 0.5", ["partition=dirichlet", "partition.alpha=0.5"]),
                ("dirichlet 0.1", ["partition=dirichlet", "partition.alpha=0.1"]),
                ("quantity 0.5", ["partition=quantity", "partition.alpha=0.5"])]
    for clients in ((10,) if quick else (10, 50)):
        for label, extra in settings:
            results = quiet_run(telco_overrides("inprocess", clients, rounds, *extra))
            final = results["final"]
            single = sum(p["single_class"] for p in results["partitions"])
            print(f"{label:<16} {clients:>3} {final['federated_auc']:8.4f} "
                  f"{final['centralized_auc']:8.4f} {final['auc_gap']:+8.4f} "
                  f"{_f(final['local_mean_auc']):>10} {_f(final['local_min_auc']):>9} "
                  f"{single:>7} {final['local_untrainable']:>11}")


def mitigation_section(quick: bool) -> None:
    """Client drift under strong label skew, and three knobs against it (N=50, Dirichlet 0.1)."""
    clients = 10 if quick else 50
    print(f"\n== 2b. Dirichlet 0.1, N={clients}, 10 rounds: variants against client drift")
    print(f"{'variant':<48} {'fed AUC':>8} {'gap':>8}")
    for extra in ([], ["client.local_iterations=3"], ["client.single_class=decline"],
                  ["strategy.regularisation=local"]):
        results = quiet_run(telco_overrides("inprocess", clients, 10, "partition=dirichlet",
                                            "partition.alpha=0.1", *extra))
        final = results["final"]
        label = " ".join(extra) or "defaults (10 local iterations, global C, train)"
        print(f"{label:<48} {final['federated_auc']:8.4f} {final['auc_gap']:+8.4f}")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


# ----- cost: each variant in a child process ------------------------------------------------
def worker(kind: str, clients: int, rounds: int, repeat: int) -> dict:
    """Run one variant `repeat` times; the fastest run's timings (the least disturbed by other
    load), its final AUC and a digest of the final parameters."""
    runs = [run_variant(kind, clients, rounds) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["federation_s"])
    if len({r["digest"] for r in runs}) != 1:
        best["digest"] += " (repeats differ!)"
    if best["cpu_s"] is not None:
        best["cpu_s"] = min(r["cpu_s"] for r in runs)
    return {**best, "repeats": repeat}


def run_variant(kind: str, clients: int, rounds: int) -> dict:
    started = time.perf_counter()
    if kind == "loop":
        return plain_loop(clients, rounds, started)
    with tempfile.TemporaryDirectory() as out:
        results = quiet_run(telco_overrides(kind, clients, rounds), Path(out))
        from churn.model_artifact import load_model

        model = load_model(Path(out) / "model.json").named_steps["model"]
        arrays = [model.coef_, model.intercept_]
    return {"federation_s": results["timing"]["federation_s"],
            "cpu_s": results["timing"]["federation_cpu_s"] if kind == "inprocess" else None,
            "total_s": time.perf_counter() - started,
            "final_auc": results["final"]["federated_auc"], "digest": _digest(arrays)}


def plain_loop(clients: int, rounds: int, started: float) -> dict:
    """FedAvg over the same partitions and spec with the same local step, no messaging."""
    from churn.metrics import binary_metrics
    from churn.model import predict_proba, zero_params
    from churn.site_data import load_experiment
    from clients.local_training import effective_c, train_locally
    from fedchurn.config import compose_config
    from fedchurn.simulate import client_settings
    from strategy.aggregation import weighted_average

    cfg = compose_config(telco_overrides("inprocess", clients, rounds))
    experiment = load_experiment(client_settings(cfg))
    setup_done, cpu_before = time.perf_counter(), time.process_time()
    spec = experiment.feature_spec(str(cfg["imputation"]))  # same aggregates as the queries
    sites = [(spec.transform(experiment.client_data(k).features), experiment.client_data(k).target)
             for k in range(len(experiment.parts))]
    test_x = spec.transform(experiment.test.features)
    total = sum(len(y) for _, y in sites)
    arrays = zero_params(spec.num_features)
    metrics = binary_metrics(experiment.test.target, predict_proba(arrays, test_x))
    for _ in range(rounds):
        updates = [(len(y), train_locally(arrays, x, y, effective_c(float(cfg["C"]), len(y), total),
                                          int(cfg["client"]["local_iterations"])))
                   for x, y in sites if len(y)]
        arrays = weighted_average([n for n, _ in updates], [a for _, a in updates])
        metrics = binary_metrics(experiment.test.target, predict_proba(arrays, test_x))
    return {"federation_s": time.perf_counter() - setup_done,
            "cpu_s": time.process_time() - cpu_before,
            "total_s": time.perf_counter() - started,
            "final_auc": metrics["auc"], "digest": _digest(arrays)}


def _digest(arrays: list) -> str:
    import numpy as np

    return hashlib.sha256(b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes()
                                   for a in arrays)).hexdigest()[:12]


def tree_rss_mb(root: int, field: str = "rss") -> float:
    """Memory of `root` and all its descendants (Linux /proc): resident ("rss"), or "pss",
    which splits pages shared between processes (forked engine workers) among them so the
    sum is not counted twice."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    if field == "pss":
        return sum(_pss_bytes(p) for p in tree) / 2**20
    return sum(rss.get(p, 0) for p in tree) / 2**20


def _pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def measure(kind: str, clients: int, rounds: int, repeat: int) -> dict:
    """Run a worker child, sampling its process tree's memory every 0.1 s."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, __file__, "--worker", kind, "--clients",
                              str(clients), "--rounds", str(rounds), "--repeat", str(repeat)],
                             cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample() -> None:
        while child.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(child.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    out, err = child.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{err[-3000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "process_s": wall, "peak_mb": peak[0]}


def cost_section(skip_flower: bool, repeat: int, clients: int = 10, rounds: int = 10) -> None:
    print(f"\n== 3. Cost: {clients} clients x {rounds} rounds (Telco), each in a child process; "
          f"loop and inprocess best of {repeat}, flower once")
    print(f"{'variant':<10} {'federation s':>12} {'CPU s':>6} {'process s':>10} {'peak MB':>8} "
          f"{'final AUC':>9}  params digest")
    kinds = ["loop", "inprocess"] + ([] if skip_flower else ["flower"])
    rows = {kind: measure(kind, clients, rounds, 1 if kind == "flower" else repeat)
            for kind in kinds}
    for kind, row in rows.items():
        cpu = "-" if row["cpu_s"] is None else f"{row['cpu_s']:.2f}"
        print(f"{kind:<10} {row['federation_s']:12.2f} {cpu:>6} {row['process_s']:10.1f} "
              f"{row['peak_mb']:8.0f} {row['final_auc']:9.4f}  {row['digest']}")
    loop = rows["loop"]["federation_s"]
    for kind in kinds[1:]:
        print(f"{kind} / loop (federation time): {rows[kind]['federation_s'] / loop:.2f}x")
    print(f"inprocess / loop (CPU time): {rows['inprocess']['cpu_s'] / rows['loop']['cpu_s']:.2f}x")
    same = len({row["digest"] for row in rows.values()}) == 1
    print(f"final parameters bit-identical across variants: {'yes' if same else 'NO'}")
    print("federation s: loop = spec + encode + rounds; engines = preprocessing queries + rounds + "
          "client evaluation + model save (flower: + Ray start/stop); CPU s = this process only")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N=10 only in section 2, 5 rounds")
    parser.add_argument("--skip-flower", action="store_true", help="no Ray run in section 3")
    parser.add_argument("--only", choices=("accuracy", "heterogeneity", "cost"))
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of loop / inprocess in section 3 (the fastest counts)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.clients, args.rounds, args.repeat)))
        return
    logging.basicConfig(level=logging.ERROR)  # rejections are counted in the tables instead
    started = time.perf_counter()
    if args.only in (None, "accuracy"):
        accuracy_section(args.quick)
    if args.only in (None, "heterogeneity"):
        heterogeneity_section(args.quick)
        mitigation_section(args.quick)
    if args.only in (None, "cost"):
        cost_section(args.skip_flower, args.repeat)
    print(f"\nbench wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
