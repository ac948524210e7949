"""The embeddable feedback snippet in a real browser: a product page served from another port (another origin)
includes /static/feedback.js from a real Assay server; a click on thumbs down with a comment stores the feedback,
its comment redacted; a page whose origin is not configured is refused and says so."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assay.config import load_settings
from assay.services.workspace import Workspace
from tests.support.serve import app_thread, free_port

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain static web server on its own port: the product page's origin, and its folder."""
    folder = tmp_path / "shop"
    folder.mkdir()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(SimpleHTTPRequestHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", folder
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def assay(tmp_path: Path, shop: tuple[str, Path]) -> Iterator[tuple[str, Workspace, str]]:
    """A real Assay server allowing the shop's origin for system credit; its address, workspace and the token."""

    settings = load_settings(actor="setup", workspace=None, feedback_origins={"credit": [shop[0]]})
    ws = Workspace.init(tmp_path / "ws", settings)
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.access.add_user("shop-bot", PASSWORD)
    for name in ("credit", "other"):
        admin.systems.create({"name": name, "eu_ai_act_category": "limited"})
        admin.access.grant("shop-bot", name, "viewer")
    admin.models.register_version("credit", {"model": "gbm", "version": "3"})
    token = admin.access.create_token("shop-bot", "product page", scope="feedback")[0]
    with app_thread(ws) as base:
        yield base, admin, token
    ws.close()


def _page(folder: Path, name: str, base: str, system: str, token: str) -> str:
    attributes = html.escape('{"channel": "web"}')
    (folder / name).write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Your loan decision</title></head><body>
<h1>Your loan decision</h1><p>We could not approve your application.</p>
<div id="fb" data-assay-feedback data-inference-id="inf-42" data-model-version="gbm@3"
     data-categories="wrong,unclear,unfair" data-attributes="{attributes}"></div>
<script src="{base}/static/feedback.js" data-server="{base}" data-system="{system}" data-token="{token}"
        data-scale="2"></script>
</body></html>""",
        encoding="utf-8",
    )
    return name


def test_the_snippet_on_another_origin_stores_redacted_feedback(
    assay: tuple[str, Workspace, str], shop: tuple[str, Path], browser: Any
) -> None:
    base, ws, token = assay
    origin, folder = shop
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{origin}/{_page(folder, 'loan.html', base, 'credit', token)}")
    page.click('#fb button[aria-label="Not helpful"]')
    page.select_option("#fb select", "unfair")
    page.fill("#fb textarea", "I'm Maria Lopez, this is unfair. Call me on +44 20 7946 0958 or maria@example.com")
    page.click("#fb .assay-feedback-send")
    page.wait_for_selector("#fb .assay-feedback-thanks", timeout=20_000)
    assert errors == []
    [item] = ws.feedback.list("credit")
    stored = item.to_dict()
    assert stored["comment"] == "I'm <PERSON>, this is unfair. Call me on <PHONE_NUMBER> or <EMAIL_ADDRESS>"
    assert (stored["rating"], stored["scale"], stored["category"], stored["source"]) == (0, 2, "unfair", "snippet")
    assert (stored["inference_id"], stored["model_version"], stored["attributes"]) == ("inf-42", "gbm@3",
                                                                                       {"channel": "web"})  # fmt: skip
    assert stored["created_by"] == "shop-bot"

    # the same page for a system whose origins do not include the shop: refused, and nothing stored
    page.goto(f"{origin}/{_page(folder, 'other.html', base, 'other', token)}")
    page.click('#fb button[aria-label="Helpful"]')
    page.click("#fb .assay-feedback-send")
    page.wait_for_function("document.querySelector('#fb .assay-feedback-status').textContent.length > 0")
    assert "could not be sent" in page.inner_text("#fb .assay-feedback-status")
    assert ws.feedback.list("other").total == 0
