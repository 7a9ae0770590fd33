"""Kafka flow: messages, bytes, latency and lag from clients to this dashboard."""

import streamlit as st

from dashboard.ui import live
from dashboard.views import kafka_flow

st.title("Kafka message flow")
live(kafka_flow.render)
