"""The server's start builds what the first views share (server/warm.py): readiness of every system, the approval
digests, the dashboard's overview. The first views after it read none of the readiness inputs again; without it,
the first view reads them all (so the check below can fail)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from assay.server import warm
from assay.services.workspace import Workspace
from tests.support.server import PASSWORD, serving

# the rows a system's readiness is judged from (services/controls.py, _recorded) and an approval's assessments
_READINESS_INPUTS = re.compile(r"^SELECT (control_statuses|evidence|assessments)\.id\b")


@contextmanager
def _statements(ws: Workspace) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(ws.store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ws.store.engine, "before_cursor_execute", record)


def _login(client: TestClient, name: str) -> TestClient:
    session = TestClient(client.app)
    assert session.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False).status_code == 303
    return session


@pytest.mark.parametrize("warmed", [True, False])
def test_the_first_views_after_a_start_find_what_they_share_built(workspace: Workspace, warmed: bool) -> None:
    with serving(workspace, warm=warmed) as (client, _, ws):
        ws.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
        ws.risks.add("other", {"title": "o", "source": "data", "likelihood": 4, "impact": 5, "treatment": "mitigate"})
        if warmed:
            assert client.app.state.warmer.first.wait(60)
            warm.warm(client.app)  # again, at the head after the records above (the thread may have run before)
        owner, admin = _login(client, "owner"), _login(client, "admin")  # a login moves the ledger's head
        for person in (owner, admin):  # their own parts (the header's task list: evidence about to expire, ...)
            assert person.get("/account").status_code == 200
        read = set()
        for session, path in [(owner, "/"), (admin, "/readiness"), (admin, "/approvals"), (owner, "/systems")]:
            with _statements(ws) as seen:
                assert session.get(path).status_code == 200
            read |= {m.group(1) for s in seen for m in [_READINESS_INPUTS.search(s)] if m}
        assert sorted(read) == ([] if warmed else ["control_statuses", "evidence"])
        # and what they show is what the pages build from nothing
        shown = {path: admin.get(path).json() for path in ("/index.json", "/readiness.json", "/systems.json")}
    with TestClient(client.app) as again:  # a start without the warm-up: every cache is the app's own, empty
        again.app.state.shared_cache = None
        admin = _login(again, "admin")
        for path, page in shown.items():
            assert _comparable(admin.get(path).json()) == _comparable(page), path


def _comparable(page: Any) -> Any:
    """The page without who asked, when, and the ledger's latest events (each login adds one)."""
    if isinstance(page, dict):
        skip = ("user", "recent_events", "generated_at", "generated_by")
        return {k: _comparable(v) for k, v in page.items() if k not in skip}
    if isinstance(page, list):
        return [_comparable(v) for v in page]
    return page


def test_a_failed_warm_up_is_logged_and_the_pages_build_what_they_need(
    workspace: Workspace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(app: Any) -> float:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(warm, "warm", failing)
    with caplog.at_level(logging.ERROR, "assay.server"), serving(workspace, warm=True) as (client, _, _ws):
        assert client.app.state.warmer.first.wait(60)
        assert _login(client, "owner").get("/").status_code == 200
    assert "could not be built in advance" in caplog.text and "the database went away" in caplog.text


def test_the_warm_up_runs_again_after_each_midnight(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[float] = []

    def counted(app: Any) -> float:
        runs.append(time.monotonic())
        return 0.0

    monkeypatch.setattr(warm, "warm", counted)
    monkeypatch.setattr(warm, "seconds_to_next_day", lambda: 0.05)  # a day every 50 ms
    with serving(workspace, warm=True):
        deadline = time.monotonic() + 30
        while len(runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(runs) >= 3
    stopped = len(runs)
    time.sleep(0.2)
    assert len(runs) == stopped  # the server stopped: so did the warm-up


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (dt.datetime(2026, 12, 7, 23, 59, 30, tzinfo=dt.UTC), 31.0),
        (dt.datetime(2026, 12, 7, 0, 0, 0, tzinfo=dt.UTC), 86401.0),
        (dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC), 43201.0),
    ],
)
def test_the_next_day_starts_at_the_first_midnight_utc_or_local(
    now: dt.datetime, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert warm.seconds_to_next_day(now) == seconds
        monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: local midnight at 18:30 UTC
        time.tzset()
        expected = (dt.datetime.combine(now.date(), dt.time(18, 30), dt.UTC) - now).total_seconds() % 86400 + 1.0
        assert warm.seconds_to_next_day(now) == min(seconds, expected)
    finally:
        monkeypatch.undo()
        time.tzset()
