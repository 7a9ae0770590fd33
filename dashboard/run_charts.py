"""Per-run chart specs, memoized until the run's next event (a warm rerun re-sends, never rebuilds)."""

from __future__ import annotations

from dashboard import charts, model_charts, tables
from dashboard.memo import per_run_version
from dashboard.run_state import RunState
from dashboard.summary import summary_curve, summary_scores


@per_run_version
def auc_spec(run: RunState) -> dict | None:
    """ROC-AUC per round: federated against centralized, each local-only model and their mean."""
    frame = tables.metric_per_round(run, "auc")
    if frame[frame["kind"] == "federated"].empty:
        return None
    return charts.spec(charts.metric_chart(
        frame, "ROC-AUC per round on the shared held-out test set", "ROC-AUC",
        min_span=0.05, clamp=(0.0, 1.0)))


@per_run_version
def loss_spec(run: RunState) -> dict | None:
    """Log-loss per round of the global model, the clients' own losses and the reference."""
    frame = tables.loss_per_round(run)
    return None if frame.empty else charts.spec(
        charts.metric_chart(frame, "log-loss per round (lower is better)", "log-loss", min_span=0.05))


@per_run_version
def client_metric_spec(run: RunState, metric: str) -> dict | None:
    """One client-reported metric per round, a line per client."""
    series = tables.client_metric_series(run)
    chosen = series[series["metric"] == metric]
    return None if chosen.empty else charts.spec(
        charts.site_series_chart(chosen, f"{metric} per round, per client", metric))


@per_run_version
def curve_spec(run: RunState, kind: str) -> dict | None:
    """ROC ("roc") or precision-recall ("pr") curve of the final model, if the summary has one."""
    curve = summary_curve(run.summary, kind)
    if curve is None:
        return None
    x, y = list(curve.values())
    auc = tables.headline(run)["federated_auc"] if kind == "roc" else None
    return charts.spec(charts.curve_chart(x, y, kind, auc))


@per_run_version
def coefficient_spec(run: RunState, top: int = 15) -> dict | None:
    """The final global model's largest coefficients by feature name."""
    frame = tables.top_coefficients(run, top)
    return None if frame.empty else charts.spec(charts.coefficient_chart(frame))


@per_run_version
def gains_spec(run: RunState) -> dict | None:
    """Cumulative gains of the final model, if the summary has its scores."""
    scores = summary_scores(run.summary)
    return None if scores is None else charts.spec(model_charts.gains_chart(scores[1]))


@per_run_version
def score_histogram_spec(run: RunState) -> dict | None:
    """Histogram of the final model's predicted churn probability per true class."""
    scores = summary_scores(run.summary)
    return None if scores is None else charts.spec(model_charts.score_histogram_chart(scores[0]))
