"""The fedchurn ClientApp: answers preprocessing queries, trains and evaluates on its own rows.

Only aggregates (`site_evidence`, `client_summary`, `client_histograms`), model parameters and metrics leave
the node. Data is found through run-config keys (`churn.protocol`): in simulation the
factory `build_client_app` closes over them (Flower's `run_simulation` takes no run config);
a deployed SuperNode gets them from the run config and its own `data-path` node config.
The app holds only plain settings, so it pickles cleanly to Ray actors; loaded rows are
cached per process in `churn.site_data`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from churn import protocol as P
from churn.column_evidence import site_evidence
from churn.ndarrays import array_record, ndarrays
from churn.preprocessing import client_histograms, client_summary
from churn.site_data import (
    ClientSettings,
    encoded_node_data,
    load_node_data,
    node_identity,
    node_numeric_values,
    spec_fingerprint,
)
from clients.behaviour import ClientBehaviour
from clients.federated_eval import bins_of, federated_eval_payload
from clients.local_training import (
    effective_c,
    local_metrics,
    participation_problem,
    train_locally,
)
from clients.newton_payload import newton_payload
from clients.privacy import train_mods
from clients.proximal import train_proximal
from clients.secure import register_secure_handlers


def build_client_app(run_config: Mapping[str, Any] | None = None) -> ClientApp:
    """A ClientApp whose defaults are `run_config` (context.run_config entries override)."""
    defaults = dict(run_config or {})
    app = ClientApp()

    def settings_of(context: Context) -> ClientSettings:
        return ClientSettings.from_run_config({**defaults, **dict(context.run_config)})

    @app.query("evidence")
    def evidence(msg: Message, context: Context) -> Message:
        settings = settings_of(context)
        partition_id, data_path = node_identity(context.node_config)
        node = load_node_data(settings, partition_id, data_path)
        if node.train.raw is None:
            raise ValueError(f"{node.train.source}: generated data has no raw columns to infer")
        target = str(json.loads(settings.data_config)["target"])
        text = json.dumps(site_evidence(node.train.raw, target))
        return _reply(msg, info={P.EVIDENCE: text, P.PARTITION_ID: partition_id})

    @app.query("summary")
    def summary(msg: Message, context: Context) -> Message:
        settings = settings_of(context)
        partition_id, data_path = node_identity(context.node_config)
        node = load_node_data(settings, partition_id, data_path, _schema_of(msg))
        text = json.dumps(client_summary(node.train.features, node.train.schema))
        node_numeric_values(settings, partition_id, data_path, _schema_of(msg))  # for phase 2
        return _reply(msg, info={P.SUMMARY: text, P.PARTITION_ID: partition_id})

    @app.query("histograms")
    def histograms(msg: Message, context: Context) -> Message:
        settings = settings_of(context)
        partition_id, data_path = node_identity(context.node_config)
        values = node_numeric_values(settings, partition_id, data_path, _schema_of(msg))
        ranges = json.loads(str(msg.content[P.CONFIG][P.HISTOGRAM_RANGES]))
        text = json.dumps(client_histograms(values, list(values), ranges))
        return _reply(msg, info={P.HISTOGRAMS: text, P.PARTITION_ID: partition_id})

    @app.train(mods=train_mods())  # DP clipping / secure-aggregation masking when asked
    def train(msg: Message, context: Context) -> Message:
        settings = settings_of(context)
        partition_id, data_path = node_identity(context.node_config)
        config = msg.content[P.CONFIG]
        behaviour = ClientBehaviour.from_run_config({**defaults, **dict(context.run_config)})
        behaviour.check_dropout(partition_id, int(config.get(P.SERVER_ROUND, 0)))
        spec_json = str(config[P.FEATURE_SPEC])
        x_train, y_train, _, _ = encoded_node_data(settings, partition_id, data_path, spec_json,
                                                   _schema_of(msg))
        info = {P.PARTITION_ID: partition_id,
                P.SPEC_FINGERPRINT: spec_fingerprint(spec_json)}
        problem = participation_problem(y_train, settings.min_rows, settings.single_class)
        if problem:
            return _decline(msg, problem, info)
        global_arrays = ndarrays(msg.content[P.ARRAYS])
        if config.get(P.UPDATE_KIND) == P.UPDATE_NEWTON:
            candidates = ndarrays(msg.content[P.CANDIDATES])[0]
            metrics = {P.NUM_EXAMPLES: len(y_train),
                       **local_metrics(global_arrays, x_train, y_train, "train")}
            return _reply(msg, arrays=newton_payload(candidates, x_train, y_train),
                          metrics=metrics, info=info)
        C = effective_c(float(config[P.C]), len(y_train), int(config.get(P.TOTAL_EXAMPLES, 0)))
        mu = float(config.get(P.PROXIMAL_MU, 0.0))
        if mu > 0:
            arrays = train_proximal(global_arrays, x_train, y_train, C,
                                    int(config[P.LOCAL_ITERATIONS]), mu)
        else:
            arrays = train_locally(global_arrays, x_train, y_train, C,
                                   int(config[P.LOCAL_ITERATIONS]))
        arrays = behaviour.poison(partition_id, global_arrays, arrays)
        metrics = {P.NUM_EXAMPLES: len(y_train), **local_metrics(arrays, x_train, y_train, "train")}
        return _reply(msg, arrays=arrays, metrics=metrics, info=info)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        settings = settings_of(context)
        partition_id, data_path = node_identity(context.node_config)
        spec_json = str(msg.content[P.CONFIG][P.FEATURE_SPEC])
        _, _, x_eval, y_eval = encoded_node_data(settings, partition_id, data_path, spec_json,
                                                 _schema_of(msg))
        info = {P.PARTITION_ID: partition_id,
                P.SPEC_FINGERPRINT: spec_fingerprint(spec_json)}
        if len(y_eval) == 0:
            return _decline(msg, "no rows to evaluate on", info)
        arrays = ndarrays(msg.content[P.ARRAYS])
        metrics = {P.NUM_EXAMPLES: len(y_eval), **local_metrics(arrays, x_eval, y_eval, "eval")}
        bins = bins_of(dict(msg.content[P.CONFIG]))
        if bins is None:
            return _reply(msg, metrics=metrics, info=info)
        record, extra = federated_eval_payload(arrays, settings, partition_id, data_path,
                                               spec_json, bins, float(msg.content[P.CONFIG][P.C]),
                                               _schema_of(msg))
        reply = _reply(msg, metrics={**metrics, **extra}, info=info)
        reply.content[P.FEDERATED_EVAL] = record
        return reply

    register_secure_handlers(app, defaults)  # secure=secagg: key, share and unmask queries
    return app


def _schema_of(msg: Message) -> str:
    """The agreed schema's JSON the server sent ("" from servers that send none)."""
    return str(msg.content[P.CONFIG].get(P.SCHEMA, ""))


def _reply(msg: Message, *, arrays: list | None = None, metrics: Mapping[str, float] | None = None,
           info: Mapping[str, Any]) -> Message:
    content = RecordDict({P.INFO: ConfigRecord({P.STATUS: P.STATUS_OK, **info})})
    if arrays is not None:
        content[P.ARRAYS] = array_record(arrays)
    if metrics is not None:
        content[P.METRICS] = MetricRecord(dict(metrics))
    return Message(content, reply_to=msg)


def _decline(msg: Message, reason: str, info: Mapping[str, Any]) -> Message:
    content = RecordDict({
        P.METRICS: MetricRecord({P.NUM_EXAMPLES: 0}),
        P.INFO: ConfigRecord({**info, P.STATUS: P.STATUS_DECLINED, P.REASON: reason}),
    })
    return Message(content, reply_to=msg)


# Deployment entry (`flwr run` / SuperNode): settings come from the run config.
app = build_client_app()
