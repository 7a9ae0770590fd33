"""A real federated run mirrored to Kafka that waits at each round for the watching test.

python -m tests.dashboard.paced_run --bootstrap HOST:PORT --prefix P --run-id ID --out DIR
After run_started and after round r the server waits until the file DIR/release-<r> exists
(at most --max-wait seconds), so a browser can see every intermediate state.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from tests.dashboard.publish import bridge_overrides


class Gate:
    """A RoundObserver that holds the server loop until the test releases the next step."""

    def __init__(self, directory: Path, max_wait_s: float) -> None:
        self.directory, self.max_wait_s = directory, max_wait_s

    def _wait(self, step: int) -> None:
        deadline = time.monotonic() + self.max_wait_s
        while not (self.directory / f"release-{step}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def run_started(self, info: Any) -> None:
        self._wait(0)

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        pass

    def round_finished(self, record: Any) -> None:
        self._wait(record.server_round)

    def run_finished(self, summary: dict[str, Any]) -> None:
        pass

    def run_failed(self, error: str) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--bootstrap", "--prefix", "--run-id", "--out"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-wait", type=float, default=90.0)
    args = parser.parse_args()
    from fedchurn.config import compose_config
    from fedchurn.simulate import run_job
    from kafka_bridge.mirror_setup import build_observers

    out = Path(args.out)
    overrides = ["engine=inprocess", "data.num_rows=1500", "num_clients=3", f"num_rounds={args.rounds}",
                 *bridge_overrides(args.bootstrap, args.prefix, out / "spool")]
    cfg = compose_config(overrides, output_dir=out / args.run_id)
    observers = [*build_observers(cfg.get("bridge")), Gate(out, args.max_wait)]
    run_job(cfg, run_id=args.run_id, output_dir=out / args.run_id, overrides=overrides,
            observers=observers)


if __name__ == "__main__":
    main()
