"""The churn task: data, preprocessing, partitions, model, metrics and the wire protocol; imports no other project package."""
