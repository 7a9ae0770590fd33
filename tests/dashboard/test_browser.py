"""Real browser: a run streams into the real broker while headless Chromium watches the dashboard."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.dashboard.browser import (
    StreamlitServer,
    chromium_driver,
    page_text,
    plotted_rounds,
    screenshot,
    selected_values,
    wait_for,
)
from tests.dashboard.publish import REPO_ROOT, unique_prefix

pytestmark = [pytest.mark.browser, pytest.mark.kafka]
ROUNDS = 3


def test_live_run_appears_and_its_auc_chart_gains_points(kafka_broker, tmp_path):
    """The run waits after each round until the page has shown it (tests/dashboard/paced_run)."""
    prefix, run_id = unique_prefix(), "browser-live-run"
    server = StreamlitServer(kafka_broker.bootstrap, prefix, tmp_path / "streamlit.log")
    driver = run = None

    def release(step: int) -> None:
        (tmp_path / f"release-{step}").touch()

    started = time.monotonic()
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "tests.dashboard.paced_run", "--bootstrap", kafka_broker.bootstrap,
             "--prefix", prefix, "--run-id", run_id, "--out", str(tmp_path), "--rounds", str(ROUNDS)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        driver = chromium_driver()  # starts while Streamlit boots
        wait_for(server.healthy, 60, "Streamlit to serve")
        driver.get(server.url)  # the Runs page, before the run exists
        wait_for(lambda: f"Running now: {run_id}" in page_text(driver), 90, "the live run on Runs")
        screenshot(driver, "0_runs_live", tables=1)
        driver.get(f"{server.url}/run?run={run_id}")
        wait_for(lambda: any(v.startswith(f"{run_id} · running") for v in selected_values(driver))
                 and "status\nrunning" in page_text(driver), 90, "the live run's detail page")
        assert plotted_rounds(driver) == 0
        for step in range(ROUNDS):
            release(step)  # the server may now finish round step + 1
            wait_for(lambda s=step: plotted_rounds(driver) == s + 1, 60, f"AUC point {step + 1}")
            if step == 0:
                screenshot(driver, "1_run_detail_live", charts=2)
        release(ROUNDS)
        assert run.wait(timeout=120) == 0, run.stdout.read().decode(errors="replace")[-3000:]
        wait_for(lambda: "status\nfinished" in page_text(driver), 30, "the finished status")
        screenshot(driver, "2_run_detail_finished", charts=2)
        assert "Traceback" not in page_text(driver)
        print(f"[browser] test body done after {time.monotonic() - started:.1f} s")
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait()
        if driver is not None:
            driver.quit()
        server.stop()
