"""The churn ML task: data, preprocessing, partitions, model, metrics, wire protocol; no project imports."""
