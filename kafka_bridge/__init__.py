"""Kafka bridge: mirrors every federated round to Kafka for auditors and the live dashboard."""
