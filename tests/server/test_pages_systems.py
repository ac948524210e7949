"""The pages of systems, models and data: the list, create, edit, retire, the overview, the models and datasets of
a system, the dashboard; the real app on SQLite and PostgreSQL, each person through the login form."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.server import PASSWORD, Served, serving


@pytest.fixture
def served(workspace: Workspace) -> Iterator[Served]:
    with serving(workspace) as server:
        server[2].systems.create(
            {"name": "triage", "eu_ai_act_category": "high", "annex_iii_area": 5, "generative": True,
             "disclosure": "You are talking to an AI system.", "lifecycle_stage": "deployment"}
        )  # fmt: skip
        yield server


def _login(client: TestClient, name: str) -> str:
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert token is not None
    return token.group(1)


def _flash(client: TestClient, path: str) -> str:
    page = client.get(path).text
    found = re.search(r'id="flash">([^<]*)<', page)
    assert found is not None, "no message after the action"
    return found.group(1)


def _error_of(page: str, field: str) -> str:
    found = re.search(rf'<small class="field-error" id="e-{field}">([^<]*)</small>', page)
    assert found is not None, f"no error next to {field}"
    return found.group(1)


def test_the_list_of_systems_for_each_role_sorts_filters_searches_and_exports(served: Served) -> None:
    client, _, _ = served
    _login(client, "viewer")
    page = client.get("/systems")
    assert page.status_code == 200 and 'href="/systems/release"' in page.text and "/systems/triage" not in page.text
    assert 'id="new-system-link"' in page.text  # a member may create a system (and becomes its owner)
    _login(client, "auditor")
    page = client.get("/systems")
    assert "/systems/triage" in page.text and 'id="new-system-link"' not in page.text  # reads all, creates none
    assert "5: Access to and enjoyment of essential" in page.text  # the Annex III area in words
    twin = client.get("/systems.json").json()
    assert [s["name"] for s in twin["systems"]] == ["release", "triage"] and twin["total"] == 2
    release = twin["systems"][0]
    assert (release["open_risks"], release["generative"], release["eu_ai_act_category"]) == (1, "no", "limited")
    assert isinstance(release["readiness"], float)  # full precision in the twin
    high = client.get("/systems.json?eu_ai_act_category=high").json()["systems"]
    assert [s["name"] for s in high] == ["triage"]
    assert [s["name"] for s in client.get("/systems.json?lifecycle_stage=inception").json()["systems"]] == ["release"]
    assert [s["name"] for s in client.get("/systems.json?q=essential").json()["systems"]] == ["triage"]
    desc = client.get("/systems.json?sort=name&desc=1").json()["systems"]
    assert [s["name"] for s in desc] == ["triage", "release"]
    exported = client.get("/systems.csv?generative=yes")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["name"] for r in rows] == ["triage"] and rows[0]["annex_iii_area"] == "5"
    refused = client.get("/systems/new", headers={"Accept": "text/html"})
    assert refused.status_code == 403 and 'id="error"' in refused.text  # an auditor creates nothing
    _login(client, "stranger")
    assert client.get("/systems.json").json()["systems"] == []
    assert "No AI system matches." in client.get("/systems").text


def test_creating_a_system_keeps_the_input_and_names_the_field(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "owner")
    form = client.get("/systems/new").text
    assert 'id="new-system"' in form and "Employment, workers" in form  # the Annex III areas in words
    assert '<option value="high"' in form and "limited (transparency duties)" in form
    typed = {"csrf": csrf, "name": "hiring", "purpose": "Rank applicants", "eu_ai_act_category": "high",
             "annex_iii_area": "", "intended_uses": "shortlisting\nranking",
             "oversight": "human_on_the_loop"}  # fmt: skip
    refused = client.post("/systems", data=typed)
    assert refused.status_code == 422 and "Annex III area" in _error_of(refused.text, "annex_iii_area")
    assert 'value="hiring"' in refused.text and "shortlisting\nranking</textarea>" in refused.text  # kept
    taken = client.post("/systems", data={**typed, "name": "Release", "eu_ai_act_category": "minimal"})
    assert taken.status_code == 409 and "already exists" in _error_of(taken.text, "name")
    assert 'value="Release"' in taken.text and "{" not in taken.text.split("<main")[1][:200]  # a page, not JSON
    bad_name = client.post("/systems", data={**typed, "name": "no spaces please", "annex_iii_area": "4"})
    assert bad_name.status_code == 422 and "letters, digits" in _error_of(bad_name.text, "name")
    reserved = client.post("/systems", data={**typed, "name": "new", "annex_iii_area": "4"})
    assert reserved.status_code == 422 and _error_of(reserved.text, "name") == "reserved"
    generative = {**typed, "annex_iii_area": "4", "generative": "yes"}
    no_disclosure = client.post("/systems", data=generative)
    assert no_disclosure.status_code == 422 and "disclosure" in _error_of(no_disclosure.text, "disclosure")
    made = client.post("/systems", data={**generative, "disclosure": "An AI ranks your application."},
                       follow_redirects=False)  # fmt: skip
    assert made.status_code == 303 and made.headers["location"] == "/systems/hiring"
    assert "created: you are its owner" in _flash(client, "/systems/hiring")
    system = ws.systems.get("hiring")
    assert (system.annex_iii_area, system.intended_uses, system.oversight) == (4, ["shortlisting", "ranking"],
                                                                               "human_on_the_loop")  # fmt: skip
    assert system.generative and system.disclosure == "An AI ranks your application."
    event = ws.audit.log(EventFilter(action="system.create"))[-1]
    assert event.actor == "owner" and event.object_id == str(system.id)
    assert ws.audit.log(EventFilter(action="membership.grant"))[-1].payload["user"] == "owner"


def test_editing_and_retiring_a_system(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "viewer")
    assert client.get("/systems/release/edit", headers={"Accept": "text/html"}).status_code == 403
    assert client.post("/systems/release/retire", data={"csrf": csrf, "confirm": "yes"}).status_code == 403
    assert 'id="edit-link"' not in client.get("/systems/release").text
    csrf = _login(client, "owner")
    assert 'href="/systems/release/edit"' in client.get("/systems/release").text
    form = client.get("/systems/release/edit").text
    assert 'id="edit-system"' in form and 'name="name"' not in form and 'id="retire-system"' in form
    values = dict(re.findall(r'<input id="f-(\w+)" name="\w+" type="text" value="([^"]*)"', form))
    current = {"csrf": csrf, "purpose": "Recommend release", "eu_ai_act_category": "limited", "annex_iii_area": "",
               "lifecycle_stage": "inception", "oversight": "human_in_the_loop", "owner": values.get("owner", ""),
               "out_of_scope_uses": "sentencing"}  # fmt: skip
    saved = client.post("/systems/release/edit", data=current, follow_redirects=False)
    assert saved.status_code == 303 and "out of scope uses, purpose" in _flash(client, "/systems/release")
    system = ws.systems.get("release")
    assert (system.purpose, system.out_of_scope_uses) == ("Recommend release", ["sentencing"])
    event = ws.audit.log(EventFilter(action="system.update"))[-1]
    assert event.actor == "owner" and event.payload["changed"] == ["out_of_scope_uses", "purpose"]
    unchanged = client.post("/systems/release/edit", data=current, follow_redirects=False)
    assert unchanged.status_code == 303 and "Nothing changed" in _flash(client, "/systems/release")
    high = client.post("/systems/release/edit", data={**current, "eu_ai_act_category": "high"})
    assert high.status_code == 422 and "Annex III area" in _error_of(high.text, "annex_iii_area")
    assert '<option value="high" selected>' in high.text  # what was chosen is kept
    assert ws.systems.get("release").eu_ai_act_category == "limited"
    unticked = client.post("/systems/release/retire", data={"csrf": csrf})
    assert unticked.status_code == 422 and "tick the box" in unticked.text
    assert ws.systems.get("release").lifecycle_stage == "inception"
    retired = client.post("/systems/release/retire", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert retired.status_code == 303 and "is retired" in _flash(client, "/systems/release")
    assert ws.systems.get("release").lifecycle_stage == "retirement"
    assert ws.audit.log(EventFilter(action="system.update"))[-1].payload["changed"] == ["lifecycle_stage"]


def test_the_overview_shows_cards_linking_to_the_tabs_and_no_forms_of_other_areas(served: Served) -> None:
    client, _, ws = served
    _login(client, "owner")
    page = client.get("/systems/release").text
    assert 'aria-current="page"' in page and 'href="/systems/release/models"' in page  # the tabs
    cards = (("card-readiness", "controls"), ("card-risks", "risks"), ("card-assessments", "run"),
             ("approvals", "approvals"), ("card-models", "models"), ("card-incidents", "incidents"))  # fmt: skip
    for card, link in cards:
        section = page.split(f'id="{card}"')[1].split("</article>")[0]
        assert f'href="/systems/release/{link}"' in section, card
    assert "lr@1" in page.split('id="card-models"')[1].split("</article>")[0]  # the version, by its stage
    assert '<span class="num">1</span> pending' in page and 'class="level level-low"' in page
    for moved in ('id="run-assessment"', 'id="request-approval"', "/evidence/1/revoke", 'id="upload-dataset"'):
        assert moved not in page, moved
    twin = client.get("/systems/release.json").json()
    kept = {"page", "datasets", "controls", "evidence", "system", "models", "assessments", "risks", "approvals",
            "incidents", "readiness", "bias_defaults", "owned_systems", "user", "can_approve", "can_write",
            "can_see_review"}  # fmt: skip
    assert kept <= set(twin) and twin["summary"]["open_risks"] == 1
    assert twin["summary"]["versions_by_stage"] == {"development": ["lr@1"]}
    _login(client, "stranger")
    hidden = client.get("/systems/release", headers={"Accept": "text/html"})
    assert hidden.status_code == 404 and 'id="error"' in hidden.text
    assert ws.systems.get("release").name == "release"


def _tiny_model(path: Path) -> Path:
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
    sio.dump(model, path)
    return path


def test_models_and_datasets_upload_register_and_update(served: Served, tmp_path: Path) -> None:
    client, _, ws = served
    csrf = _login(client, "viewer")
    page = client.get("/systems/release/models").text
    assert 'id="models"' in page and "lr@1" in page and 'id="register-model"' not in page  # reads, changes nothing
    files = {"file": ("credit.csv", b"age,y\n30,1\n40,0\n")}
    denied = client.post("/systems/release/datasets", data={"csrf": csrf, "dataset": "credit", "data_version": "1"},
                         files=files)  # fmt: skip
    assert denied.status_code == 403
    csrf = _login(client, "owner")
    page = client.get("/systems/release/models").text
    assert 'id="register-model"' in page and 'id="upload-dataset"' in page
    upload = {
        "csrf": csrf,
        "dataset": "credit",
        "data_version": "1",
        "data_source": "bank",
        "data_licence": "CC-BY-4.0",
    }
    wrong = client.post("/systems/release/datasets", data=upload, files={"file": ("credit.xlsx", b"x")})
    assert wrong.status_code == 422 and ".csv" in _error_of(wrong.text, "data-file") and 'value="bank"' in wrong.text
    made = client.post("/systems/release/datasets", data=upload, files=files, follow_redirects=False)
    assert made.status_code == 303 and "credit@1 uploaded (2 rows)" in _flash(client, "/systems/release/models")
    stored = ws.datasets.get_version("credit@1")
    assert (stored.row_count, stored.source, stored.licence) == (2, "bank", "CC-BY-4.0")
    assert ws.audit.log(EventFilter(action="dataset_version.create"))[-1].actor == "owner"
    again = client.post("/systems/release/datasets", data=upload, files=files)
    assert again.status_code == 409 and "already" in _error_of(again.text, "data_version")
    page = client.get("/systems/release/models").text
    assert '<option value="credit@1"' in page  # the training data is chosen, never typed
    model = _tiny_model(tmp_path / "model.skops")
    register = {"csrf": csrf, "model": "lr", "version": "2", "framework": "scikit-learn",
                "training_dataset": "credit@1", "parent": "lr@1"}  # fmt: skip
    bad = client.post("/systems/release/models", data={**register, "version": "two words"},
                      files={"file": ("model.skops", model.read_bytes())})  # fmt: skip
    assert bad.status_code == 422 and "letters, digits" in _error_of(bad.text, "version")
    assert '<option value="credit@1" selected>' in bad.text
    assert not any(p.is_file() for p in (ws.artifacts.root / "sha256").rglob("*") if p.stat().st_size > 100)
    pickle = client.post("/systems/release/models", data=register, files={"file": ("model.pkl", b"x")})
    assert pickle.status_code == 422 and ".skops" in _error_of(pickle.text, "model-file")
    registered = client.post("/systems/release/models", data=register, files={"file": ("model.skops",
                             model.read_bytes())}, follow_redirects=False)  # fmt: skip
    assert registered.status_code == 303
    assert "lr@2 registered with its file" in _flash(client, "/systems/release/models")
    version = ws.models.get_version("release", "lr@2")
    assert version.framework == "scikit-learn" and version.training_dataset_version_id == stored.id
    assert ws.models.loadable("release", "lr@2")[2] == "skops"  # the uploaded file, loadable by its name
    assert ws.models.lineage("release", "lr@2")[1].version == "1"
    assert ws.audit.log(EventFilter(action="model_version.create"))[-1].actor == "owner"
    dup = client.post("/systems/release/models", data=register, files={"file": ("m.skops", b"x")})
    assert dup.status_code == 409 and "lr@2 already exists" in _error_of(dup.text, "version")
    edit = client.get("/systems/release/models?edit=lr@2").text
    assert 'id="edit-model-form"' in edit and 'id="register-model"' not in edit
    changed = {"csrf": csrf, "framework": "scikit-learn", "training_dataset": "credit@1", "licence": "MIT",
               "source": "trained in house"}  # fmt: skip
    saved = client.post("/systems/release/models/lr@2", data=changed, follow_redirects=False)
    assert saved.status_code == 303 and "licence, source" in _flash(client, "/systems/release/models")
    assert ws.models.get_version("release", "lr@2").licence == "MIT"
    assert ws.audit.log(EventFilter(action="model_version.update"))[-1].payload["changed"] == ["licence", "source"]
    dataset = {"csrf": csrf, "source": "bank", "licence": "CC-BY-4.0", "period_start": "2024-01-01",
               "period_end": "2023-01-01", "pii": "yes", "personal_data_categories": "age"}  # fmt: skip
    refused = client.post("/systems/release/datasets/credit@1", data=dataset)
    assert refused.status_code == 422 and 'value="2023-01-01"' in refused.text
    assert "before period_start" in refused.text
    fixed = client.post("/systems/release/datasets/credit@1", data={**dataset, "period_end": "2024-12-31"},
                        follow_redirects=False)  # fmt: skip
    assert fixed.status_code == 303
    updated = ws.datasets.get_version("credit@1")
    assert updated.pii and updated.personal_data_categories == ["age"] and str(updated.period_end) == "2024-12-31"
    assert ws.audit.log(EventFilter(action="dataset_version.update"))[-1].actor == "owner"
    twin = client.get("/systems/release/models.json").json()
    assert [v["ref"] for v in twin["models"]] == ["lr@1", "lr@2"] and twin["choices"]["training"] == ["credit@1"]
    models_csv = list(csv.DictReader(io.StringIO(client.get("/systems/release/models.csv?stage=development").text)))
    assert [r["ref"] for r in models_csv] == ["lr@1", "lr@2"] and models_csv[1]["training_dataset"] == "credit@1"
    data_csv = client.get("/systems/release/models.csv?table=datasets").text
    assert next(csv.DictReader(io.StringIO(data_csv)))["dataset_ref"] == "credit@1"
    # the page's two tables keep their own query parameters: the datasets table's are named datasets.*
    both = client.get("/systems/release/models", params={"sort": "ref", "desc": "1", "datasets.q": "nomatch"}).text
    models_part, data_part = both.split('id="models"')[1], both.split('id="datasets"')[1]
    assert "lr@2" in models_part.split("</table>")[0] and "credit@1" not in data_part.split("</table>")[0]
    assert 'name="datasets.q" value="nomatch"' in both
    assert 'href="/systems/release/models.csv?sort=ref&amp;desc=1&amp;datasets.q=nomatch"' in both  # the other's kept
    assert 'href="/systems/release/models.csv?datasets.q=nomatch&amp;table=datasets"' in both
    filtered = client.get("/systems/release/models.csv", params={"table": "datasets", "datasets.q": "nomatch"}).text
    assert list(csv.DictReader(io.StringIO(filtered))) == []
    card = client.get("/systems/release/models").text
    assert 'href="/systems/release/models/lr@2/card?format=pdf"' in card


def test_the_dashboard_lists_systems_in_a_table_and_links_new_system(served: Served) -> None:
    client, _, _ = served
    _login(client, "admin")
    page = client.get("/").text
    assert 'href="/systems/new"' in page and 'id="systems"' in page and 'href="/index.csv"' in page
    assert page.count('class="num level-critical empty"') == 3  # empty cells are neutral (the class fades them)
    assert re.findall(r"· ([^<]*open risks?)<", page) == ["1 open risk"]
    assert 'href="/systems?eu_ai_act_category=high">high<' in page
    sorted_page = client.get("/?sort=name&desc=1").text
    assert sorted_page.index("/systems/triage") < sorted_page.index('/systems/release"')
    rows = list(csv.DictReader(io.StringIO(client.get("/index.csv?eu_ai_act_category=high").text)))
    assert [r["name"] for r in rows] == ["triage"] and set(rows[0]) >= {"iso42001", "nist-ai-rmf", "eu-ai-act"}
    assert client.get("/index.json").json()["by_category"] == {"high": 1, "limited": 1}
