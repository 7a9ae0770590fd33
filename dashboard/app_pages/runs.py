"""Runs: every federated run found on the topics."""

import streamlit as st

from dashboard.ui import live
from dashboard.views import runs

st.title("Federated runs")
live(runs.render)
