"""Every page of the web application in a real browser: axe-core finds no serious or critical accessibility
violation, the page does not scroll sideways at 390 px, and screenshots at 1280 and 390 px are kept
(tests.support.browser.check_page).

One server and one Chromium for the module; the administrator sees every page (the login page as nobody, an
error page for a system that does not exist, the dashboard also as an ordinary system owner, whose navigation
differs). The workspace holds one of each record the pages show, so tables, charts and forms are on the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.config import load_settings
from assay.services.workspace import Workspace
from tests.support.browser import check_page, new_context
from tests.support.env import unavailable
from tests.support.monitoring import check, record_run
from tests.support.serve import app_thread

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SYSTEM = "release"


def _fill(ws: Workspace) -> dict[str, str]:
    """One of each record the pages show, on system ``release``; the ids the page paths need."""
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.access.add_user("owner", PASSWORD)
    admin.access.add_user("auditor", PASSWORD, role="auditor")
    admin.systems.create({"name": SYSTEM, "purpose": "Recommend release with a summons", "eu_ai_act_category": "high",
                          "annex_iii_area": 6})  # fmt: skip
    admin.access.grant("owner", SYSTEM, "owner")
    admin.datasets.register_version({"dataset": "arrests", "version": "1", "source": "made up"}, system=SYSTEM)
    admin.models.register_version(SYSTEM, {"model": "lr", "version": "1", "training_dataset": "arrests@1"})
    admin.assessments.record(SYSTEM, {"schema": "assay.assessment", "spec": {}, "data": {}}, model_version="lr@1")
    for k, treatment in enumerate(("mitigate", "accept", "transfer")):
        admin.risks.add(SYSTEM, {"title": f"Risk {k}: a long title that wraps on a phone " * 2, "source": "model",
                                 "likelihood": 1 + k, "impact": 3 + k % 3, "treatment": treatment})  # fmt: skip
    admin.controls.set_status(SYSTEM, "iso42001", "A.6.2.4", implementation="implemented", owner="owner")
    incident = admin.incidents.open(
        SYSTEM, {"title": "Wrong summons", "severity": "medium", "occurred_at": "2026-03-01T10:30:00+00:00"}
    )
    admin.incidents.add_action(SYSTEM, incident.id, {"description": "Retrain", "owner": "owner"})
    admin.set_mode("single-user")
    admin.approvals.request(SYSTEM, "lr@1", "staging", comment="ready for staging")
    admin.set_mode("multi-user")
    admin.review.configure(SYSTEM, text="sla: 4h\nrules:\n  - name: audit\n    sample: 1.0\n")
    held = admin.review.submit(
        SYSTEM, "lr@1", [{"inference_id": f"inf-{k}", "prediction": k % 2, "age": 20 + k} for k in range(3)],
        everything=True,
    )  # fmt: skip
    spec = {"name": "daily", "model_version": "lr@1", "source": {"type": "given"}, "window": "1d",
            "checks": [{"kind": "duplicates", "options": {}}]}  # fmt: skip
    monitor = admin.monitors.create(SYSTEM, spec)
    for day in range(3):
        record_run(admin, monitor, day, [check("drift", "fail" if day == 2 else "pass", [("age", 0.3)] * (day == 2),
                                               [("psi", "age", 0.1 * day)])])  # fmt: skip
    review = admin.aims.reviews.open("Management review 2026", dt.date.today().isoformat(), ["admin"])
    return {"item": str(held["item_ids"][0]), "review": str(review.id)}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The server's address over the filled workspace, and the ids of its records."""
    try:
        import axe_playwright_python  # noqa: F401 -- axe-core's script
    except ImportError:
        unavailable("axe-playwright-python is not installed (pip install -e '.[dev]')")
    folder: Path = tmp_path_factory.mktemp("a11y")
    ws = Workspace.init(folder / "ws", load_settings(actor="setup", workspace=None))
    ids = _fill(ws)
    with app_thread(ws) as base:
        yield base, ids
    ws.close()


def _logged_in(browser: Any, base: str, name: str) -> Any:
    """A page of a new context (CSP bypassed for axe-core) where ``name`` has logged in through the login form."""
    page = new_context(browser).new_page()
    page.goto(f"{base}/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/")
    return page


