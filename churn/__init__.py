"""The churn task: data, preprocessing, partitions, model, metrics, wire protocol (imports no project code)."""
