"""A RoundObserver that prints one line per round: participants, rejections, test AUC, time."""

from __future__ import annotations

from typing import Any, TextIO

from churn.rounds import RoundRecord, RunInfo


class ConsoleProgress:
    """Progress of a run on the console (or any text stream)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.num_rounds: int | None = None
        self.num_clients = 0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def run_started(self, info: RunInfo) -> None:
        self.num_rounds = info.config.get("num_rounds")
        self.num_clients = info.num_clients
        self._print(f"run {info.run_id}: {info.num_clients} clients, "
                    f"{len(info.feature_names)} features, spec {info.spec_fingerprint}")

    def round_started(self, server_round: int, sampled_nodes: list[int]) -> None:
        return None

    def round_finished(self, record: RoundRecord) -> None:
        total = f"/{self.num_rounds}" if self.num_rounds else ""
        auc = record.server_metrics.get("auc", float("nan"))
        rejected = f"  rejected {len(record.rejected)}" if record.rejected else ""
        missing = record.missing
        rejected += f"  missing {len(missing)}" if missing else ""
        secure, privacy = record.secure, record.privacy
        took_part = len(secure["participants"]) if secure else len(record.updates)
        rejected += f"  ε {privacy['epsilon']:.3g}" if privacy else ""
        fe = record.federated_eval
        pooled = (f"  pooled AUC {fe.get('pooled_auc', float('nan')):.4f}  gap <= "
                  f"{fe.get('objective_gap_bound', float('nan')):.2g}" if fe else "")
        test = f"  test AUC {auc:.4f}" if record.server_metrics else ""
        self._print(f"round {record.server_round:>3}{total}  participants "
                    f"{took_part:>3}/{len(record.sampled_nodes):<3}{rejected}"
                    f"{test}{pooled}  ({record.durations.get('round', 0.0):.2f} s)")

    def run_finished(self, summary: dict[str, Any]) -> None:
        if summary.get("stop_reason"):
            self._print(str(summary["stop_reason"]))

    def run_failed(self, error: str) -> None:
        self._print(f"run failed: {error}")
