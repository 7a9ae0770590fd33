"""Benchmark: wall-time cost of mirroring a federation to Kafka (bridge=kafka vs bridge=off)."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TELCO = REPO.parent / "shared" / "data" / "telco_customer_churn.csv"

from kafka_bridge.broker import broker_for_benchmark  # noqa: E402
from kafka_bridge.report import table  # noqa: E402

TARGET_PCT = 5.0


class TimedBridge:
    """Wraps the bridge observer: seconds the training thread spent inside its callbacks."""

    def __init__(self, inner: object) -> None:
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name: str) -> object:
        method = getattr(self.inner, name)

        def timed(*args: object) -> object:
            t0 = time.perf_counter()
            try:
                return method(*args)
            finally:
                self.seconds += time.perf_counter() - t0
        return timed


def base_overrides(args: argparse.Namespace) -> list[str]:
    """The federation both modes run: in-process engine, same data, clients, rounds, seed."""
    data = ["data=telco", f"data.path={TELCO}"] if args.data == "telco" else [
        "data=synthetic", f"data.num_rows={args.rows}"]
    return ["engine=inprocess", *data, f"num_clients={args.clients}",
            f"num_rounds={args.rounds}", "seed=42",
            "client.local_eval_fraction=0"]  # README numbers: sites train on all their rows


def run_once(overrides: list[str], bridge: dict[str, str] | None) -> dict[str, float]:
    """One federation via run_job; bridge None = bridge=off. Timings and delivery counts."""
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job
    from kafka_bridge.mirror_setup import build_observers

    extra = ["bridge=off"] if bridge is None else [
        "bridge=kafka", *(f"bridge.{k}={v}" for k, v in bridge.items())]
    cfg = compose_config([*overrides, *extra], output_dir=None)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    observers = [TimedBridge(o) for o in build_observers(cfg.get("bridge"))]  # as the CLI builds
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        results = run_job(cfg, run_id=run_id, output_dir=None, observers=observers)
    wall = time.perf_counter() - t0
    stats = observers[0].inner.last_stats if observers else None
    return {"wall_s": wall, "federation_s": results["timing"]["federation_s"],
            "cpu_s": results["timing"]["federation_cpu_s"],
            "in_bridge_s": observers[0].seconds if observers else 0.0,
            "delivered": stats["delivered"] if stats else None,
            "pending": stats["pending"] if stats else None}


def overhead(off: float, on: float) -> tuple[str, str]:
    """(ratio, overhead %) of `on` against `off`."""
    return f"{on / off:.3f}", f"{(on / off - 1) * 100:+.1f}%"


def main() -> int:
    """`python scripts/bench_bridge_overhead.py [--rounds 20 --clients 10 --repeats 3]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode, interleaved")
    parser.add_argument("--data", choices=["telco", "synthetic"], default="telco")
    parser.add_argument("--rows", type=int, default=7000, help="rows of --data synthetic")
    parser.add_argument("--bootstrap", help="use this broker instead of a temporary one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    if args.data == "telco" and not TELCO.is_file():
        parser.error(f"{TELCO} is missing (use --data synthetic)")
    overrides = base_overrides(args)
    load_before = os.getloadavg()
    with (tempfile.TemporaryDirectory(prefix="bench-bridge-") as tmp,
          broker_for_benchmark(args.bootstrap, Path(tmp) / "broker") as bootstrap):
        prefix = f"bench{uuid.uuid4().hex[:8]}"

        def bridge(tag: str) -> dict[str, str]:
            return {"bootstrap_servers": bootstrap, "topic_prefix": prefix,
                    "spool_dir": str(Path(tmp) / "spool" / tag)}

        rows: list[list] = []
        times: dict[str, list[dict[str, float]]] = {"off": [], "kafka": []}
        print(f"warm-up (untimed): {' '.join(overrides)}, both modes")
        run_once(overrides, None)
        run_once(overrides, bridge("warmup"))  # also creates the topics
        for i in range(args.repeats):
            order = ("off", "kafka") if i % 2 == 0 else ("kafka", "off")  # ABBA: no drift bias
            for mode in order:
                r = run_once(overrides, None if mode == "off" else bridge(f"r{i}"))
                times[mode].append(r)
                rows.append([i + 1, mode, f"{r['wall_s']:.2f}", f"{r['federation_s']:.2f}",
                             f"{r['cpu_s']:.2f}", f"{r['in_bridge_s']:.3f}",
                             "-" if r["delivered"] is None else r["delivered"],
                             "-" if r["pending"] is None else r["pending"]])
                print(f"  repeat {i + 1} {mode:<5} wall {r['wall_s']:.2f} s", flush=True)
    load_after = os.getloadavg()
    events = 1 + args.rounds * (args.clients + 2) + 1
    print(f"\n{args.clients} clients x {args.rounds} rounds, {args.data} data, in-process engine; "
          f"{events} events per mirrored run")
    print(table(["repeat", "bridge", "run wall s", "federation s", "federation cpu s",
                 "in bridge s", "delivered", "pending"], rows))
    summary = []
    for key, label in (("wall_s", "run wall s"), ("federation_s", "federation s"),
                       ("cpu_s", "federation cpu s")):
        for stat_name, stat in (("median", statistics.median), ("best", min)):
            off = stat([r[key] for r in times["off"]])
            on = stat([r[key] for r in times["kafka"]])
            summary.append([f"{label} ({stat_name})", f"{off:.2f}", f"{on:.2f}",
                            *overhead(off, on)])
    print()
    print(table(["measure", "bridge=off", "bridge=kafka", "ratio", "overhead"], summary))
    med_off = statistics.median(r["wall_s"] for r in times["off"])
    med_on = statistics.median(r["wall_s"] for r in times["kafka"])
    pct = (med_on / med_off - 1) * 100
    offs = [r["wall_s"] for r in times["off"]]
    blocked = statistics.median(r["in_bridge_s"] for r in times["kafka"])
    fed_off = statistics.median(r["federation_s"] for r in times["off"])
    print(f"\nverdict: median run wall overhead {pct:+.1f}% "
          f"({'within' if pct < TARGET_PCT else 'ABOVE'} the {TARGET_PCT:.0f}% target); "
          f"run-to-run spread of bridge=off alone {(max(offs) - min(offs)) / med_off * 100:.0f}%")
    print(f"training thread inside the bridge's callbacks (publish + end flush): median "
          f"{blocked:.3f} s = {blocked / fed_off * 100:.1f}% of the bridge=off federation time")
    print(f"{os.cpu_count()} cores; load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after "
          f"{'/'.join(f'{x:.1f}' for x in load_after)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
