"""Before training: ask every node for preprocessing aggregates and build the global FeatureSpec.

For data=csv a phase 0 sends `query.evidence` (per-column counts and flags of the node's
raw rows) and decides the schema once for all nodes (`churn.schema_inference`); every later
message carries that schema as JSON (`schema`).
Phase 1 sends `query.summary` (counts, sums, min/max, category sets of the node's rows);
for median imputation phase 2 sends `query.histograms` with the global value ranges. Only
these aggregates leave a node. A node that fails to answer is left out (and reported).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from flwr.app import ConfigRecord, Message, RecordDict
from flwr.serverapp import Grid

from churn import protocol as P
from churn.feature_spec import FeatureSpec
from churn.preprocessing import (
    build_feature_spec,
    histogram_counts,
    histogram_ranges,
    needs_histograms,
)
from churn.rounds import Rejection
from churn.schema import DatasetSchema
from churn.schema_inference import SchemaDecision, decide_schema
from strategy.reply_checks import node_of

log = logging.getLogger(__name__)


@dataclass
class FeatureAgreement:
    """The spec and what the queries learnt about the nodes."""

    spec: FeatureSpec
    node_partitions: dict[int, int]  # node id -> partition id the node reported
    total_examples: int  # training rows over all answering nodes
    rejected: list[Rejection] = field(default_factory=list)


def wait_for_nodes(grid: Grid, num_nodes: int, timeout: float) -> list[int]:
    """Node ids once `num_nodes` are connected (Flower's simulation registers them late)."""
    deadline = time.monotonic() + timeout
    while len(nodes := sorted(grid.get_node_ids())) < num_nodes:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(nodes)} of {num_nodes} nodes connected in {timeout}s")
        time.sleep(0.05)
    return nodes


def agree_schema(grid: Grid, num_nodes: int, data_config: dict, timeout: float) -> SchemaDecision:
    """Phase 0: every node's column evidence -> one schema (DataError if unusable)."""
    nodes = wait_for_nodes(grid, num_nodes, timeout)
    rejected: list[Rejection] = []
    answers = _ask(grid, nodes, P.QUERY_EVIDENCE, {}, P.EVIDENCE, timeout, rejected)
    for rejection in rejected:
        log.warning("schema inference: node %d left out: %s", rejection.node_id, rejection.reason)
    if not answers:
        raise RuntimeError(f"no node answered the schema evidence query: {rejected}")
    evidences = [json.loads(answers[n][0]) for n in sorted(answers)]
    return decide_schema(evidences, data_config, f"{len(evidences)} sites' data")


def agree_feature_spec(grid: Grid, num_nodes: int, schema: DatasetSchema, imputation: str,
                       timeout: float) -> FeatureAgreement:
    """Run the query phases over all nodes and build the FeatureSpec from their answers."""
    nodes = wait_for_nodes(grid, num_nodes, timeout)
    rejected: list[Rejection] = []
    schema_config = {P.SCHEMA: json.dumps(schema.to_dict(), sort_keys=True)}
    answers = _ask(grid, nodes, P.QUERY_SUMMARY, schema_config, P.SUMMARY, timeout, rejected)
    if not answers:
        raise RuntimeError(f"no node answered the preprocessing summary query: {rejected}")
    summaries = {node: json.loads(text) for node, (text, _) in answers.items()}
    partitions = {node: pid for node, (_, pid) in answers.items() if pid >= 0}
    ordered = [summaries[n] for n in sorted(summaries)]
    histograms = None
    if needs_histograms(imputation):
        ranges = json.dumps(histogram_ranges(ordered, schema))
        hist_answers = _ask(grid, sorted(summaries), P.QUERY_HISTOGRAMS,
                            {P.HISTOGRAM_RANGES: ranges, **schema_config}, P.HISTOGRAMS, timeout, rejected)
        valid = _valid_histograms(hist_answers, schema, rejected)
        histograms = [valid[n] for n in sorted(valid)]
        ordered = [summaries[n] for n in sorted(valid)]
    spec = build_feature_spec(ordered, histograms, schema, imputation)
    total = sum(int(s["rows"]) for s in ordered)
    for rejection in rejected:
        rejection.partition_id = partitions.get(rejection.node_id)
        log.warning("preprocessing: node %d left out: %s", rejection.node_id, rejection.reason)
    return FeatureAgreement(spec, partitions, total, rejected)


def _valid_histograms(answers: dict[int, tuple[str, int]], schema: DatasetSchema,
                      rejected: list[Rejection]) -> dict[int, dict]:
    """{node: its sparse histograms} for the answers that parse; the others are rejected."""
    valid = {}
    for node, (text, _) in answers.items():
        try:
            answer = json.loads(text)
            for column in schema.numeric:
                histogram_counts(answer, column)
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            rejected.append(Rejection(node, f"{P.QUERY_HISTOGRAMS}: {exc}"))
            continue
        valid[node] = answer
    return valid


def _ask(grid: Grid, nodes: list[int], message_type: str, config: dict, answer_key: str,
         timeout: float, rejected: list[Rejection]) -> dict[int, tuple[str, int]]:
    """{node: (answer text, partition id)} for the nodes that answered properly."""
    messages = [Message(RecordDict({P.CONFIG: ConfigRecord(dict(config))}), node, message_type,
                        group_id="preprocessing") for node in nodes]
    replies = list(grid.send_and_receive(messages, timeout=timeout))
    answers: dict[int, tuple[str, int]] = {}
    for msg in replies:
        node = node_of(msg, messages)
        if msg.has_error():
            rejected.append(Rejection(node, f"{message_type} failed: {msg.error.reason}"))
            continue
        info = msg.content.get(P.INFO)
        if not isinstance(info, ConfigRecord) or not isinstance(info.get(answer_key), str):
            rejected.append(Rejection(node, f"{message_type}: no '{answer_key}' in the reply"))
            continue
        answers[node] = (str(info[answer_key]), int(info.get(P.PARTITION_ID, -1)))
    missing = sorted(set(nodes) - {node_of(m, messages) for m in replies})
    rejected += [Rejection(node, f"{message_type}: no reply before the timeout") for node in missing]
    return answers
