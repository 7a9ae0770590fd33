"""Real browser: a run streams into the real broker while headless Chromium watches the dashboard."""

from __future__ import annotations

import subprocess
import sys

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

    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "tests.dashboard.paced_run", "--bootstrap", kafka_broker.bootstrap,
             "--prefix", prefix, "--run-id", run_id, "--out", str(tmp_path), "--rounds", str(ROUNDS)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        server.wait_healthy()
        driver = chromium_driver()
        driver.get(f"{server.url}/run")  # the run detail page; the run shows up on its own
        wait_for(lambda: any(v.startswith(f"{run_id} · running") for v in selected_values(driver))
                 and "status\nrunning" in page_text(driver), 90, "the live run in the run picker")
        assert plotted_rounds(driver) == 0
        screenshot(driver, "0_run_started")
        for step in range(ROUNDS):
            release(step)  # the server may now finish round step + 1
            wait_for(lambda s=step: plotted_rounds(driver) == s + 1, 60, f"AUC point {step + 1}")
            if step == 0:
                screenshot(driver, "1_run_detail_live", charts=2)
        release(ROUNDS)
        assert run.wait(timeout=120) == 0, run.stdout.read().decode(errors="replace")[-3000:]
        wait_for(lambda: "status\nfinished" in page_text(driver), 30, "the finished status")
        screenshot(driver, "2_run_detail_finished", charts=2)
        driver.get(f"{server.url}/kafka")
        wait_for(lambda: "publish → read" in page_text(driver), 60, "the Kafka flow page")
        screenshot(driver, "3_kafka_flow", charts=3, tables=1)
        driver.get(server.url)
        wait_for(lambda: "finished\n1" in page_text(driver) and "running\n0" in page_text(driver), 60,
                 "the finished run on the Runs page")
        screenshot(driver, "4_runs", tables=1)
        assert "Traceback" not in page_text(driver)
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait()
        if driver is not None:
            driver.quit()
        server.stop()
