"""Compare runs: per-round AUC / log-loss of several runs on one chart, configs side by side."""

import streamlit as st

from dashboard.ui import live
from dashboard.views import compare

st.title("Compare runs")
live(compare.render)
