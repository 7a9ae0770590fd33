"""The deployment topology: Flower SuperLink/SuperNodes/ServerApp as processes or containers, with Kafka and the dashboard."""
