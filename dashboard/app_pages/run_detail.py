"""Run detail: per-round curves against references, round log, clients, final model, audit."""

import streamlit as st

from dashboard.ui import live
from dashboard.views import run_detail

st.title("Run detail")
live(run_detail.render)
