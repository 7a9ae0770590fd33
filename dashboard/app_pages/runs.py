"""Runs: every federated run found on the topics."""

import streamlit as st

from fedchurn.monitor.ui import live
from fedchurn.monitor.views import runs

st.title("Federated runs")
live(runs.render)
