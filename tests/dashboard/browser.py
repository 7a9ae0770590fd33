"""Browser-test plumbing: Streamlit as a subprocess, Debian's headless Chromium via selenium."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from deploy.dashboard_server import streamlit_command
from kafka_bridge.processes import free_port
from tests.dashboard.publish import REPO_ROOT

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = REPO_ROOT / ".artifacts" / "screenshots"


class StreamlitServer:
    """`streamlit run dashboard/app.py` on a free port, pointed at one broker and prefix."""

    def __init__(self, bootstrap: str, prefix: str, log_path: Path, refresh_s: float = 1.0) -> None:
        self.port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "FEDCHURN_KAFKA_BOOTSTRAP": bootstrap, "FEDCHURN_KAFKA_TOPIC_PREFIX": prefix,
               "FEDCHURN_DASHBOARD_REFRESH_S": str(refresh_s)}
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            streamlit_command(self.port), cwd=REPO_ROOT, env=env, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def healthy(self) -> bool:
        """True once the server answers its health check (raises if it died)."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


def chromium_driver():
    """Headless Debian Chromium with the system chromedriver (nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        raise RuntimeError(f"{missing} missing: run scripts/install-chromium.sh (make chromium)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1500", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(predicate: Callable[[], object], timeout: float, what: str, poll: float = 0.25) -> object:
    """Poll until `predicate()` is truthy; its value, or TimeoutError naming `what`."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            print(f"[browser] {what}: {time.monotonic() - started:.1f} s", flush=True)
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def page_text(driver) -> str:
    """Visible text of the Streamlit app body."""
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except Exception:  # noqa: BLE001 - the DOM is being re-rendered; try again
        return ""


def selected_values(driver) -> list[str]:
    """Values shown in the page's select boxes (rendered as inputs, not text)."""
    from selenium.webdriver.common.by import By

    try:
        return [el.get_attribute("value") or "" for el in driver.find_elements(By.TAG_NAME, "input")]
    except Exception:  # noqa: BLE001 - re-rendering
        return []


def plotted_rounds(driver) -> int:
    """How many federated AUC points the run detail page says its chart holds."""
    match = re.search(r"federated AUC plotted for (\d+) of", page_text(driver))
    return int(match.group(1)) if match else 0


def charts_drawn(driver) -> int:
    """Number of Vega charts that have drawn their canvas or SVG."""
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, ".vega-embed canvas, .vega-embed svg"))


def tables_drawn(driver) -> int:
    """Number of data grids on the page."""
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stDataFrame'] canvas"))


def screenshot(driver, name: str, charts: int = 0, tables: int = 0) -> Path:
    """Save a PNG of the current page under .artifacts/screenshots/ once `charts` Vega charts
    and `tables` data grids have drawn."""
    if charts or tables:
        wait_for(lambda: charts_drawn(driver) >= charts and tables_drawn(driver) >= tables, 20,
                 f"{charts} charts and {tables} tables drawn")
        time.sleep(0.5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# Rendered geometry of every visible Vega chart (Streamlit draws them as SVG): the plot area is
# the root view's background rect, legends and the title are their own groups.
_GEOMETRY_JS = """
const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                   return {x: r.x, y: r.y, w: r.width, h: r.height}; };
return [...document.querySelectorAll('.vega-embed svg')].filter(s => s.getBoundingClientRect().height > 0)
  .map(svg => ({
    title: (svg.querySelector('.role-title-text') || {}).textContent || '',
    svg: box(svg),
    plot: box(svg.querySelector('g.mark-group.role-frame.root > g > path.background')),
    legends: [...svg.querySelectorAll('g.role-legend')].map(box),
    axis_labels: [...svg.querySelectorAll('g.role-axis')].map(
        a => [...a.querySelectorAll('.role-axis-label text')].map(t => t.textContent)),
  }));
"""


def chart_geometry(driver) -> list[dict]:
    """Per visible chart: title, svg / plot-area / legend boxes (px) and each axis's labels."""
    return driver.execute_script(_GEOMETRY_JS)


def overlap_px(a: dict, b: dict) -> float:
    """Area in px² shared by two boxes {x, y, w, h}."""
    dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return max(0.0, dx) * max(0.0, dy)
