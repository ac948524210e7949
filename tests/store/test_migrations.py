"""The governance schema's migrations, on SQLite and on PostgreSQL: up, down to nothing and up again, one
revision at a time; the models match what the migrations build; a database without the schema is refused."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, String, inspect, text
from sqlalchemy.exc import DBAPIError

from assay.errors import InvalidInput
from assay.store.database import Store
from assay.store.db import make_engine, sqlite_url
from assay.store.migrate import current_revision, downgrade, head_revision, upgrade
from assay.store.models import Base

LEDGER_TABLES = ("audit_events", "audit_checkpoints")
_APPEND_ONLY = {  # the ledger's triggers from revision 0001 on
    "sqlite": {f"{t}_no_{verb}" for t in LEDGER_TABLES for verb in ("update", "delete")},
    "postgresql": {f"{t}_{name}" for t in LEDGER_TABLES for name in ("append_only", "no_truncate")},
}
_NO_REPLACE = {"sqlite": {f"{t}_no_replace" for t in LEDGER_TABLES}, "postgresql": set()}  # from revision 0002 on


def triggers_at(dialect: str, revision: str) -> set[str]:
    """The triggers a database is expected to hold at ``revision`` (ids are numbered in order: 0001, 0002, ...)."""
    return _APPEND_ONLY[dialect] | (_NO_REPLACE[dialect] if revision >= "0002" else set())


@pytest.fixture
def engine(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    """An empty database: a new SQLite file or a new PostgreSQL database."""
    engine = make_engine(database_url or sqlite_url(tmp_path / "schema.db"))
    yield engine
    engine.dispose()


def revisions() -> list[str]:
    scripts = ScriptDirectory(str(resources.files("assay.store") / "migrations"))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def test_the_head_read_from_the_script_names_is_alembics() -> None:
    """``head_revision`` reads the scripts' names (no Alembic on every command): each script's number is its
    revision, one line of history, and the largest is Alembic's head."""
    scripts = ScriptDirectory(str(resources.files("assay.store") / "migrations"))
    assert scripts.get_heads() == [head_revision()]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


_PUBLIC_FUNCTIONS = "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace WHERE nspname = 'public'"


def schema(engine: Engine) -> dict[str, set[str]]:
    """Tables, indexes, triggers and functions, as the database itself lists them."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        tables = set(inspector.get_table_names())
        indexes = {i["name"] or "" for t in tables for i in inspector.get_indexes(t)}
        if engine.dialect.name == "sqlite":
            triggers = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            functions: set[str] = set()
        else:
            triggers = set(connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            functions = set(connection.execute(text(_PUBLIC_FUNCTIONS)).scalars())
    return {"tables": tables, "indexes": indexes, "triggers": triggers, "functions": functions}


def test_upgrade_downgrade_to_nothing_and_upgrade_again(engine: Engine) -> None:
    assert revisions()[-1] == head_revision()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    at_head = schema(engine)
    assert at_head["tables"] == set(Base.metadata.tables) | {"alembic_version"}
    assert at_head["triggers"] == triggers_at(engine.dialect.name, head_revision())
    assert {i.name for t in Base.metadata.tables.values() for i in t.indexes} <= at_head["indexes"]
    if engine.dialect.name == "postgresql":
        assert at_head["functions"] == {"assay_append_only"}

    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert schema(engine) == {"tables": {"alembic_version"}, "indexes": set(), "triggers": set(), "functions": set()}

    upgrade(engine)
    assert schema(engine) == at_head
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (seq, time, actor, action, object_type, object_id, payload, prev_hash, hash) "
                "VALUES (1, 't', 'a', 'x', 'o', '1', '{}', :zero, :zero)"
            ),
            {"zero": "0" * 64},
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))  # the triggers are back, not only the tables


def test_every_revision_steps_up_and_down(engine: Engine) -> None:
    steps = revisions()
    assert steps[0] == "0001"
    for revision in steps:
        upgrade(engine, revision)
        assert current_revision(engine) == revision
        assert schema(engine)["triggers"] == triggers_at(engine.dialect.name, revision)
    for below, revision in reversed(list(zip(["base", *steps], steps, strict=False))):
        assert current_revision(engine) == revision
        downgrade(engine, below)
    assert current_revision(engine) is None
    assert schema(engine)["tables"] == {"alembic_version"}


def test_the_models_match_the_migrations(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []
        # The comparison is not blind: a model that differs from the migration is reported.
        changed = MetaData(naming_convention=Base.metadata.naming_convention)
        for table in Base.metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["audit_events"].c["actor"].type = String(201)
        differences = compare_metadata(context, changed)
    assert [(d[0][0], d[0][2], d[0][3]) for d in differences] == [("modify_type", "audit_events", "actor")]


def test_a_database_without_the_schema_is_refused_until_upgraded(engine: Engine) -> None:
    store = Store(str(engine.url), engine=engine)
    with pytest.raises(InvalidInput, match=r"has no Assay schema; run `assay db upgrade` \(Assay needs \w+\)"):
        store.check_schema()
    upgrade(engine, revisions()[0])
    if len(revisions()) > 1:
        with pytest.raises(InvalidInput, match=r"is at schema revision 0001; run `assay db upgrade`"):
            store.check_schema()
    upgrade(engine)
    store.check_schema()
    downgrade(engine, "base")
    with pytest.raises(InvalidInput, match="has no Assay schema"):
        store.check_schema()


def test_unknown_revisions_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="unknown revision 'latest'"):
        upgrade(engine, "latest")
    with pytest.raises(InvalidInput, match=r"cannot upgrade to '9999'.*revisions: "):
        upgrade(engine, "9999")
    assert current_revision(engine) is None


def test_an_unreachable_database_is_named() -> None:
    engine = make_engine("postgresql+psycopg://assay@127.0.0.1:1/none")
    try:
        with pytest.raises(InvalidInput, match=r"cannot upgrade the database postgresql\+psycopg://assay@127\.0\.0\.1"):
            upgrade(engine)
        with pytest.raises(InvalidInput, match="cannot open the database"):
            Store(str(engine.url), engine=engine).check_schema()
    finally:
        engine.dispose()
