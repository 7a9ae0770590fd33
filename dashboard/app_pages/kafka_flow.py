"""Kafka flow: messages, bytes, latency and lag from clients to this dashboard."""

import streamlit as st

from fedchurn.monitor.ui import live
from fedchurn.monitor.views import kafka_flow

st.title("Kafka message flow")
live(kafka_flow.render)
