"""Read-only monitoring of federated runs from their Kafka events: state, tables, charts."""
