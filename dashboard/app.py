"""fedchurn live dashboard: `streamlit run dashboard/app.py` (broker from FEDCHURN_KAFKA_BOOTSTRAP)."""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # repo root, for `streamlit run`

from dashboard.settings import MonitorSettings  # noqa: E402

st.set_page_config(page_title="fedchurn · federated churn", page_icon=":material/hub:", layout="wide")
settings = MonitorSettings.load()
pages = [
    st.Page("app_pages/runs.py", title="Runs", icon=":material/list:", url_path="runs", default=True),
    st.Page("app_pages/run_detail.py", title="Run detail", icon=":material/monitoring:", url_path="run"),
    st.Page("app_pages/kafka_flow.py", title="Kafka flow", icon=":material/account_tree:", url_path="kafka"),
    st.Page("app_pages/sweeps.py", title="Sweeps", icon=":material/science:", url_path="sweeps"),
    st.Page("app_pages/compare.py", title="Compare runs", icon=":material/compare_arrows:",
            url_path="compare"),
]
page = st.navigation(pages)
st.sidebar.caption(f"Kafka `{settings.bootstrap_servers}` · topics `{settings.topic_prefix}.*` · "
                   f"refresh {settings.refresh_seconds:g} s")
st.sidebar.caption("Everything shown comes from the run's Kafka events: aggregate numbers only, "
                   "never a customer row.")
page.run()
