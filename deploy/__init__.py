"""The deployment topology: SuperLink, SuperNodes, ServerApp as processes or containers, Kafka, dashboard."""
