"""Pandas tables of runs, rounds and clients built from run states (memoized per run version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from dashboard.memo import per_run_version
from dashboard.run_state import RUNNING, RunState, finite
from dashboard.summary import (
    reference_centralized,
    reference_local,
    summary_final_metric,
)

FEDERATED, CENTRALIZED, LOCAL_MEAN = "federated", "centralized (pooled rows)", "local-only mean"
CONFIG_COLUMNS = ("data", "partition", "num_clients", "strategy", "engine", "num_rounds")


# A deployed run's config is Flower's run config, which spells these settings its own way.
RUN_CONFIG_KEYS = {"num_rounds": "num-server-rounds", "num_clients": "num-clients"}


def config_value(config: dict[str, Any], key: str) -> Any:
    """A config group's name (`data: {name: synthetic}` → "synthetic") or a scalar setting,
    from a simulation's Hydra config or a deployment's run config."""
    value = config.get(key, config.get(RUN_CONFIG_KEYS.get(key, key)))
    if isinstance(value, dict):
        return value.get("name")
    return value


def client_label(partition_id: int | str | None, node_id: int | None = None) -> str:
    """"client 3" by partition id (what the references use), else "node <id>"."""
    if partition_id is not None:
        return f"client {partition_id}"
    return f"node {node_id}"


def runs_frame(runs: dict[str, RunState], now: datetime | None = None) -> pd.DataFrame:
    """One row per run, newest first: status, timing, key config, final federated AUC."""
    rows = []
    for run in runs.values():
        total = config_value(run.config, "num_rounds")
        rows.append({
            "run_id": run.run_id,
            "status": run.status,
            "started": run.started_at,
            "elapsed_s": run.elapsed_seconds(now),
            "rounds": f"{len(run.aggregated_rounds())}/{total if total is not None else '?'}",
            **{key: config_value(run.config, key) for key in CONFIG_COLUMNS if key != "num_rounds"},
            "num_clients": run.num_clients if run.num_clients is not None
            else config_value(run.config, "num_clients"),
            "final_auc": run.final_auc(),
            "idle_s": run.idle_seconds(now) if run.status == RUNNING else None,
            "error": run.error or "",
        })
    columns = ["run_id", "status", "started", "elapsed_s", "rounds", "data", "partition",
               "num_clients", "strategy", "engine", "final_auc", "idle_s", "error"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame["started"] = pd.to_datetime(frame["started"], utc=True)
    return frame.sort_values("started", ascending=False, na_position="first").reset_index(drop=True)


def _round_axis(run: RunState) -> list[int]:
    seen = [r.number for r in run.aggregated_rounds()]
    planned = config_value(run.config, "num_rounds")
    last = max(seen + [planned if isinstance(planned, int) else 1, 1])
    return list(range(1, last + 1))


@per_run_version
def metric_per_round(run: RunState, metric: str = "auc") -> pd.DataFrame:
    """Long frame (round, model, value, kind) of a test-set metric: federated vs references."""
    rows = [{"round": r.number, "model": FEDERATED, "value": finite(r.server_metrics.get(metric)),
             "kind": "federated"} for r in run.aggregated_rounds()]
    axis = _round_axis(run)
    central = reference_centralized(run.reference, metric)
    if central is not None:
        rows += [{"round": n, "model": CENTRALIZED, "value": central, "kind": "reference"}
                 for n in axis]
    local = {k: v for k, v in reference_local(run.reference, metric).items() if v is not None}
    for pid in sorted(local, key=lambda p: (len(p), p)):
        rows += [{"round": n, "model": f"local-only {client_label(pid)}", "value": local[pid],
                  "kind": "local"} for n in axis]
    if local:
        mean = sum(local.values()) / len(local)
        rows += [{"round": n, "model": LOCAL_MEAN, "value": mean, "kind": "local mean"}
                 for n in axis]
    frame = pd.DataFrame(rows, columns=["round", "model", "value", "kind"])
    return frame.dropna(subset=["value"]).reset_index(drop=True)


@per_run_version
def loss_per_round(run: RunState) -> pd.DataFrame:
    """Long frame (round, model, value, kind): test log-loss of the global model, the clients'
    own (sample-weighted) train / evaluation losses, and the centralized reference."""
    rows = []
    for rnd in run.aggregated_rounds():
        agg = rnd.aggregated or {}
        value = finite(rnd.server_metrics.get("log_loss"))
        if value is not None:
            rows.append({"round": rnd.number, "model": FEDERATED, "value": value, "kind": "federated"})
        for source, label in (("train_metrics", "clients train"), ("evaluate_metrics", "clients eval")):
            for key, raw in sorted((agg.get(source) or {}).items()):
                value = finite(raw)
                if "loss" in key and value is not None:
                    rows.append({"round": rnd.number, "model": f"{label}: {key}", "value": value,
                                 "kind": "clients"})
    central = reference_centralized(run.reference, "log_loss")
    if central is not None:
        rows += [{"round": n, "model": CENTRALIZED, "value": central, "kind": "reference"}
                 for n in _round_axis(run)]
    return pd.DataFrame(rows, columns=["round", "model", "value", "kind"])


def _fmt_metrics(metrics: dict[str, Any]) -> str:
    parts = []
    for key, value in sorted(metrics.items()):
        number = finite(value)
        parts.append(f"{key}={number:.4g}" if number is not None else f"{key}={value}")
    return ", ".join(parts)


@per_run_version
def round_log(run: RunState) -> pd.DataFrame:
    """One row per round: sampled / replied / rejected counts, examples, AUC, durations."""
    rows = []
    for number in sorted(run.rounds):
        rnd = run.rounds[number]
        agg = rnd.aggregated or {}
        durations = agg.get("durations") or {}
        missing = [m for m in agg.get("missing") or [] if isinstance(m, dict)]  # optional field
        reasons = sorted({f"train: {rej['reason']}" for rej in rnd.rejections.values()}
                         | {f"evaluate: {rej['reason']}" for rej in rnd.eval_rejections.values()}
                         | {f"missing {client_label(m.get('partition_id'), m.get('node_id'))}: "
                            f"{m.get('reason', 'no reply')}" for m in missing})
        rows.append({
            "round": number,
            "state": "aggregated" if rnd.aggregated is not None else "in progress",
            "sampled": len(rnd.sampled_nodes),
            "replied": len(rnd.replies) if rnd.replies or not agg else len(agg.get("participants", [])),
            "rejected": max(len(rnd.rejections), int(agg.get("rejected", 0) or 0)),
            "eval_rejected": max(len(rnd.eval_rejections), int(agg.get("evaluate_rejected", 0) or 0)),
            "missing": len(missing),
            "rejection reasons": "; ".join(reasons),
            "num_examples": agg.get("num_examples", sum(r.num_examples for r in rnd.replies.values())),
            "auc": finite(rnd.server_metrics.get("auc")),
            "log_loss": finite(rnd.server_metrics.get("log_loss")),
            **{f"{key}_s": finite(durations.get(key)) for key in ("train", "evaluate", "round")},
        })
    return pd.DataFrame(rows)


@per_run_version
def client_log(run: RunState) -> pd.DataFrame:
    """One row per (round, node): outcome (replied / rejected / waiting), reason, examples."""
    rows = []
    for number in sorted(run.rounds):
        rnd = run.rounds[number]
        nodes = list(dict.fromkeys([*rnd.sampled_nodes, *rnd.replies, *rnd.rejections]))
        for node in nodes:
            reply, rejection = rnd.replies.get(node), rnd.rejections.get(node)
            pid = reply.partition_id if reply else (rejection or {}).get("partition_id")
            outcome = "replied" if reply else "rejected" if rejection else (
                "no reply" if rnd.aggregated is not None else "waiting")
            eval_rejection = rnd.eval_rejections.get(node)
            reasons = [f"train: {rejection['reason']}"] if rejection else []
            reasons += [f"evaluate: {eval_rejection['reason']}"] if eval_rejection else []
            rows.append({
                "round": number, "client": client_label(pid, node), "node_id": node,
                "outcome": outcome, "evaluate": "rejected" if eval_rejection else "",
                "reason": "; ".join(reasons),
                "num_examples": reply.num_examples if reply else 0,
                "metrics": _fmt_metrics(reply.metrics) if reply else "",
            })
    return pd.DataFrame(rows, columns=["round", "client", "node_id", "outcome", "evaluate",
                                       "reason", "num_examples", "metrics"])


@per_run_version
def client_summary(run: RunState) -> pd.DataFrame:
    """One row per client: participation, rejections, latest reply metrics, local-only AUC."""
    local = reference_local(run.reference, "auc")
    stats: dict[str, dict[str, Any]] = {}
    for number in sorted(run.rounds):
        rnd = run.rounds[number]
        for node in set(rnd.sampled_nodes) | set(rnd.replies) | set(rnd.rejections):
            reply, rejection = rnd.replies.get(node), rnd.rejections.get(node)
            pid = reply.partition_id if reply else (rejection or {}).get("partition_id")
            row = stats.setdefault(client_label(pid, node), {
                "client": client_label(pid, node), "node_id": node, "partition_id": pid,
                "sampled": 0, "replied": 0, "rejected": 0, "num_examples": 0, "last_metrics": {},
                "last_rejection": ""})
            row["sampled"] += node in rnd.sampled_nodes
            if reply:
                row["replied"] += 1
                row["num_examples"], row["last_metrics"] = reply.num_examples, reply.metrics
                row["partition_id"] = reply.partition_id
            if rejection:
                row["rejected"] += 1
                row["last_rejection"] = rejection["reason"]
    rows = []
    for row in stats.values():
        metrics = row.pop("last_metrics")
        pid = row["partition_id"]
        row["local_only_auc"] = local.get(str(pid)) if pid is not None else None
        row.update({f"last {k}": finite(v) for k, v in sorted(metrics.items()) if finite(v) is not None})
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values("client").reset_index(drop=True) if not frame.empty else frame


@per_run_version
def client_metric_series(run: RunState) -> pd.DataFrame:
    """Long frame (round, client, metric, value) of every numeric metric clients reported."""
    rows = []
    for number in sorted(run.rounds):
        for node, reply in run.rounds[number].replies.items():
            for key, raw in reply.metrics.items():
                value = finite(raw)
                if value is not None:
                    rows.append({"round": number, "client": client_label(reply.partition_id, node),
                                 "metric": key, "value": value})
    return pd.DataFrame(rows, columns=["round", "client", "metric", "value"])


@per_run_version
def top_coefficients(run: RunState, top: int = 15) -> pd.DataFrame:
    """The global model's largest |coefficients| by feature name (latest mirrored round)."""
    latest = run.last_coefficients()
    if latest is None:
        return pd.DataFrame(columns=["feature", "coefficient", "magnitude"])
    coef, _ = latest
    names = run.feature_names if len(run.feature_names) == len(coef) else [
        f"x{i}" for i in range(len(coef))]
    frame = pd.DataFrame({"feature": names, "coefficient": coef})
    frame["magnitude"] = frame["coefficient"].abs()
    return frame.nlargest(top, "magnitude").reset_index(drop=True)


def headline(run: RunState) -> dict[str, float | None]:
    """Final federated, centralized and local-mean AUC for metric tiles."""
    local = [v for v in reference_local(run.reference, "auc").values() if v is not None]
    final_log_loss = summary_final_metric(run.summary, "log_loss")
    if final_log_loss is None:
        final_log_loss = finite(run.last_server_metrics().get("log_loss"))
    return {
        "federated_auc": run.final_auc(),
        "centralized_auc": reference_centralized(run.reference, "auc"),
        "local_mean_auc": sum(local) / len(local) if local else None,
        "federated_log_loss": final_log_loss,
    }
