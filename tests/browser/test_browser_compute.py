"""The compute pages in a real browser (Playwright, Debian's Chromium, a real server with its workers): the run
form's pickers filled by htmx (a facet's values after its column is chosen, a second facet row), the job page
polling until the result, and the result page's charts drawn by Plotly under the pages' Content Security Policy,
without sideways scrolling at 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.config import load_settings
from assay.services.workspace import Workspace
from tests.support.serve import app_thread

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    """A server over a workspace where olga owns "release" with dataset version hiring@1 (300 rows)."""
    rng = np.random.default_rng(5)
    n = 300
    sex = rng.choice(["F", "M"], n)
    region = rng.choice(["north", "south"], n)
    hired = np.where(rng.random(n) < np.where(sex == "M", 0.6, 0.35), "yes", "no")
    pd.DataFrame({"sex": sex, "region": region, "hired": hired}).to_csv(tmp_path / "hiring.csv", index=False)
    ws = Workspace.init(tmp_path / "ws", load_settings(actor="setup", workspace=None))
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.systems.create({"name": "release", "eu_ai_act_category": "minimal"})
    admin.access.add_user("olga", PASSWORD)
    admin.access.grant("olga", "release", "owner")
    ws.login("olga", PASSWORD).datasets.register_version(
        {"dataset": "hiring", "version": "1"}, system="release", file=tmp_path / "hiring.csv", copy=True
    )
    with app_thread(ws) as base:
        yield base
    ws.close()


def test_run_form_job_and_result_in_a_real_browser(live: str, browser: Any) -> None:
    base = live
    page = browser.new_page(viewport={"width": 390, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{base}/login")
    page.fill('input[name="name"]', "olga")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/systems/release/run")
    page.select_option("#f-label", "hired")  # the label's values come with the reloaded form
    page.wait_for_selector('#f-positive option[value="yes"]', state="attached")
    page.select_option("#f-positive", "yes")
    page.select_option("#f-facet_column_0", "sex")
    page.wait_for_selector('#f-facet_values_0 option[value="F"]', state="attached")
    page.select_option("#f-facet_values_0", "F")
    page.click("#add-facet")
    page.wait_for_selector("#f-facet_column_1")
    page.select_option("#f-facet_column_1", "region")
    page.wait_for_selector('#f-facet_values_1 option[value="north"]', state="attached")
    assert page.input_value("#f-facet_column_0") == "sex"  # the first row kept through the reloads
    page.fill("#f-bootstrap", "0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#run-submit")
    page.wait_for_url(f"{base}/jobs/*")
    page.wait_for_selector("#job-result a", timeout=60_000)  # the live part polled until the job ended
    assert "succeeded" in page.inner_text("#job-status")
    page.click("#job-result a")
    page.wait_for_url(f"{base}/systems/release/assessments/*")
    page.wait_for_selector("#chart-DPL svg", timeout=30_000)  # Plotly loaded once, drawn from the page's data
    assert "Difference in Positive Proportions in Labels (DPL)" in page.inner_text("#metrics")
    assert "sex = F" in page.inner_text("#metrics") and "region = north" in page.inner_text("#metrics")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not problems, problems
