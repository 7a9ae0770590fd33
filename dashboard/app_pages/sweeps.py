"""Sweeps: Hydra multirun results against the swept settings."""

import streamlit as st

from dashboard.ui import live
from dashboard.views import sweeps

st.title("Sweeps")
live(sweeps.render)
