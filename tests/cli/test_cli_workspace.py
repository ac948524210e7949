"""``assay init``, ``assay db current|upgrade|downgrade`` and ``assay audit log|checkpoint``, on SQLite and on
PostgreSQL, through the command line as a user types it."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.config import Settings
from assay.services.workspace import Workspace
from assay.store import audit, load_private_key, load_public_key
from assay.store.ledger import key_id
from assay.store.migrate import head_revision


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_creates_the_workspace(
    tmp_path: Path, database_url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "new" / "ws"  # not there yet
    url = ["--database-url", database_url] if database_url else []
    code, out, err = run(capsys, "init", str(folder), *url)
    assert (code, err) == (0, "")
    home = folder / ".assay"
    database = database_url or f"sqlite:///{home / 'assay.db'}"
    assert out.splitlines() == [
        f"workspace: {home}",
        f"database:  {database}",
        f"artifacts: {home / 'artifacts'}",
        f"public key of the audit ledger: {home / 'keys' / 'ledger.pub'} (give it to auditors)",
        "mode:      multi-user",
    ]
    assert (home / "assay.db").is_file() is (database_url is None)
    assert (home / "artifacts").is_dir()
    private = home / "keys" / "ledger.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = load_public_key((home / "keys" / "ledger.pub").read_bytes())
    assert key_id(load_private_key(private.read_bytes()).public_key()) == key_id(public)
    config = json.loads((home / "workspace.json").read_text())
    assert config["schema"] == "assay.workspace/1"
    assert config.get("database_url") == database_url
    if database_url is not None:  # the URL may hold a password
        assert stat.S_IMODE((home / "workspace.json").stat().st_mode) == 0o600

    root = ["--workspace", str(folder)]
    assert run(capsys, *root, "db", "current")[1] == f"current: {head_revision()}\nhead:    {head_revision()}\n"
    assert run(capsys, *root, "audit", "verify") == (
        0,
        "the audit ledger verifies: 1 events, 0 signed checkpoints; 1 governed records match their last event\n",
        "",
    )
    logged = json.loads(run(capsys, *root, "audit", "log", "--json")[1])
    assert [(e["action"], e["payload"]) for e in logged] == [
        ("workspace.mode", {"mode": "multi-user", "authenticated": False})
    ]

    key = private.read_bytes()
    code, out, err = run(capsys, "init", str(folder), *url)
    assert (code, out) == (2, "")
    assert f"error: {folder} is already an Assay workspace" in err
    assert private.read_bytes() == key  # nothing was overwritten


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x", "database URL mysql://x: Assay runs on sqlite or postgresql, not mysql"),
        ("::nonsense::", "is not a valid SQLAlchemy URL"),
        ("postgresql+pg8000://x@127.0.0.1/db", "needs a driver that is not installed"),
        (
            "postgresql+psycopg://assay:secret@127.0.0.1:1/none",
            "cannot upgrade the database postgresql+psycopg://assay:***@127.0.0.1:1/none: connection failed",
        ),
    ],
)
def test_init_with_a_bad_database_url_leaves_nothing_behind(
    tmp_path: Path, url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "init", str(tmp_path / "a" / "ws"), "--database-url", url)
    assert (code, out) == (2, "")
    assert message in err
    assert "secret" not in err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "ws").mkdir()  # an existing folder keeps its own files, but gets no .assay
    (tmp_path / "ws" / "notes.txt").write_text("mine")
    assert run(capsys, "init", str(tmp_path / "ws"), "--database-url", url)[0] == 2
    assert [p.name for p in (tmp_path / "ws").iterdir()] == ["notes.txt"]


def test_init_on_a_postgresql_database_that_does_not_exist(
    tmp_path: Path, postgres: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "init", str(tmp_path / "ws"), "--database-url", postgres.url("no_such_database"))
    assert code == 2
    assert 'database "no_such_database" does not exist' in err
    assert not (tmp_path / "ws").exists()


def test_db_current_upgrade_downgrade(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--workspace", str(workspace.root)]
    head = head_revision()
    assert run(capsys, *root, "system", "create", "before-downgrade")[0] == 0
    already = (0, f"database at revision {head} (0 records re-recorded)\n", "")
    assert run(capsys, *root, "db", "upgrade") == already
    assert run(capsys, *root, "db", "downgrade", "base") == (
        0,
        "database at revision base (0 records re-recorded)\n",
        "",
    )
    assert run(capsys, *root, "db", "current") == (0, f"current: base (empty)\nhead:    {head}\n", "")

    code, _, err = run(capsys, *root, "audit", "log")
    assert code == 2
    assert f"has no Assay schema; run `assay db upgrade` (Assay needs {head})" in err

    assert run(capsys, *root, "db", "upgrade") == already  # from an empty database: nothing to re-record
    assert (
        run(capsys, *root, "audit", "verify")[1]
        == "the audit ledger verifies: 0 events, 0 signed checkpoints; 0 governed records match their last event\n"
    )
    assert run(capsys, *root, "system", "create", "after-upgrade")[0] == 0
    assert [e.object_id for e in workspace.audit.log()] == ["1"]

    code, _, err = run(capsys, *root, "db", "upgrade", "latest")
    assert code == 2
    assert "unknown revision 'latest'" in err
    code, _, err = run(capsys, *root, "db", "downgrade", "9999")
    assert code == 2
    assert "cannot downgrade to '9999'" in err


def test_audit_log_filters_and_prints_json(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--workspace", str(workspace.root)]
    assert run(capsys, *root, "--actor", "alice", "system", "create", "triage")[0] == 0
    assert run(capsys, *root, "--actor", "alice", "system", "create", "release")[0] == 0
    assert run(capsys, *root, "--actor", "bob", "system", "update", "release", "--purpose", "Advise on release")[0] == 0

    code, out, _ = run(capsys, *root, "audit", "log", "--action", "system.create", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["seq"], r["actor"], r["action"], r["object_id"]) for r in rows] == [  # 1: the mode, set by init
        (2, "alice", "system.create", "1"),
        (3, "alice", "system.create", "2"),
    ]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[0]["before"] is None and len(rows[0]["after"]) == 64

    rows = json.loads(run(capsys, *root, "audit", "log", "--actor", "bob", "--json")[1])
    assert [(r["seq"], r["action"], r["payload"]) for r in rows] == [
        (4, "system.update", {"changed": ["purpose"], "authenticated": False})  # --actor is taken on trust
    ]
    rows = json.loads(run(capsys, *root, "audit", "log", "--after", "2", "--limit", "1", "--json")[1])
    assert [r["seq"] for r in rows] == [3]
    assert json.loads(run(capsys, *root, "audit", "log", "--object-type", "models", "--json")[1]) == []
    since = rows[0]["time"]
    rows = json.loads(run(capsys, *root, "audit", "log", "--since", since, "--json")[1])
    assert [r["seq"] for r in rows] == [3, 4]
    rows = json.loads(run(capsys, *root, "audit", "log", "--until", since, "--json")[1])
    assert [r["seq"] for r in rows] == [1, 2]

    code, out, _ = run(capsys, *root, "audit", "log")
    assert code == 0
    assert "Audit events" in out and "system.update" in out and "bob" in out


def test_audit_checkpoint_signs_the_head_on_demand(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--workspace", str(workspace.root)]
    for step in ("downgrade", "upgrade"):  # an empty ledger (init records the workspace's mode in it)
        assert run(capsys, *root, "db", step, *(["base"] if step == "downgrade" else []))[0] == 0
    assert run(capsys, *root, "audit", "checkpoint") == (0, "the ledger is empty: nothing to sign\n", "")
    workspace.systems.create({"name": "triage"})
    workspace.systems.create({"name": "release"})
    head = workspace.audit.log()[-1]
    assert workspace.store.public_key is not None
    key = key_id(workspace.store.public_key)
    code, out, _ = run(capsys, *root, "audit", "checkpoint")
    assert code == 0
    assert out == f"signed checkpoint at event 2 ({head.hash[:16]}…) with key {key[:16]}…\n"
    with workspace.store.engine.connect() as connection:
        checkpoints = audit.list_checkpoints(connection)
    assert [(c.seq, c.head_hash, c.key_id) for c in checkpoints] == [(2, head.hash, key)]
    assert (
        run(capsys, *root, "audit", "verify")[1]
        == "the audit ledger verifies: 2 events, 1 signed checkpoints; 2 governed records match their last event\n"
    )


def test_checkpoints_are_signed_every_n_events_as_configured(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Settings.model_fields["checkpoint_every"].default == 100
    monkeypatch.setenv("ASSAY_CHECKPOINT_EVERY", "3")
    root = ["--workspace", str(workspace.root)]
    for i in range(6):  # after the mode set by init: events 2 to 7
        assert run(capsys, *root, "system", "create", f"s{i}")[0] == 0
    with workspace.store.engine.connect() as connection:
        assert [c.seq for c in audit.list_checkpoints(connection)] == [3, 6]
    assert (
        run(capsys, *root, "audit", "verify")[1]
        == "the audit ledger verifies: 7 events, 2 signed checkpoints; 7 governed records match their last event\n"
    )
