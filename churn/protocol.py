"""Names shared by the ClientApp and the ServerApp: message actions, record keys, config keys.

Message contents (all keys kebab-case, as Flower spells its own):

- server -> client, every message: `RecordDict({"config": ConfigRecord})`, train and evaluate
  also carry `"arrays": ArrayRecord([coef (1, d), intercept (1,)])`.
- client -> server, train: `"arrays"`, `"metrics": MetricRecord` (always with `num-examples`)
  and `"info": ConfigRecord` (`status`, `reason`, `spec-fingerprint`, `partition-id`).
  MetricRecord holds numbers only, so strings travel in the `info` ConfigRecord.
- client -> server, evaluate: `"metrics"` and `"info"`; query: `"info"` holding JSON text.
- A node that cannot take part answers `status="declined"` with a `reason` and
  `num-examples=0`; it never raises.
- Newton rounds (`update-kind=newton`): the train message also carries `"candidates"`, and
  the reply's `"arrays"` are `[losses (m,), gradients (m, d+1), hessians (m, d+1, d+1)]`
  (`clients.newton_payload`).
- Federated evaluation (evaluate config holds `score-bins`): the evaluate reply also carries
  `"federated-eval": ArrayRecord({"histogram": (3, k) counts of the global model's logits on
  the evaluation rows over the k occupied of the bins + 2 bins, rows bin index (strictly
  ascending), negatives, positives; "certificate": (3, d + 2) sums of
  `churn.certificate.site_sums` on the training rows})` and `fe-*` metrics (log-loss sums,
  training rows, the site's local-only AUC). Pure math: `churn.pooled_metrics`,
  `churn.certificate`; site side `clients.federated_eval`, server `strategy.federated_eval`.
"""

from __future__ import annotations

# Message types (Flower routes "query.<action>" to @app.query("<action>")).
QUERY_SUMMARY = "query.summary"
QUERY_HISTOGRAMS = "query.histograms"
QUERY_EVIDENCE = "query.evidence"  # data=csv: per-column evidence for schema inference

# Record keys inside a RecordDict.
ARRAYS = "arrays"
CONFIG = "config"
METRICS = "metrics"
INFO = "info"

# Keys in the server's ConfigRecord.
SERVER_ROUND = "server-round"
LOCAL_ITERATIONS = "local-iterations"
C = "C"
TOTAL_EXAMPLES = "total-examples"  # rows at all nodes; > 0 scales C to the global objective
FEATURE_SPEC = "feature-spec"
SPEC_FINGERPRINT = "spec-fingerprint"
HISTOGRAM_RANGES = "histogram-ranges"
SCHEMA = "schema"  # JSON of the agreed DatasetSchema; every message after the evidence query
PROXIMAL_MU = "proximal-mu"  # FedProx: > 0 adds mu/2 ||theta - theta_global||^2 locally
UPDATE_KIND = "update-kind"  # absent = parameters; "newton" = loss/gradient/Hessian sums
UPDATE_NEWTON = "newton"
CANDIDATES = "candidates"  # Newton: ArrayRecord([thetas (m, d + 1)]) the site evaluates
SCORE_BINS = "score-bins"  # federated evaluation on: number of logit bins (even)
SCORE_LOGIT_RANGE = "score-logit-range"  # bins cover [-range, range] plus under/overflow

# Keys in a client's MetricRecord / info ConfigRecord.
NUM_EXAMPLES = "num-examples"
STATUS = "status"
REASON = "reason"
PARTITION_ID = "partition-id"
SUMMARY = "summary"
HISTOGRAMS = "histograms"
EVIDENCE = "evidence"
FEDERATED_EVAL = "federated-eval"  # reply record: "histogram" and "certificate" arrays
FE_HISTOGRAM = "histogram"
FE_CERTIFICATE = "certificate"
FE_EVAL_LOG_LOSS_SUM = "fe-eval-log-loss-sum"
FE_TRAIN_LOSS_SUM = "fe-train-loss-sum"
FE_TRAIN_EXAMPLES = "fe-train-examples"
FE_LOCAL_AUC = "fe-local-auc"  # the site's own model (fitted once per run); NaN if it cannot
FE_PREFIX = "fe-"
STATUS_OK = "ok"
STATUS_DECLINED = "declined"

# Run-config keys the ClientApp reads (simulation: from its factory; deployment: run config).
DATA_CONFIG = "data-config"  # JSON of conf/data/*
PARTITION_CONFIG = "partition-config"  # JSON of conf/partition/*
NUM_CLIENTS = "num-clients"
SEED = "seed"
TEST_SIZE = "test-size"
LOCAL_EVAL_FRACTION = "local-eval-fraction"
MIN_ROWS = "min-rows"
SINGLE_CLASS = "single-class"  # "train" | "decline"
# Simulated behaviour (clients.behaviour; tests and benchmarks): seeded dropouts, attacks.
DROPOUT_RATE = "dropout-rate"
ATTACK = "attack"  # "none" | "scale" | "sign_flip"
ATTACK_SCALE = "attack-scale"
ATTACK_PARTITIONS = "attack-partitions"  # comma-separated partition ids

# Node-config keys (simulation sets the first two; a deployed SuperNode sets data-path).
NODE_PARTITION_ID = "partition-id"
NODE_NUM_PARTITIONS = "num-partitions"
NODE_DATA_PATH = "data-path"
