"""Benchmark: cost per site-round of the in-process engine against a plain loop, N = 10..5000.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_scale.py [--quick]
      [--sites 10,100,1000,5000] [--rows 7000,70000,700000] [--rounds 3] [--workers 1,2]
      [--repeats K]

For every (sites N, synthetic rows) cell, each in its own child process, side by side in one run:
- loop: the same local work with no messaging: the spec from the same per-site aggregates,
  each site's rows encoded (one pool encoding, as the ClientApp does), then per round every
  site's warm-started L-BFGS steps and train metrics, the exact FedAvg average, every site's
  evaluation of the new model, its federated-evaluation payload (sparse score histogram
  over `strategy.score_bins`, certificate sums, local-only AUC fitted once per run: the
  ClientApp's own functions), the server's pooled merge (`federated_summary`) and its
  test-set evaluation. Not in the loop: messages, records, serialization, reply checks;
- inprocess w=W: `fedchurn.simulate.run_job` on the in-process engine with W worker processes
  (`engine.workers`), preprocessing queries included, `reference.local_only=false`.
Columns: federation wall and CPU (the child and its reaped workers), peak memory of the
child's process tree (PSS: pages the forked workers share with their parent count once), ms
per site-round (federation wall, and CPU, / (N x rounds)), ratios to the loop, the 1-min load
average when the cell started, and whether the final parameters are bit-identical to the
loop's. With `--repeats K` every cell runs its loop and engine variants K times, alternating:
times are medians, ratios the median of each repeat's engine / loop pair, beside their range
(measured: the loop alone at 1,000 sites x 70k rows x 5 rounds took 17.4-22.6 s in seven runs
within an hour at load average below 1.3; the machine is a shared VM). A last table times the
reference models (centralized, local-only) per N.
Numbers are measured, nothing is asserted; the machine is shared, so read CPU beside wall.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_federation import _digest, tree_rss_mb  # noqa: E402


def overrides(sites: int, rows: int, rounds: int, workers: int = 1) -> list[str]:
    return ["engine=inprocess", f"engine.workers={workers}", "data=synthetic",
            f"data.num_rows={rows}", f"num_clients={sites}", f"num_rounds={rounds}", "seed=42",
            "reference.local_only=false"]


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the engine's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _children_cpu_s() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def plain_loop(sites: int, rows: int, rounds: int) -> dict:
    """The sites' local work and the server's arithmetic in one loop, no messages."""
    from churn.certificate import site_sums
    from churn.federated_eval import federated_summary
    from churn.metrics import binary_metrics
    from churn.model import predict_proba, zero_params
    from churn.rounds import SiteEval
    from churn.site_data import encoded_node_data, encoded_pool, load_experiment
    from clients.federated_eval import local_only_auc
    from clients.local_training import (
        effective_c,
        local_metrics,
        participation_problem,
        train_locally,
    )
    from fedchurn.config import compose_config
    from fedchurn.simulate import client_settings
    from strategy.aggregation import weighted_average, weighted_metrics
    from strategy.federated_eval import FederatedEvalSettings

    cfg = compose_config(overrides(sites, rows, rounds))
    settings = client_settings(cfg)
    experiment = load_experiment(settings)
    started, cpu_before = time.perf_counter(), _cpu_s()
    spec = experiment.feature_spec(str(cfg["imputation"]))  # same aggregates as the queries
    spec_json = spec.to_json()
    encoded_pool(settings, spec_json)  # one encoding for all sites, as the ClientApp's pool
    # each site's (x_train, y_train, x_eval, y_eval): `client.local_eval_fraction` held out
    site_data = [encoded_node_data(settings, k, "", spec_json) for k in range(sites)]
    site_rows = [(x, y) for x, y, _, _ in site_data]
    eval_rows = [(x, y) for _, _, x, y in site_data]
    fe = FederatedEvalSettings.from_options(cfg["strategy"], float(cfg["C"]))
    test_x = spec.transform(experiment.test.features)
    total = sum(len(y) for _, y in site_rows)
    C, iterations = float(cfg["C"]), int(cfg["client"]["local_iterations"])
    min_rows, single = int(cfg["client"]["min_rows"]), str(cfg["client"]["single_class"])
    arrays = zero_params(spec.num_features)
    binary_metrics(experiment.test.target, predict_proba(arrays, test_x))
    for _ in range(rounds):
        updates = []
        for x, y in site_rows:
            if participation_problem(y, min_rows, single):
                continue
            new = train_locally(arrays, x, y, effective_c(C, len(y), total), iterations)
            updates.append((len(y), new, local_metrics(new, x, y, "train")))
        arrays = weighted_average([n for n, _, _ in updates], [a for _, a, _ in updates])
        weighted_metrics([n for n, _, _ in updates], [m for _, _, m in updates])
        evaluations = [(len(y), local_metrics(arrays, x, y, "eval")) for x, y in eval_rows if len(y)]
        weighted_metrics([n for n, _ in evaluations], [m for _, m in evaluations])
        if fe is not None:  # what each site computes for its reply, and the server's merge
            theta = np.concatenate([np.ravel(arrays[0]), np.ravel(arrays[1])])
            evals = []
            evaluated = [k for k, (_, y) in enumerate(eval_rows) if len(y)]
            for k, (_, m) in zip(evaluated, evaluations, strict=True):
                (x, y), (x_eval, y_eval) = site_rows[k], eval_rows[k]
                logits = x_eval @ theta[:-1] + theta[-1]
                loss, sums = site_sums(theta, x, y)  # the certificate: training rows
                evals.append(SiteEval(
                    k, k, len(y_eval), len(y), fe.bins.histogram(logits, y_eval), sums,
                    float(np.sum(np.logaddexp(0.0, logits) - y_eval * logits)), loss,
                    local_only_auc(settings, k, "", spec_json, fe.C), m["eval-auc"]))
            federated_summary(evals, arrays, fe.C, fe.bins)
        metrics = binary_metrics(experiment.test.target, predict_proba(arrays, test_x))
    return {"federation_s": time.perf_counter() - started, "cpu_s": _cpu_s() - cpu_before,
            "final_auc": metrics["auc"], "digest": _digest(arrays)}


def engine_run(sites: int, rows: int, rounds: int, workers: int) -> dict:
    """run_job on the in-process engine; the last round's global arrays for the digest."""
    from churn.rounds import RoundObserver
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job

    class LastArrays(RoundObserver):
        arrays: list = []

        def run_started(self, info): ...
        def round_started(self, server_round, sampled_nodes): ...
        def round_finished(self, record): self.arrays = record.global_arrays
        def run_finished(self, summary): ...
        def run_failed(self, error): ...

    cfg = compose_config(overrides(sites, rows, rounds, workers))
    last = LastArrays()
    kids_before = _children_cpu_s()
    with contextlib.redirect_stdout(io.StringIO()):
        results = run_job(cfg, run_id="bench-scale", output_dir=None, observers=[last])
    # the workers live only during the federation: their CPU is all federation CPU
    return {"federation_s": results["timing"]["federation_s"],
            "cpu_s": results["timing"]["federation_cpu_s"] + _children_cpu_s() - kids_before,
            "setup_s": results["timing"]["setup_s"],
            "final_auc": results["final"]["federated_auc"], "digest": _digest(last.arrays)}


