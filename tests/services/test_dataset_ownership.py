"""Datasets belong to an AI system and are shared explicitly with others (issue 13, part 7); AI system names are
unique regardless of case. On SQLite and PostgreSQL: the REST API as each role, the Python API, the CLI, the
pages, and migration 0007 on a database holding data.

The rule: the members of the owning system, and of a system the dataset is shared with, may read it; only owners
of the owning system change it, add versions and share it; a system's records (assessments, checks, training
data) use only datasets it owns or that are shared with it; a dataset you may not see is 404 everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from assay.cli import main
from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services.access import Principal
from assay.services.runs import Target
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from assay.store.db import make_engine, sqlite_url
from assay.store.migrate import current_revision, downgrade, upgrade
from assay.store.models import System
from tests.support.server import PASSWORD, serving, wait_for_job


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    pd.DataFrame({"x": range(20), "sex": ["F", "M"] * 10, "y": [0, 1, 1, 0] * 5}).to_csv(path, index=False)
    return path


# -- the REST API: the auditor's findings ------------------------------------------------------------------------


class Team:
    """serving()'s system "release" (owner, approver, viewer, stranger) and team B: system "bsys" owned by
    "bowner", whose dataset "bdata" has a registered copy."""

    def __init__(self, client: TestClient, tokens: dict[str, str], ws: Workspace, data: Path) -> None:
        self.client, self.tokens, self.ws = client, tokens, ws
        admin = ws.login("admin", PASSWORD)  # user changes need an authenticated admin
        admin.access.add_user("bowner", PASSWORD)
        tokens["bowner"] = admin.access.create_token("bowner", "test", scope="write")[0]
        ws.systems.create({"name": "bsys"}, owner_member="bowner")
        ws.datasets.register_version({"dataset": "bdata", "version": "1"}, system="bsys", file=data, copy=True)
        ws.datasets.register_version({"dataset": "adata", "version": "1"}, system="release", file=data, copy=True)

    def call(self, method: str, path: str, who: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, path, headers=headers, json=body)


@pytest.fixture
def team(workspace: Workspace, data: Path) -> Iterator[Team]:
    with serving(workspace) as (client, tokens, ws):
        yield Team(client, tokens, ws, data)


def test_another_teams_dataset_is_404_to_read_change_extend_and_run(team: Team) -> None:
    events = len(team.ws.audit.log())
    for who in ("viewer", "owner", "approver", "stranger"):
        assert team.call("PATCH", "/api/datasets/bdata@1", who, {"source": "mine"}).status_code == 404, who
        assert team.call("GET", "/api/datasets/bdata@1", who).status_code == 404, who
    for system in ("release", "bsys"):
        body = {"dataset": "bdata", "version": "2", "system": system}
        assert team.call("POST", "/api/datasets", "owner", body).status_code == 404
    run = team.call("POST", "/api/systems/release/checks/duplicates", "owner", {"dataset_version": "bdata@1"})
    assert run.status_code == 404 and "bdata" in run.json()["error"]["message"]
    assessed = team.call("POST", "/api/systems/release/assessments?dataset_version=bdata@1", "owner",
                         {"schema": "assay.assessment", "spec": {}, "data": {}})  # fmt: skip
    assert assessed.status_code == 404
    model = {"model": "lr", "version": "9", "training_dataset": "bdata@1"}
    assert team.call("POST", "/api/systems/release/models", "owner", model).status_code == 404
    assert team.call("POST", "/api/datasets/bdata/shares", "owner", {"system": "release"}).status_code == 404
    assert team.ws.datasets.get_version("bdata@1").source == ""
    assert len(team.ws.audit.log()) == events  # nothing changed, nothing recorded
    listed = team.call("GET", "/api/datasets", "owner").json()
    assert [(r["ref"], r["system"]) for r in listed["items"]] == [("adata@1", "release")] and listed["total"] == 1
    assert "bdata" not in team.call("GET", "/api/datasets", "stranger").text
    for who in ("admin", "auditor"):
        assert [r["ref"] for r in team.call("GET", "/api/datasets", who).json()["items"]] == ["adata@1", "bdata@1"]
    assert team.call("PATCH", "/api/datasets/bdata@1", "bowner", {"source": "survey"}).status_code == 200


def test_a_share_gives_read_and_use_but_never_write(team: Team) -> None:
    unseen = team.call("POST", "/api/datasets/bdata/shares", "bowner", {"system": "release"})
    assert unseen.status_code == 404  # one shares only with a system one can see
    team.ws.login("admin", PASSWORD).access.grant("bowner", "release", "viewer")
    shared = team.call("POST", "/api/datasets/bdata/shares", "bowner", {"system": "release"})
    assert shared.status_code == 201 and shared.json()["shared_with"] == ["release"]
    assert team.ws.audit.log(EventFilter(action="dataset.share"))[-1].actor == "bowner"
    shown = team.call("GET", "/api/datasets/bdata@1", "viewer")
    assert shown.status_code == 200 and (shown.json()["system"], shown.json()["shared_with"]) == ("bsys", ["release"])
    assert [r["ref"] for r in team.call("GET", "/api/datasets", "viewer").json()["items"]] == ["adata@1", "bdata@1"]
    # readable through the share, writable only by owners of bsys
    assert team.call("PATCH", "/api/datasets/bdata@1", "owner", {"source": "mine"}).status_code == 403
    body = {"dataset": "bdata", "version": "2", "system": "bsys"}
    assert team.call("POST", "/api/datasets", "owner", body).status_code == 404  # bsys itself stays invisible
    body["system"] = "release"
    refused = team.call("POST", "/api/datasets", "owner", body)
    assert refused.status_code == 403 and "only owners of its system 'bsys'" in refused.json()["error"]["message"]
    assert team.call("POST", "/api/datasets/bdata/shares", "owner", {"system": "release"}).status_code == 403
    # usable in release's records by those who may write release
    run = team.call("POST", "/api/systems/release/checks/duplicates", "owner", {"dataset_version": "bdata@1"})
    job = wait_for_job(team.client, run, {"Authorization": f"Bearer {team.tokens['owner']}"})
    assert job["status"] == "succeeded", job
    assert team.call("POST", "/api/systems/release/checks/duplicates", "viewer", {"dataset_version": "bdata@1"}
                     ).status_code == 403  # fmt: skip
    model = {"model": "lr", "version": "9", "training_dataset": "bdata@1"}
    assert team.call("POST", "/api/systems/release/models", "owner", model).status_code == 201
    # unshared: gone again for release (its records keep naming the version they used)
    gone = team.call("DELETE", "/api/datasets/bdata/shares/release", "bowner")
    assert gone.status_code == 200 and gone.json()["shared_with"] == []
    assert team.ws.audit.log(EventFilter(action="dataset.unshare"))[-1].actor == "bowner"
    assert team.call("GET", "/api/datasets/bdata@1", "owner").status_code == 404
    assert team.call("DELETE", "/api/datasets/bdata/shares/release", "bowner").status_code == 404
    again = team.call("POST", "/api/systems/release/checks/duplicates", "owner", {"dataset_version": "bdata@1"})
    assert again.status_code == 404


def test_read_tokens_auditors_and_admins(team: Team) -> None:
    read_only = team.ws.login("admin", PASSWORD).access.create_token("bowner", "ro", scope="read")[0]
    headers = {"Authorization": f"Bearer {read_only}"}
    assert team.client.get("/api/datasets/bdata@1", headers=headers).status_code == 200
    assert team.client.patch("/api/datasets/bdata@1", headers=headers, json={"source": "x"}).status_code == 403
    assert team.call("PATCH", "/api/datasets/bdata@1", "auditor", {"source": "x"}).status_code == 403
    assert team.call("POST", "/api/datasets/bdata/shares", "auditor", {"system": "release"}).status_code == 403
    assert team.call("POST", "/api/datasets/bdata/shares", "admin", {"system": "release"}).status_code == 201
    moved = team.call("PUT", "/api/datasets/bdata/system", "admin", {"system": "release"})
    assert moved.status_code == 200 and (moved.json()["system"], moved.json()["shared_with"]) == ("release", [])
    assert team.call("GET", "/api/datasets/bdata@1", "bowner").status_code == 404  # bsys no longer sees it
    assert team.call("PATCH", "/api/datasets/bdata@1", "owner", {"source": "ours"}).status_code == 200
    missing = team.call("POST", "/api/datasets", "owner", {"dataset": "c", "version": "1"})
    assert missing.status_code == 422 and "system" in missing.json()["error"]["message"]


def test_the_pages_list_only_visible_datasets_and_the_form_uploads_to_the_pages_system(team: Team, data: Path) -> None:
    ws = team.ws
    ws.datasets.share("bdata", "release")
    ws.runs.run("duplicates", Target("release", "bdata@1"), {})  # release's records now use bdata@1
    headers = {"Authorization": f"Bearer {team.tokens['viewer']}"}
    listed = team.client.get("/systems/release.json", headers=headers).json()["datasets"]
    assert [d["ref"] for d in listed] == ["adata@1", "bdata@1"]  # its own, and the shared one its records use
    ws.datasets.unshare("bdata", "release")
    listed = team.client.get("/systems/release.json", headers=headers).json()["datasets"]
    assert [d["ref"] for d in listed] == ["adata@1"]  # used by its records, but no longer readable by the viewer
    client = team.client
    client.post("/login", data={"name": "owner", "password": PASSWORD}, follow_redirects=False)
    page = client.get("/systems/release/models")
    assert 'action="/systems/release/datasets"' in page.text  # the upload registers in the page's system
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"dataset": "upload", "data_version": "1", "csrf": csrf.group(1)}
    with data.open("rb") as handle:
        refused = client.post("/systems/bsys/datasets", data=form, files={"file": ("p.csv", handle)})
    assert refused.status_code == 404  # a system the owner of release cannot see
    with data.open("rb") as handle:
        done = client.post("/systems/release/datasets", data=form, files={"file": ("p.csv", handle)},
                           follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and ws.datasets.get("upload").system == "release"


# -- the Python API ------------------------------------------------------------------------------------------------


def test_register_share_unshare_assign_in_the_python_api(workspace: Workspace, data: Path) -> None:
    ws = workspace
    ws.systems.create({"name": "credit"})
    ws.systems.create({"name": "fraud"})
    first = ws.datasets.register_version({"dataset": "loans", "version": "1"}, system="credit", file=data)
    assert ws.datasets.get("loans").system == "credit" and first.row_count == 20
    assert dict(ws.audit.log(EventFilter(action="dataset.create"))[-1].payload) == {
        "system": "credit",
        "authenticated": False,  # the fixture's alice acts under a name taken on trust: the ledger says so
    }
    with pytest.raises(Conflict, match="belongs to system 'credit', not 'fraud': register its versions with --system"):
        ws.datasets.register_version({"dataset": "loans", "version": "2"}, system="fraud")
    with pytest.raises(NotFound, match="no AI system named 'nope'"):
        ws.datasets.register_version({"dataset": "other", "version": "1"}, system="nope")
    with pytest.raises(NotFound, match="no dataset named 'loans' owned by or shared with system 'fraud'"):
        ws.models.register_version("fraud", {"model": "m", "version": "1", "training_dataset": "loans@1"})
    with pytest.raises(NotFound, match="owned by or shared with system 'fraud'"):
        ws.assessments.record("fraud", {"schema": "assay.assessment"}, dataset_version="loans@1")
    with pytest.raises(InvalidInput, match="owned by system 'credit'"):
        ws.datasets.share("loans", "credit")
    assert ws.datasets.share("loans", "fraud").shared_with == ("fraud",)
    with pytest.raises(Conflict, match="already shared"):
        ws.datasets.share("loans", "fraud")
    trained = ws.models.register_version("fraud", {"model": "m", "version": "1", "training_dataset": "loans@1"})
    assert trained.training_dataset_version_id == first.id
    assert [(i.dataset.name, i.system, i.shared_with) for i in ws.datasets.list()] == [("loans", "credit", ("fraud",))]
    assert ws.datasets.unshare("loans", "fraud").shared_with == ()
    with pytest.raises(NotFound, match="not shared with system 'fraud'"):
        ws.datasets.unshare("loans", "fraud")
    ws.datasets.share("loans", "fraud")
    moved = ws.datasets.assign("loans", "fraud")
    assert (moved.system, moved.shared_with) == ("fraud", ())  # the share with the new owner ends
    assert [e.action for e in ws.audit.log()][-3:] == ["dataset.share", "dataset.unshare", "dataset.assign"]
    assert ws.audit.verify().ok


def test_a_principal_sees_and_changes_only_what_their_roles_allow(workspace: Workspace) -> None:
    ws = workspace
    for name in ("a", "b", "c"):
        ws.systems.create({"name": name})
        ws.datasets.register_version({"dataset": f"{name}data", "version": "1"}, system=name)
    ws.datasets.share("bdata", "a")
    carol = Principal("carol", "member", {"a": "owner", "c": "viewer"})
    assert [d.name for d, _ in ws.datasets.list_versions(principal=carol)] == ["adata", "bdata", "cdata"]
    assert [i.dataset.name for i in ws.datasets.list(principal=carol)] == ["adata", "bdata", "cdata"]
    stranger = Principal("sam", "member", {})
    assert ws.datasets.list_versions(principal=stranger) == [] and ws.datasets.list(principal=stranger) == []
    with pytest.raises(NotFound, match=r"no dataset named 'bdata' \(there are none yet\)"):
        ws.datasets.get_version("bdata@1", principal=stranger)  # the error lists only visible names
    with pytest.raises(PermissionDenied, match="only owners of its system 'b'"):
        ws.datasets.update_version("bdata@1", {"source": "x"}, principal=carol)
    with pytest.raises(PermissionDenied, match="only owners of its system 'c'"):
        ws.datasets.update_version("cdata@1", {"source": "x"}, principal=carol)  # a viewer of c
    with pytest.raises(NotFound, match="not one you may see"):
        ws.datasets.register_version({"dataset": "bdata", "version": "2"}, system="b", principal=stranger)
    with pytest.raises(NotFound, match="no AI system named 'b'"):
        ws.datasets.share("adata", "b", principal=carol)  # a system carol cannot see
    with pytest.raises(PermissionDenied, match="may not register datasets in system 'c'"):
        ws.datasets.register_version({"dataset": "new", "version": "1"}, system="c", principal=carol)
    assert ws.datasets.update_version("adata@1", {"source": "ok"}, principal=carol).source == "ok"


def test_the_listing_is_filtered_in_the_database(workspace: Workspace) -> None:
    ws = workspace
    for name in ("a", "b"):
        ws.systems.create({"name": name})
        ws.datasets.register_version({"dataset": f"{name}data", "version": "1"}, system=name)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(ws.store.engine, "before_cursor_execute", seen)
    try:
        rows = ws.datasets.list_versions(principal=Principal("carol", "member", {"a": "viewer"}))
    finally:
        event.remove(ws.store.engine, "before_cursor_execute", seen)
    assert [d.name for d, _ in rows] == ["adata"]
    query = next(s for s in statements if "dataset_versions" in s)
    assert "dataset_shares" in query and "WHERE" in query


# -- system names, regardless of case -----------------------------------------------------------------------------


def test_system_names_are_unique_regardless_of_case(workspace: Workspace) -> None:
    workspace.systems.create({"name": "release"})
    events = len(workspace.audit.log())
    with pytest.raises(Conflict) as refused:
        workspace.systems.create({"name": "Release"})
    message = str(refused.value)
    assert "\n" not in message and "'release' already exists (names are unique regardless of case" in message
    assert len(workspace.audit.log()) == events
    with pytest.raises(Conflict), workspace.store.write("alice") as tx:  # the database refuses it as well
        tx.session.add(System(name="RELEASE", lifecycle_stage="inception", eu_ai_act_category="minimal",
                              oversight="human_in_the_loop"))  # fmt: skip
    assert [s.name for s in workspace.systems.list()] == ["release"]


# -- the CLI --------------------------------------------------------------------------------------------------------


def test_cli_register_needs_the_system_and_shows_owner_and_shares(
    workspace: Workspace, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ["--workspace", str(workspace.root)]
    workspace.systems.create({"name": "credit"})
    workspace.systems.create({"name": "fraud"})
    assert main([*root, "dataset", "register", "loans@1", "--file", str(data)]) == 2
    assert "--system" in capsys.readouterr().err
    assert main([*root, "dataset", "register", "loans@1", "--system", "credit", "--file", str(data), "--copy"]) == 0
    assert main([*root, "dataset", "register", "loans@2", "--system", "fraud"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "belongs to system 'credit'" in err
    assert main([*root, "dataset", "share", "loans", "--with", "fraud", "--json"]) == 0
    assert '"shared_with": [\n    "fraud"\n  ]' in capsys.readouterr().out
    assert main([*root, "dataset", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert '"system": "credit"' in listed and '"shared_with": "fraud"' in listed
    assert main([*root, "dataset", "show", "loans@1", "--json"]) == 0
    assert '"system": "credit"' in capsys.readouterr().out
    assert main([*root, "dataset", "unshare", "loans", "--with", "fraud"]) == 0
    assert main([*root, "dataset", "unshare", "loans", "--with", "fraud"]) == 2
    assert main([*root, "dataset", "assign", "loans", "--system", "fraud"]) == 0
    assert workspace.datasets.get("loans").system == "fraud"
    assert main([*root, "system", "create", "CREDIT"]) == 2
    assert "unique regardless of case" in capsys.readouterr().err


# -- migration 0007 on a database with data -----------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    engine = make_engine(database_url or sqlite_url(tmp_path / "old.db"))
    yield engine
    engine.dispose()


_SYSTEM = (
    "INSERT INTO systems (id, name, purpose, intended_uses, out_of_scope_uses, affected_people, deployment_context, "
    "lifecycle_stage, owner, eu_ai_act_category, generative, oversight, created_at, updated_at) VALUES (:id, :name, "
    "'', '[]', '[]', '[]', '', 'inception', '', 'minimal', false, 'human_in_the_loop', :t, :t)"
)
_T = "2026-01-01 00:00:00"


def _at_0006(engine: Engine, systems: dict[int, str], datasets: dict[int, str]) -> None:
    upgrade(engine, "0006")
    with engine.begin() as connection:
        for ident, name in systems.items():
            connection.execute(text(_SYSTEM), {"id": ident, "name": name, "t": _T})
        for ident, name in datasets.items():
            connection.execute(
                text("INSERT INTO datasets (id, name, description, created_at) VALUES (:id, :name, '', :t)"),
                {"id": ident, "name": name, "t": _T},
            )
            connection.execute(
                text(
                    "INSERT INTO dataset_versions (id, dataset_id, version, columns, source, licence, "
                    "collection_method, pii, personal_data_categories, parent_ids, created_at) "
                    "VALUES (:id, :id, '1', '[]', '', '', '', false, '[]', '[]', :t)"
                ),
                {"id": ident, "t": _T},
            )
        if engine.dialect.name == "postgresql":  # rows inserted with their ids: move the sequences past them
            for table in ("systems", "datasets", "dataset_versions"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))


def test_migration_gives_each_dataset_the_system_that_used_it_first(engine: Engine) -> None:
    _at_0006(engine, {1: "alpha", 2: "beta", 3: "gamma"}, {1: "trained", 2: "assessed", 3: "unused"})
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO models (id, system_id, name, description, created_at) "
                                "VALUES (1, 2, 'lr', '', :t)"), {"t": _T})  # fmt: skip
        connection.execute(
            text("INSERT INTO model_versions (id, model_id, version, framework, training_dataset_version_id, stage, "
                 "created_at, updated_at) VALUES (1, 1, '1', '', 1, 'development', :t, :t)"), {"t": _T},
        )  # fmt: skip
        for ident, system, dataset in ((1, 3, 2), (2, 1, 2), (3, 1, 1)):  # gamma first, then alpha, uses "assessed"
            connection.execute(
                text("INSERT INTO assessments (id, system_id, dataset_version_id, kind, document, document_sha256, "
                     "created_by, created_at) VALUES (:id, :s, :d, 'assay.assessment', '{}', 'x', 'a', :t)"),
                {"id": ident, "s": system, "d": dataset, "t": _T},
            )  # fmt: skip
    upgrade(engine)
    with engine.connect() as connection:
        owners = dict(connection.execute(text("SELECT d.name, s.name FROM datasets d JOIN systems s ON s.id = "
                                              "d.system_id")).all())  # fmt: skip
        shares = sorted(
            connection.execute(
                text("SELECT d.name, s.name FROM dataset_shares x JOIN datasets d ON d.id = x.dataset_id "
                     "JOIN systems s ON s.id = x.system_id")
            ).all()
        )  # fmt: skip
        keys = set(connection.execute(text("SELECT name_key FROM systems")).scalars())
    # trained on by beta's model (training first); assessed by gamma, then alpha; used by no one
    assert owners == {"trained": "beta", "assessed": "gamma", "unused": "unassigned-datasets"}
    assert shares == [("assessed", "alpha"), ("trained", "alpha")]
    assert keys == {"alpha", "beta", "gamma", "unassigned-datasets"}
    downgrade(engine, "0006")
    upgrade(engine)  # the unassigned system stays, and is used again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM systems")).scalar() == 4


def test_migration_gives_unused_datasets_to_the_only_system(engine: Engine) -> None:
    _at_0006(engine, {1: "only"}, {1: "d1", 2: "d2"})
    upgrade(engine)
    with engine.connect() as connection:
        assert set(connection.execute(text("SELECT system_id FROM datasets")).scalars()) == {1}
        assert connection.execute(text("SELECT count(*) FROM systems")).scalar() == 1


def test_migration_stops_on_names_differing_only_by_case(engine: Engine) -> None:
    _at_0006(engine, {1: "Credit", 2: "credit", 3: "other"}, {1: "d"})
    with pytest.raises(InvalidInput, match=r"differ only by case: 'Credit' \(id 1\); 'credit' \(id 2\)\. Rename"):
        upgrade(engine)
    assert current_revision(engine) == "0006"
    with engine.begin() as connection:
        connection.execute(text("UPDATE systems SET name = 'credit-2' WHERE id = 2"))
    upgrade(engine)
    assert current_revision(engine) is not None and current_revision(engine) >= "0007"
