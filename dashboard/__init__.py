"""The Streamlit dashboard and its data layer (Kafka events folded into run state, tables, charts)."""
