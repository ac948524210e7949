"""The web application's kit: vendored front-end files, the display filters, tables (sort, filter, page, CSV),
messages after actions, form errors and error pages in the layout (the real app)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from assay.errors import InvalidInput
from assay.server import web
from assay.server.format import metric_name, number, when, words
from assay.services.workspace import Workspace
from tests.support.server import PASSWORD, serving

VENDOR = Path(str(resources.files("assay.server") / "static" / "vendor"))


def test_vendored_files_are_the_registry_packages_files() -> None:
    manifest = json.loads((VENDOR / "vendor.json").read_text())
    assert set(manifest["files"]) == {"htmx.min.js", "pico.min.css"}
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert (VENDOR / entry["licence_file"]).read_text().strip()


def test_numbers_for_reading_keep_full_precision_on_hover() -> None:
    assert str(number(1288.0)) == '<span class="num">1,288</span>'
    assert str(number(1288)) == '<span class="num">1,288</span>'
    shown = str(number(0.5132749836512345))
    assert ">0.513<" in shown and 'title="0.5132749836512345"' in shown
    assert ">0.000123<" in str(number(0.00012345678))
    assert ">12.3<" in str(number(12.3456))
    assert str(number(None)) == "–" and str(number(True)) == "yes"
    assert ">∞<" in str(number(float("inf")))
    assert str(number("<b>x</b>")) == "&lt;b&gt;x&lt;/b&gt;"  # text is escaped, never markup


def test_words_metric_names_and_times() -> None:
    assert words("post_training") == "after training (predictions)"
    assert words("in_progress") == "in progress"
    assert words("iso42001") == "ISO/IEC 42001"
    assert words("Already words") == "Already words"
    assert metric_name("DI") == "Disparate Impact (DI)"
    assert metric_name("unknown_metric") == "unknown metric"
    shown = str(when("2026-12-06T19:45:12.123456+00:00"))
    assert ">2026-12-06 19:45 UTC<" in shown and "123456" in shown.split(">")[0]  # full value only on hover


def _app() -> FastAPI:
    app = FastAPI()
    rows = [{"name": f"r{i}", "score": (i * 7) % 10, "level": ("low", "high")[i % 2]} for i in range(120)]
    rows.append({"name": "=cmd|' /C calc'!A0", "score": None, "level": "low"})
    columns = [web.Column("name", "Name"), web.Column("score", "Score", kind="number"),
               web.Column("level", "Level", choices=("low", "high"))]  # fmt: skip

    @app.get("/t")
    def listing(request: Request) -> dict[str, object]:
        t = web.table(request, columns, rows, default_sort="name")
        return {"names": [r["name"] for r in t.rows], "total": t.total, "pages": t.pages,
                "next": t.link(page=t.page + 1), "sort": t.sort_link("score"), "csv": t.csv_link()}  # fmt: skip

    @app.get("/t.csv")
    def export(request: Request) -> object:
        t = web.table(request, columns, rows, per=10**6)
        return web.csv_response("t", columns, t.rows)

    return app


def test_tables_sort_filter_search_page_and_export() -> None:
    client = TestClient(_app())
    first = client.get("/t").json()
    assert first["total"] == 121 and first["pages"] == 3 and len(first["names"]) == 50
    assert first["names"][:3] == ["=cmd|' /C calc'!A0", "r0", "r1"]
    high = client.get("/t", params={"level": "high", "sort": "score", "desc": "1"}).json()
    assert high["total"] == 60
    assert high["next"] == "/t?sort=score&desc=1&page=2&level=high"
    assert high["sort"] == "/t?sort=score&level=high"  # the second click on the sorted column flips its order
    assert client.get("/t", params={"q": "R11"}).json()["names"] == ["r11", *(f"r11{i}" for i in range(10))]
    scores = client.get("/t", params={"sort": "score", "page": "3"}).json()
    assert scores["names"][-1] == "=cmd|' /C calc'!A0"  # empty values last
    exported = client.get("/t.csv", params={"level": "low"})
    assert exported.headers["content-disposition"] == 'attachment; filename="t.csv"'
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["name", "score", "level"] and len(table) == 62
    assert ["'=cmd|' /C calc'!A0", "", "low"] in table  # a formula is text in a spreadsheet


def _two_tables_app() -> FastAPI:
    """A page with two tables over the same columns: the second named ``b`` in the query."""
    app = FastAPI()
    rows = [{"name": f"r{i}", "score": i, "level": ("low", "high")[i % 2]} for i in range(60)]
    columns = [web.Column("name", "Name"), web.Column("score", "Score", kind="number"),
               web.Column("level", "Level", choices=("low", "high"))]  # fmt: skip

    def state(t: web.Table) -> dict[str, object]:
        return {"names": [r["name"] for r in t.rows], "total": t.total, "sort": t.sort_link("score"),
                "next": t.link(page=t.page + 1), "csv": t.csv_link(), "keep": [list(p) for p in t.keep]}  # fmt: skip

    @app.get("/two")
    def page(request: Request) -> dict[str, object]:
        a = web.table(request, columns, rows, default_sort="name")
        b = web.table(request, columns, rows, default_sort="name", prefix="b")
        return {"a": state(a), "b": state(b)}

    @app.get("/two.csv")
    def export(request: Request) -> object:
        b = web.table(request, columns, rows, per=web.CSV_MAX_ROWS, prefix="b")
        return web.csv_response("b", columns, b.rows)

    return app


def _request(url: str) -> Request:
    path, _, query = url.partition("?")
    return Request({"type": "http", "method": "GET", "path": path, "query_string": query.encode(), "headers": []})


def test_two_tables_on_one_page_keep_their_own_state() -> None:
    client = TestClient(_two_tables_app())
    asked = {"sort": "score", "desc": "1", "b.level": "high", "b.sort": "score", "b.page": "2", "b.per": "x"}
    both = client.get("/two", params=asked).json()
    a, b = both["a"], both["b"]
    assert a["total"] == 60 and a["names"][:2] == ["r59", "r58"]  # the first table: unprefixed, sorted down
    assert b["total"] == 30 and b["names"] == []  # high ones, page 2 of one page: sorted up, not down
    assert client.get("/two", params={"b.level": "high", "b.sort": "score"}).json()["b"]["names"][:2] == ["r1", "r3"]
    # each table's links change its own parameters and keep the other's (the unprefixed one keeps the dotted ones)
    assert b["sort"] == "/two?b.sort=score&b.desc=1&b.level=high"
    assert a["sort"] == "/two?sort=score&b.level=high&b.sort=score&b.page=2&b.per=x"
    assert a["next"] == "/two?sort=score&desc=1&page=2&b.level=high&b.sort=score&b.page=2&b.per=x"
    assert b["csv"] == "/two.csv?b.sort=score&b.level=high"
    # the CSV twin reads the same prefixed parameters
    exported = list(csv.reader(io.StringIO(client.get("/two.csv", params={"b.level": "low", "b.q": "r1"}).text)))
    assert [r[0] for r in exported[1:]] == ["r10", "r12", "r14", "r16", "r18"]
    carried = web.table_query(_request("/two?framework=nist&sort=name&other=x"), [], carry=("framework",))
    assert carried.keep == (("framework", "nist"),)
    with pytest.raises(InvalidInput) as refused:
        TestClient(_two_tables_app(), raise_server_exceptions=True).get("/two", params={"b.page": "x"})
    assert refused.value.fields == {"b.page": "a number"} and "b.page must be a whole number" in str(refused.value)


def test_the_table_macro_names_its_controls_with_the_tables_prefix() -> None:
    from assay.reports._jinja import template
    from assay.server.format import FILTERS

    columns = [web.Column("name", "Name"), web.Column("level", "Level", choices=("low", "high"))]
    rows = [{"name": f"r{i}", "level": "low"} for i in range(120)]
    t = web.Table(columns, rows[:50], 120, q="r", sort="name", desc=True, filters={"level": "low"}, path="/p",
                  prefix="risks", keep=(("other.sort", "x"),))  # fmt: skip
    shown = template("ui/_macros.html.j2", **FILTERS).make_module({"csrf": ""}).table(t, "risks", "Risks")
    for name, value in (("risks.level", "low"), ("risks.sort", "name"), ("risks.desc", "1"), ("other.sort", "x")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in shown, name
    assert '<input type="search" name="risks.q" value="r"' in shown and '<select name="risks.level"' in shown
    state = "risks.q=r&amp;risks.sort=name&amp;risks.desc=1"
    assert f'href="/p?{state}&amp;risks.page=2&amp;risks.level=low&amp;other.sort=x"' in shown  # the next page
    assert f'href="/p.csv?{state}&amp;risks.level=low&amp;other.sort=x"' in shown
    unprefixed = web.Table(columns, rows[:50], 120, sort="name", path="/p")
    plain = template("ui/_macros.html.j2", **FILTERS).make_module({"csrf": ""}).table(unprefixed, "t")
    assert '<input type="search" name="q"' in plain and '<select name="level"' in plain
    assert 'href="/p?sort=name&amp;page=2"' in plain


def test_a_bad_page_number_is_named() -> None:
    with pytest.raises(InvalidInput) as refused:
        TestClient(_app(), raise_server_exceptions=True).get("/t", params={"page": "x"})
    assert refused.value.fields == {"page": "a number"}


def test_confirmation_is_required_for_irreversible_actions() -> None:
    with pytest.raises(InvalidInput) as refused:
        web.require_confirmation("", "revoking evidence")
    assert refused.value.fields == {"confirm": "tick to confirm"}
    web.require_confirmation("yes", "revoking evidence")


@pytest.fixture
def served(workspace: Workspace) -> Iterator[tuple[TestClient, dict[str, str], Workspace]]:
    with serving(workspace) as server:
        yield server


def _login(client: TestClient, name: str) -> None:
    response = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303


Served = tuple[TestClient, dict[str, str], Workspace]


def test_errors_are_pages_for_people_and_json_for_machines(served: Served) -> None:
    client, tokens, _ = served
    _login(client, "viewer")
    page = client.get("/systems/nowhere", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "no AI system named &#39;nowhere&#39;" in page.text and 'id="error"' in page.text
    assert "viewer" in page.text  # in the layout, with the person's header
    twin = client.get("/systems/nowhere.json", headers={"Accept": "text/html"})
    assert twin.status_code == 404 and twin.json()["error"]["type"] == "not_found"
    api = client.get("/api/systems/nowhere", headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert api.status_code == 404 and api.json()["error"]["type"] == "not_found"
    unknown = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert unknown.status_code == 404 and 'id="error"' in unknown.text
    forbidden = client.get("/audit", headers={"Accept": "text/html"})
    assert forbidden.status_code == 403 and "may not audit" in forbidden.text


def test_pages_use_the_design_system_and_serve_it_themselves(
    served: tuple[TestClient, dict[str, str], Workspace],
) -> None:
    client, _, _ = served
    _login(client, "approver")
    page = client.get("/")
    assert page.status_code == 200
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    assert "/static/vendor/htmx.min.js" in page.text and "/static/vendor/pico.min.css" in page.text
    assert "https://" not in page.text.split("<main")[0]  # nothing from another host in the layout
    assert "approver (approver)" in page.text.replace("<small>", "").replace("</small>", "")


def test_a_message_is_shown_once_after_an_action(served: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, _, _ = served
    app = client.app
    assert isinstance(app, FastAPI)

    @app.get("/kit-done")
    def kit_done(request: Request) -> object:
        return web.done(request, "/", "Saved <the> thing")

    _login(client, "viewer")
    assert client.get("/kit-done", follow_redirects=False).status_code == 303
    first = client.get("/")
    assert 'id="flash"' in first.text and "Saved &lt;the&gt; thing" in first.text
    assert 'id="flash"' not in client.get("/").text


def test_the_dashboard_shows_each_person_their_systems_whoever_loaded_it_first(served: Served) -> None:
    client, _, ws = served
    ws.systems.create({"name": "hidden-elsewhere", "eu_ai_act_category": "minimal"})
    _login(client, "admin")
    assert "hidden-elsewhere" in client.get("/index.json").text
    client.cookies.clear()
    _login(client, "viewer")  # a member of "release" only: the overview the admin built is not theirs
    page = client.get("/")
    assert page.status_code == 200 and "hidden-elsewhere" not in page.text
    assert [s["name"] for s in client.get("/index.json").json()["systems"]] == ["release"]


def test_a_filter_name_means_one_function_in_every_template() -> None:
    """The pages' ``num`` once shadowed the model card's (one shared Jinja environment, registration by name): the
    card rendered DI 0.371 instead of 0.3709 when a page had been served first in the same process."""
    from assay.reports._jinja import template
    from assay.server.format import FILTERS

    template("ui/error.html.j2", **FILTERS)
    with pytest.raises(RuntimeError, match="'num' is taken"):
        template("model_card.html.j2", num=lambda value: value)


def test_without_a_session_a_page_goes_to_login_and_its_twins_answer_401(served: Served) -> None:
    client, _, _ = served
    page = client.get("/tasks", params={"tab": "x"}, headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Ftasks%3Ftab%3Dx"
    for twin in ("/tasks.json", "/systems.json", "/systems/release/risks.csv", "/audit.csv"):
        refused = client.get(twin, headers={"Accept": "text/html"}, follow_redirects=False)
        assert refused.status_code == 401, twin
        assert refused.headers["content-type"].startswith("application/json"), twin
        assert refused.json()["error"]["type"] == "unauthenticated", twin
    api = client.get("/api/systems", follow_redirects=False)
    assert api.status_code == 401 and api.json()["error"]["type"] == "unauthenticated"


def _macros() -> Any:
    from assay.reports._jinja import template
    from assay.server.format import FILTERS

    return template("ui/_macros.html.j2", **FILTERS).make_module({"csrf": "token"})


def test_form_macros_take_an_id_prefix_and_extra_attributes() -> None:
    ui = _macros()
    form = {"values": {"reason": "typed"}, "errors": {"reason": "too short"}, "message": None}
    plain = str(ui.field(form, "reason", "Reason"))
    assert 'for="f-reason"' in plain and 'id="f-reason"' in plain and 'id="e-reason">too short<' in plain
    field = str(ui.field(form, "reason", "Reason", attrs={"maxlength": 20}, id_prefix="revoke-3-"))
    assert '<label for="revoke-3-f-reason">' in field and 'id="revoke-3-f-reason" name="reason"' in field
    assert 'aria-describedby="revoke-3-e-reason"' in field and 'id="revoke-3-e-reason">too short<' in field
    assert 'value="typed"' in field and 'maxlength="20"' in field
    assert "value=" not in str(ui.field(form, "file", "File", type="file"))
    reload = {"hx-get": "/systems/s/run", "hx-target": "#run-fields", "hx-trigger": "change"}
    select = str(ui.select(form, "kind", "Kind", ["a", ("b", "Bee")], value="b", help="what", attrs=reload,
                           id_prefix="x-"))  # fmt: skip
    assert '<select id="x-f-kind" name="kind"' in select and 'aria-describedby="x-h-kind"' in select
    assert 'hx-get="/systems/s/run" hx-target="#run-fields" hx-trigger="change"' in select
    assert '<option value="b" selected>Bee</option>' in select and '<small id="x-h-kind">what</small>' in select
    confirm = str(ui.confirm({"errors": {"confirm": "tick to confirm"}}, "revoking evidence 3", id_prefix="r3-"))
    assert 'for="r3-f-confirm"' in confirm and 'id="r3-f-confirm"' in confirm and 'id="r3-e-confirm">tick' in confirm
    bare = str(ui.confirm({"errors": {}}, "revoking evidence 3"))
    assert "id=" not in bare and 'name="confirm" value="yes" required' in bare


def test_the_checkbox_macro_keeps_what_was_ticked() -> None:
    ui = _macros()
    fresh = {"values": {}, "errors": {}, "message": None}
    box = str(ui.checkbox(fresh, "pii", "Holds personal data", help="any column about a person",
                          attrs={"role": "switch"}))  # fmt: skip
    assert box.startswith('<label for="f-pii" class="checkbox"><input id="f-pii" name="pii" type="checkbox"')
    assert "checked" not in box and 'role="switch"' in box and "Holds personal data</label>" in box
    assert 'aria-describedby="h-pii"' in box and '<small id="h-pii">any column about a person</small>' in box
    assert "checked" in str(ui.checkbox(fresh, "pii", "P", checked=True))
    for ticked in ("yes", "on", "true", True, "1"):
        assert "checked" in str(ui.checkbox({"values": {"pii": ticked}, "errors": {}}, "pii", "P")), ticked
    for unticked in ("", False, "no"):  # a refused form without the box: not ticked, whatever the default
        shown = str(ui.checkbox({"values": {"pii": unticked}, "errors": {}}, "pii", "P", checked=True))
        assert "checked" not in shown, unticked
    refused = {"values": {"confirm": ""}, "errors": {"confirm": "tick to confirm"}}
    error = str(ui.checkbox(refused, "confirm", "Close it", id_prefix="status-", label_class="confirm"))
    assert '<label for="status-f-confirm" class="confirm">' in error and 'aria-invalid="true"' in error
    assert 'aria-describedby="status-e-confirm"' in error and 'id="status-e-confirm">tick to confirm<' in error


def test_the_gate_results_macro() -> None:
    ui = _macros()
    results = [
        {"rule": "four-fifths", "status": "waived", "requires": "DI >= 0.8", "message": "DI 0.61",
         "waiver": {"waived_by": "erin", "expires": "2027-01-01", "reason": "pilot"},
         "findings": [{"where": "race=Black", "observed": 0.6123456, "interval": [0.5, 0.7], "passed": False,
                       "note": "small group"}]},
        {"rule": "approvals", "status": "failed", "requires": None, "message": "needs 1 approval", "findings": []},
    ]  # fmt: skip
    shown = str(ui.gate_results(results))
    assert 'id="gate-rules"' in shown and 'aria-label="Gate rules"' in shown
    assert "by erin until 2027-01-01: pilot" in shown and "met by the approvals themselves" in shown
    assert ">0.612<" in shown and 'title="0.6123456"' in shown and "<small>small group</small>" in shown
    assert "<td>–</td>" in shown  # no requirement written