def references(sites: int, rows: int) -> dict:
    """Seconds for the centralized model alone and with one local-only model per site."""
    from churn.site_data import load_experiment
    from fedchurn.baselines import compute_baselines
    from fedchurn.config import compose_config
    from fedchurn.simulate import client_settings

    cfg = compose_config(overrides(sites, rows, 1))
    experiment = load_experiment(client_settings(cfg))
    spec = experiment.feature_spec(str(cfg["imputation"]))
    timings = {}
    for local_only in (False, True):
        started = time.perf_counter()
        compute_baselines(experiment, spec, float(cfg["C"]), local_only=local_only)
        timings["local_s" if local_only else "central_s"] = time.perf_counter() - started
    timings["local_s"] -= timings["central_s"]
    return timings


def child(kind: str, sites: int, rows: int, rounds: int, workers: int) -> None:
    if kind == "loop":
        out = plain_loop(sites, rows, rounds)
    elif kind == "references":
        out = references(sites, rows)
    else:
        out = engine_run(sites, rows, rounds, workers)
    print(json.dumps(out))


def measure(kind: str, sites: int, rows: int, rounds: int, workers: int = 1) -> dict:
    """Run one cell in a child, sampling its process tree's memory every 0.1 s."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, "--sites", str(sites),
                             "--rows", str(rows), "--rounds", str(rounds),
                             "--workers", str(workers)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(proc.pid, "pss"))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} N={sites} rows={rows} failed:\n{err[-3000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_mb": peak[0]}


def _summary(runs: list[dict], loops: list[dict]) -> dict:
    """Medians of a variant's repeats; its ratios to the loop run beside it in each repeat."""
    ratios = [r["federation_s"] / loop["federation_s"] for r, loop in zip(runs, loops, strict=True)]
    cpu = [r["cpu_s"] / max(loop["cpu_s"], 1e-9) for r, loop in zip(runs, loops, strict=True)]
    return {"federation_s": float(np.median([r["federation_s"] for r in runs])),
            "cpu_s": float(np.median([r["cpu_s"] for r in runs])),
            "peak_mb": max(r["peak_mb"] for r in runs),
            "ratio": float(np.median(ratios)), "cpu_ratio": float(np.median(cpu)),
            "ratio_min": min(ratios), "ratio_max": max(ratios),
            "same": all(r["digest"] == loops[0]["digest"] for r in runs + loops)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 10, 100 on 7k and 70k rows")
    parser.add_argument("--sites", default="10,100,1000,5000")
    parser.add_argument("--rows", default="7000,70000,700000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default=None,
                        help="engine.workers values to run (default: 1 and the machine's cores)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each cell's loop and engine variants this many times, "
                             "alternating; print medians and the spread of the ratio")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, int(args.sites), int(args.rows), args.rounds, int(args.workers or 1))
        return
    from fedchurn.engines.node_workers import default_workers

    sites = [10, 100] if args.quick else [int(s) for s in args.sites.split(",")]
    rows = [7000, 70000] if args.quick else [int(r) for r in args.rows.split(",")]
    workers = ([int(w) for w in args.workers.split(",")] if args.workers
               else sorted({1, default_workers()}))
    started = time.perf_counter()
    print(f"bench_scale: {args.rounds} rounds, synthetic data, {default_workers()} cores, "
          f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'N':>5} {'rows':>7} {'variant':<13} {'fed wall s':>10} {'CPU s':>7} "
          f"{'peak PSS MB':>11} "
          f"{'ms/site-rd':>10} {'CPU ms/s-r':>10} {'wall/loop':>9} {'CPU/loop':>8} "
          f"{'ratio range':>11} {'load1':>6}  same params")
    refs = []
    for n_rows in rows:
        for n in sites:
            load = os.getloadavg()[0]
            labels = ["loop"] + [f"inprocess w={w}" for w in workers]
            runs: dict[str, list[dict]] = {label: [] for label in labels}
            for _ in range(args.repeats):  # alternating, so a noisy minute hits every variant
                runs["loop"].append(measure("loop", n, n_rows, args.rounds))
                for w in workers:
                    runs[f"inprocess w={w}"].append(measure("engine", n, n_rows, args.rounds, w))
            for label in labels:
                row = _summary(runs[label], runs["loop"])
                spread = (f"{row['ratio_min']:.2f}-{row['ratio_max']:.2f}"
                          if args.repeats > 1 else "")
                print(f"{n:>5} {n_rows:>7} {label:<13} {row['federation_s']:10.2f} "
                      f"{row['cpu_s']:7.2f} {row['peak_mb']:11.0f} "
                      f"{1000 * row['federation_s'] / (n * args.rounds):10.2f} "
                      f"{1000 * row['cpu_s'] / (n * args.rounds):10.2f} "
                      f"{row['ratio']:9.2f} {row['cpu_ratio']:8.2f} {spread:>11} {load:6.2f}  "
                      f"{'yes' if row['same'] else 'NO'}", flush=True)
            if n_rows == rows[0] or n == sites[-1]:
                refs.append((n, n_rows, measure("references", n, n_rows, 1)))
    print("\nreference models (fedchurn.baselines), seconds")
    print(f"{'N':>5} {'rows':>7} {'centralized':>11} {'local-only':>10} {'peak PSS MB':>11}")
    for n, n_rows, row in refs:
        print(f"{n:>5} {n_rows:>7} {row['central_s']:11.2f} {row['local_s']:10.2f} "
              f"{row['peak_mb']:11.0f}")
    print(f"\nload average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"bench wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
