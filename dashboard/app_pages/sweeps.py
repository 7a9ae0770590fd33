"""Sweeps: Hydra multirun results against the swept settings."""

import streamlit as st

from fedchurn.monitor.ui import live
from fedchurn.monitor.views import sweeps

st.title("Sweeps")
live(sweeps.render)
