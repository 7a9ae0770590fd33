"""Benchmark: per-reply cost of the federated-eval score histogram, dense (2, 8002) vs sparse (3, k).

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/bench_sparse_histogram.py [--rows 14]

Per evaluation reply, for a site with `--rows` evaluation rows and the default 8000 bins: the
site's counting (dense: the former `np.bincount(..., minlength=size)` pair; sparse:
`ScoreBins.histogram`), Flower's `ArrayRecord({"histogram": Array(h)})` (numpy -> bytes), the
server's `.numpy()` (bytes -> numpy) and its check, and the bytes on the wire ("per reply"
sums these four: the in-process engine with one worker moves replies as objects); apart: a
pickle round trip of the record (what `engine.workers` >= 2 sends through a pipe), the Kafka
mirror's `array_digest` of the histogram, and the server's merge of `--sites` replies. Best
of 5 repeats of timeit loops.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flwr.app import Array, ArrayRecord  # noqa: E402

from churn.pooled_metrics import ScoreBins, merge_histograms, sparse_problem  # noqa: E402
from kafka_bridge.events import array_digest  # noqa: E402


def dense_histogram(bins: ScoreBins, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The (2, size) counts sites sent before the sparse form."""
    idx, positive = bins.index(logits), np.asarray(target).astype(int) == 1
    return np.stack([np.bincount(idx[~positive], minlength=bins.size),
                     np.bincount(idx[positive], minlength=bins.size)]).astype(np.float64)


def dense_check(h: np.ndarray, size: int, rows: int) -> bool:
    """The former server check: shape, finite, counts >= 0, total."""
    return (h.shape == (2, size) and bool(np.isfinite(h).all()) and not (h < 0).any()
            and int(h.sum()) == rows)


def sparse_check(h: np.ndarray, size: int, rows: int) -> bool:
    """The server's check now (`strategy.federated_eval.site_eval_of`)."""
    return sparse_problem(h, size) is None and h[1:].sum() == rows


def best_us(fn, number: int) -> float:
    """Best of 5 repeats, µs per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=14, help="evaluation rows of one site")
    parser.add_argument("--sites", type=int, default=1000, help="replies merged per round")
    parser.add_argument("--number", type=int, default=2000, help="timeit loop length")
    args = parser.parse_args()
    bins, rng = ScoreBins(), np.random.default_rng(0)
    sites = [(rng.normal(size=args.rows) * 1.5, (rng.random(args.rows) < 0.3).astype(int))
             for _ in range(args.sites)]
    z, y = sites[0]
    forms = {"dense (2, 8002)": (lambda: dense_histogram(bins, z, y), dense_check,
                                 lambda hs: np.sum(np.stack(hs), axis=0)),
             "sparse (3, k)": (lambda: bins.histogram(z, y), sparse_check,
                               lambda hs: merge_histograms(hs, bins.size))}
    rows, merged = [], {}
    for name, (count, check, merge) in forms.items():
        h = count()
        record = ArrayRecord({"histogram": Array(h)})
        back = record["histogram"].numpy()
        assert check(back, bins.size, args.rows)
        t_count = best_us(count, args.number)
        t_pack = best_us(lambda h=h: ArrayRecord({"histogram": Array(h)}), args.number)
        t_unpack = best_us(lambda r=record: r["histogram"].numpy(), args.number)
        t_check = best_us(lambda b=back, c=check: c(b, bins.size, args.rows), args.number)
        t_pickle = best_us(lambda r=record: pickle.loads(pickle.dumps(r)), args.number)
        t_digest = best_us(lambda h=h: array_digest([h]), args.number)
        produce = dense_histogram if name.startswith("dense") else ScoreBins.histogram
        replies = [produce(bins, zz, yy) for zz, yy in sites]
        t_merge = best_us(lambda m=merge, r=replies: m(r), max(1, args.number // 200))
        merged[name] = merge(replies)
        total = t_count + t_pack + t_unpack + t_check
        rows.append((name, tuple(h.shape), len(record["histogram"].data), t_count, t_pack,
                     t_unpack, t_check, total, t_pickle, t_digest, t_merge / 1000))
    assert np.array_equal(*merged.values()), "sparse merge differs from the dense sum"
    print(f"{args.rows} evaluation rows per site, {bins.num_bins} bins; merge of {args.sites} "
          f"replies; µs per call (best of 5)")
    print("| form | shape | wire bytes | count µs | Array+ArrayRecord µs | .numpy() µs | "
          "check µs | per reply µs | pickle round trip µs | digest µs | merge ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, shape, size, *times in rows:
        print(f"| {name} | {shape} | {size} | " + " | ".join(f"{t:.1f}" for t in times[:-1])
              + f" | {times[-1]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
