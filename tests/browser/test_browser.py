"""The web application in a real browser: Playwright driving Debian's Chromium against a real server.

alice (ML engineer) logs in, creates a limited-risk system, uploads a dataset, registers a model version, runs an
assessment, records a risk, runs the production gate and sees it fail (the four-fifths rule), and requests approval
for production; bob (approver) cannot approve while the gate fails, and the page says why; dave (risk officer, an
owner of the system) waives the failing rule from the request's page; bob approves; the auditor sees bob's audit
event and verifies the ledger; the technical documentation shows the gaps left. Screenshots are kept in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest

from assay.config import load_settings
from assay.services.workspace import Workspace
from tests.support.browser import check_page, new_context
from tests.support.env import ROOT
from tests.support.serve import app_thread

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Workspace]]:
    """The server's address, and the workspace as its (authenticated) administrator."""

    ws = Workspace.init(tmp_path / "ws", load_settings(actor="setup", workspace=None))
    ws.access.add_user("admin", PASSWORD, role="admin")  # the first admin needs nobody's leave
    admin = ws.login("admin", PASSWORD)  # the other users and their roles need an authenticated admin
    admin.access.add_user("auditor", PASSWORD, role="auditor")
    admin.access.add_user("alice", PASSWORD)
    admin.access.add_user("bob", PASSWORD)
    admin.access.add_user("dave", PASSWORD)
    with app_thread(ws) as base:
        yield base, admin
    ws.close()