@pytest.fixture(scope="module")
def admin_page(module_browser: Any, live: tuple[str, dict[str, str]]) -> Iterator[Any]:
    page = _logged_in(module_browser, live[0], "admin")
    yield page
    page.context.close()


PAGES = [
    ("dashboard", "/"),
    ("system", f"/systems/{SYSTEM}"),
    ("risks", f"/systems/{SYSTEM}/risks"),
    ("soa", f"/systems/{SYSTEM}/soa"),
    ("docs", f"/systems/{SYSTEM}/docs"),
    # pages whose forms are the kit's macros with id prefixes, checkboxes, htmx selects and the gate-result table
    ("controls", f"/systems/{SYSTEM}/controls"),
    ("gates", f"/systems/{SYSTEM}/gates"),
    ("gates-check", f"/systems/{SYSTEM}/gates?ref=lr@1&stage=production"),
    ("models", f"/systems/{SYSTEM}/models"),
    ("run", f"/systems/{SYSTEM}/run"),
    ("system-edit", f"/systems/{SYSTEM}/edit"),
    ("readiness", "/readiness"),
    ("readiness-nist", "/readiness?framework=nist-ai-rmf"),
    ("approvals", "/approvals"),
    ("audit", "/audit"),
    ("review-queue", f"/systems/{SYSTEM}/review"),
    ("review-item", f"/systems/{SYSTEM}/review/{{item}}"),
    ("monitoring", f"/systems/{SYSTEM}/monitoring"),
    ("oversight", f"/systems/{SYSTEM}/oversight"),
    ("aims", "/aims"),
    ("aims-context", "/aims/context"),
    ("aims-documents", "/aims/documents"),
    ("aims-roles", "/aims/roles"),
    ("aims-objectives", "/aims/objectives"),
    ("aims-training", "/aims/training"),
    ("aims-audits", "/aims/audits"),
    ("aims-nonconformities", "/aims/nonconformities"),
    ("aims-reviews", "/aims/reviews"),
    ("aims-review", "/aims/reviews/{review}"),
]


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _ in PAGES])
def test_page_is_accessible_and_fits_a_phone(
    admin_page: Any, live: tuple[str, dict[str, str]], name: str, path: str
) -> None:
    base, ids = live
    response = admin_page.goto(base + path.format(**ids))
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    check_page(admin_page, name)


def test_login_page(module_browser: Any, live: tuple[str, dict[str, str]]) -> None:
    page = new_context(module_browser).new_page()
    response = page.goto(f"{live[0]}/login?next=/readiness")
    assert response is not None and response.status == 200
    check_page(page, "login")
    page.fill('input[name="name"]', "admin")
    page.fill('input[name="password"]', "not the password")
    page.click('button[type="submit"]')
    page.wait_for_url("**/login?error=1*")
    check_page(page, "login-refused")
    page.context.close()


def test_error_page(admin_page: Any, live: tuple[str, dict[str, str]]) -> None:
    response = admin_page.goto(f"{live[0]}/systems/no-such-system")
    assert response is not None and response.status == 404
    assert "no-such-system" in admin_page.inner_text("main")
    check_page(admin_page, "error-404")


def test_dashboard_as_a_system_owner(module_browser: Any, live: tuple[str, dict[str, str]]) -> None:
    page = _logged_in(module_browser, live[0], "owner")
    check_page(page, "dashboard-owner")
    response = page.goto(f"{live[0]}/systems/{SYSTEM}")
    assert response is not None and response.status == 200
    check_page(page, "system-owner")
    page.context.close()


def test_the_checks_find_what_they_look_for(module_browser: Any) -> None:
    """A page with an unlabelled input, an image without text and a box wider than a phone fails check_page, and
    says why."""
    page = new_context(module_browser).new_page()
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>bad</title></head><body><main><h1>Bad</h1>'
        '<input type="text" name="q"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<div id="wide" style="width: 700px">wide</div></main></body></html>'
    )
    with pytest.raises(AssertionError) as failed:
        check_page(page, "self-test")
    message = str(failed.value)
    assert "label (critical)" in message and "image-alt (critical)" in message, message
    assert "scrolls sideways at 390 px wide (it is 7" in message and "div#wide" in message, message
    page.context.close()