def _data(path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 400
    colour = rng.choice(["Black", "White"], n)
    score = np.clip(rng.beta(5, 2, n) - 0.25 * (colour == "Black"), 0, 1).round(4)  # DI 0.5: four-fifths fails
    frame = pd.DataFrame({"colour": colour, "released": np.where(rng.random(n) < score, "Yes", "No"), "p": score})
    frame.to_csv(path, index=False)
    return path


def _login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/")


def _logout(page: Any) -> None:
    page.click("form.logout button")


def test_governance_flow_in_a_real_browser(live: tuple[str, Workspace], browser: Any, tmp_path: Path) -> None:
    base, ws = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    _login(page, base, "alice")
    page.click("#new-system-link")
    page.wait_for_url(f"{base}/systems/new")
    page.fill('#new-system input[name="name"]', "release")
    page.fill('#new-system textarea[name="purpose"]', "Recommend release with a summons")
    page.select_option('#new-system select[name="eu_ai_act_category"]', "limited")  # its default gate: production
    page.click('#new-system button[type="submit"]')
    page.wait_for_url(f"{base}/systems/release")
    page.goto(f"{base}/systems/release/models")
    page.fill('#upload-dataset input[name="dataset"]', "arrests")
    page.fill('#upload-dataset input[name="data_version"]', "1")
    page.set_input_files('#upload-dataset input[name="file"]', str(_data(tmp_path / "arrests.csv")))
    page.fill('#upload-dataset input[name="data_source"]', "made-up test data")
    page.click('#upload-dataset button[type="submit"]')
    page.wait_for_selector("#flash:has-text('uploaded')")  # the same page again (htmx swaps it), with the message
    page.fill('#register-model input[name="model"]', "lr")
    page.fill('#register-model input[name="version"]', "1")
    page.select_option('#register-model select[name="training_dataset"]', "arrests@1")
    page.click('#register-model button[type="submit"]')
    page.wait_for_selector("#flash:has-text('registered')")
    page.goto(f"{base}/systems/release/run")  # a bias assessment of the only dataset version, by default
    page.select_option("#f-model_version", "lr@1")  # its predictions are the file's column p
    page.select_option("#f-label", "released")  # the label's values come with the reloaded form
    page.wait_for_selector('#f-positive option[value="Yes"]', state="attached")
    page.select_option("#f-positive", "Yes")
    page.select_option("#f-facet_column_0", "colour")
    page.wait_for_selector('#f-facet_values_0 option[value="Black"]', state="attached")
    page.select_option("#f-facet_values_0", "Black")
    page.select_option("#f-score", "p")
    page.click("#run-submit")
    page.wait_for_url(f"{base}/jobs/*")  # the run is a job: its page refreshes until the result is there
    job_path = urlsplit(page.url).path
    page.screenshot(path=str(SHOTS / "job.png"), full_page=True)
    page.wait_for_selector("#job-result a", timeout=60_000)
    assert "succeeded" in page.inner_text("#job-status")
    page.click("#job-result a")
    page.wait_for_url(f"{base}/systems/release/assessments/1")
    assert "DPPL" in page.inner_text("#metrics")
    page.screenshot(path=str(SHOTS / "assessment.png"), full_page=True)
    page.goto(f"{base}/systems/release/risks")  # the finding goes into the risk register
    risk = "#add-risk-form"
    page.fill(f"{risk} [name=title]", "Black defendants released less often")
    page.fill(f"{risk} [name=source]", "bias assessment 1")
    page.select_option(f"{risk} [name=likelihood]", "3")
    page.select_option(f"{risk} [name=impact]", "4")
    page.select_option(f"{risk} [name=treatment]", "mitigate")
    page.click(f"{risk} button[type=submit]")
    page.wait_for_selector("#flash:has-text('added')")
    assert "Black defendants released less often" in page.inner_text("main")
    # the gate for production (Assay's default for limited-risk systems), judged and recorded: the disparity fails it
    context = new_context(browser)  # CSP bypassed to inject axe-core (the walk itself runs under the real CSP)
    checked = context.new_page()
    page.goto(f"{base}/systems/release/gates")
    page.select_option('#check-form select[name="ref"]', "lr@1")
    page.select_option('#check-form select[name="stage"]', "production")
    page.click('#check-form button[type="submit"]')
    page.wait_for_selector("#gate-rules")
    assert "fails 1 of" in page.inner_text("#result h3")
    failing = page.locator("#gate-rules tbody tr", has=page.locator(".verdict-fail"))
    # the approvals rule fails until a request's approvals meet it: it does not block ("fails 1")
    assert [row.split("\t")[0].strip() for row in failing.all_inner_texts()] == ["four-fifths", "approvals"]
    page.click('#record-form button[type="submit"]')
    page.wait_for_selector("#flash:has-text('recorded: failed')")
    assert "failed" in page.inner_text("#gate-runs tbody tr:first-child")
    gates_path = urlsplit(page.url).path + "?" + urlsplit(page.url).query
    _login(checked, base, "alice")
    checked.goto(f"{base}{gates_path}")
    check_page(checked, "walk-alice-gates-failing")
    _logout(checked)
    page.goto(f"{base}/systems/release/approvals")
    page.select_option('#request-approval select[name="ref"]', "lr@1")
    page.select_option('#request-approval select[name="stage"]', "production")
    page.click('#request-approval button[type="submit"]')
    page.wait_for_url(re.compile(r".*/approvals/\d+$"))  # the request's page, with the message
    request_path = urlsplit(page.url).path
    assert "Approval request" in page.inner_text("#flash")
    page.goto(f"{base}/systems/release")
    assert "pending" in page.inner_text("#approvals")
    page.goto(f"{base}/systems/release/controls")  # a piece of evidence withdrawn, with its reason and the box ticked
    page.locator("details:has(form.revoke) > summary").first.click()  # each revoke form opens from its row
    revoke = page.locator("form.revoke").first
    revoke.locator("[name=reason]").fill("attached to the wrong control")
    revoke.locator("[name=confirm]").check()
    revoke.locator("button[type=submit]").click()
    page.wait_for_selector("#flash:has-text('revoked')")
    _logout(page)

    ws.access.grant("bob", "release", "approver")  # an administrator's decisions
    ws.access.grant("dave", "release", "owner")
    _login(page, base, "bob")
    page.goto(f"{base}/approvals")
    page.click(f'#inbox a[href="{request_path}"]')
    assert page.locator('#decide-form button[value="approve"]').is_disabled()  # refused while the gate fails
    why = page.inner_text("#why-not")
    assert "fails 1 of" in why and "(four-fifths)" in why and "waived by someone other than alice" in why
    _logout(page)
    _login(checked, base, "bob")
    checked.goto(f"{base}{request_path}")
    check_page(checked, "walk-bob-approval-refused")
    _logout(checked)

    _login(page, base, "dave")  # an owner other than the requester waives the failing rule, from the request
    page.goto(f"{base}{request_path}")
    page.click("#why-not a")
    page.wait_for_url(re.compile(r".*/systems/release/gates\?.*"))
    waive = "#waive-form"
    assert page.locator(f"{waive} select[name=rule] option").first.get_attribute("value") == "four-fifths"
    page.select_option(f"{waive} select[name=rule]", "four-fifths")
    page.select_option(f"{waive} select[name=model_version]", "lr@1")
    page.fill(f"{waive} textarea[name=reason]", "pilot under human review of every case while the threshold is reset")
    page.fill(f"{waive} input[name=expires]", (dt.date.today() + dt.timedelta(days=90)).isoformat())
    page.click(f"{waive} button[type=submit]")
    page.wait_for_selector("#flash:has-text('Waiver 1 given')")
    assert "four-fifths" in page.inner_text("#waiver-list")
    _logout(page)

    _login(page, base, "bob")
    page.goto(f"{base}{request_path}")
    assert page.locator("#why-not").count() == 0
    page.fill('#decide-form textarea[name="comment"]', "pilot with the waiver")
    page.click('#decide-form button[value="approve"]')
    page.wait_for_selector("#flash")
    assert "approved: lr@1 is now in production" in page.inner_text("#flash")
    page.goto(f"{base}/systems/release")
    assert "approved" in page.inner_text("#approvals")
    page.screenshot(path=str(SHOTS / "approved.png"), full_page=True)
    _logout(page)

    _login(page, base, "auditor")
    page.goto(f"{base}/audit")
    events = page.inner_text("#events")
    assert "approval approved" in events and "bob" in events  # the action in words
    page.click("#verify")
    page.wait_for_selector("#verification")
    assert "The ledger verifies" in page.inner_text("#verification")
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    assert ws.models.get_version("release", "lr@1").stage == "production"
    assert not errors, errors  # no script errors (and no CSP violations) in the console
    _logout(page)

    # every page of the walk as its person sees it: axe-core, screenshots at 1280 and 390 px, no sideways scroll
    walk = {
        "alice": ["/", "/systems", "/systems/release", "/systems/release/models", "/systems/release/run", job_path,
                  "/systems/release/assessments/1", "/systems/release/risks", "/systems/release/controls",
                  "/systems/release/approvals", "/systems/release/gates", "/systems/release/docs", "/tasks",
                  "/notifications"],
        "bob": ["/approvals", request_path, "/search?q=release"],
        "auditor": ["/audit", "/readiness"],
    }  # fmt: skip
    for person, paths in walk.items():
        _login(checked, base, person)
        for path in paths:
            checked.goto(f"{base}{path}")
            check_page(checked, f"walk-{person}-{path}")
        _logout(checked)
    context.close()


REVIEW_CONFIG = """
schema: assay.review/1
sla: 1h
personal_columns: [email]
outcomes: [approve, deny]
rules:
  - name: uncertain
    score_between: [0.4, 0.6]
"""


def test_a_reviewer_decides_in_a_real_browser(
    live: tuple[str, Workspace], browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rita (reviewer) opens the queue, claims its most urgent (overdue) item, tries to change its outcome without a
    reason (told inline), changes it with a reason, sees the confirmation on the next open item, and the item has
    left the open tab. Screenshots of both pages at 1280 and 390 px wide."""
    import datetime as dt

    import assay.services.review as review_service
    from assay.store.models import ReviewItem

    base, ws = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    ws.systems.create({"name": "credit", "eu_ai_act_category": "high", "annex_iii_area": 5})
    ws.models.register_version("credit", {"model": "scorer", "version": "1"})
    ws.access.add_user("rita", PASSWORD)
    ws.access.grant("rita", "credit", "reviewer")
    ws.review.configure("credit", text=REVIEW_CONFIG)
    ids = []
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    for i, score in enumerate((0.45, 0.5, 0.55)):
        features = {"amount": 1000 * (i + 1), "age": 30 + i, "email": f"person{i}@example.org"}
        with monkeypatch.context() as clock:
            if i == 0:  # held three hours ago: overdue by two hours
                clock.setattr(review_service, "utcnow", lambda: past)
            output = {"prediction": "approve", "score": score}
            ids.append(ws.review.route("credit", "scorer@1", f"inf-{i}", features, output)["item_id"])
    with ws.store.write("explainer") as tx:  # the next item has its explanation (as the explanation job writes it)
        item = tx.session.get(ReviewItem, ids[1])
        assert item is not None
        before = item.state()
        item.explanation = {
            "contributions": [{"feature": "amount", "value": 2000, "shap": 0.18},
                              {"feature": "age", "value": 31, "shap": -0.07},
                              {"feature": "email", "value": "person1@example.org", "shap": 0.01}],
            "sentences": ["An amount of 2000 raised the score the most."], "base_value": 0.4,
        }  # fmt: skip
        tx.record("review_item.explain", item, before=before, payload={})

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("dialog", lambda dialog: errors.append(f"a dialog opened: {dialog.message}"))  # never alert()
    _login(page, base, "rita")
    page.goto(f"{base}/systems/credit")
    page.click("#review-link")
    page.wait_for_url(f"{base}/systems/credit/review")
    assert "Time to decision (service level): 1 h" in page.inner_text("#review-sla")
    assert page.inner_text("#tab-open").split()[-1] == "3" and page.inner_text("#tab-overdue").split()[-1] == "1"
    assert "OVERDUE" in page.inner_text(f"#item-{ids[0]}").upper() and "overdue by 2 h" in page.inner_text(
        f"#item-{ids[0]}"
    )
    _shots(page, "review-queue")
    page.click(f"#item-{ids[0]} button.review-claim")
    page.wait_for_url(f"{base}/systems/credit/review/{ids[0]}")
    assert "You hold this item" in page.inner_text("#actions")
    assert "person0@example.org" not in page.content() and "hidden for your role" in page.inner_text("#features")
    # the explain-decisions job was queued with the items: not run yet, or it says why it could not explain (this
    # model version has no training data to serve as the background)
    explained = page.inner_text("#explanation")
    assert "not there yet" in explained or "has no training dataset version" in explained
    _shots(page, "review-item")
    page.select_option("#outcome", label="deny")
    page.click('#decide button[value="change"]')
    page.wait_for_selector("#review-message:not([hidden])")
    assert "give the reason" in page.inner_text("#review-message")
    page.fill("#reason", "the income is not verified")
    page.click('#decide button[value="change"]')
    page.wait_for_url(f"{base}/systems/credit/review/{ids[1]}?decided={ids[0]}")
    assert f"Item {ids[0]} decided: the outcome is changed to deny (the model said approve)." in page.inner_text(
        "#review-flash"
    )
    page.wait_for_selector("#explanation-chart .main-svg")  # Plotly drew the contributions
    assert "person1@example.org" not in page.content()
    _shots(page, "review-item-explained")
    page.goto(f"{base}/systems/credit/review")
    assert page.locator(f"#item-{ids[0]}").count() == 0 and page.locator(f"#item-{ids[1]}").count() == 1
    assert page.inner_text("#tab-open").split()[-1] == "2" and page.inner_text("#tab-decided").split()[-1] == "1"
    page.click("#tab-decided")
    assert "deny" in page.inner_text(f"#item-{ids[0]}") and "decided 2 h late" in page.inner_text(f"#item-{ids[0]}")
    decided = ws.review.item("credit", ids[0])
    assert decided["final"] == {"prediction": "deny"} and decided["decisions"][0]["reviewer"] == "rita"
    assert not errors, errors  # no script errors, CSP violations or dialogs


def _shots(page: Any, name: str) -> None:
    """The page at 1280 and 390 px wide (full height); at 390 px nothing may make the page scroll sideways."""
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # charts redraw at the new width
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert width <= 390, f"{name} is {width} px wide on a 390 px screen"
