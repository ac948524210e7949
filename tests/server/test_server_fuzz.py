"""schemathesis against the server's own OpenAPI schema (``/api/openapi.json``): no request may end in a 5xx, and
every response (errors included) conforms to the response model its route declares for its status code.

In process (ASGI transport, no network), on SQLite and PostgreSQL, authenticated as an admin with a write token so
that the routes run their services instead of stopping at 401. The workspace holds one of each record the routes
read (a system, a model version, an assessment, a risk, an approval request). Path parameters take those real
values most of the time, and generated ones otherwise, so that both the "found" and the "not found" paths are
fuzzed. Integers and strings are sometimes replaced by edge values: integers past the databases' INTEGER range,
and strings with a NUL byte.

Bounded and reproducible: a fixed seed, a fixed number of examples per operation, derandomized, no deadline.

The fuzz found two classes of server errors, now fixed (the store turns a value the database cannot hold into
bad input, 422): integers past the database's INTEGER range (SQLite from 2**63, PostgreSQL from 2**31) and NUL
bytes in PostgreSQL text. ``test_former_server_errors`` pins one request per route where they happened (now a
4xx, or a 200 where SQLite can look the value up and finds nothing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from pydantic import BaseModel

from assay.config import load_settings
from assay.server import create_app
from assay.services.workspace import Workspace

try:
    import schemathesis
    from schemathesis.checks import not_a_server_error, response_schema_conformance
    from schemathesis.config import SchemathesisConfig
    from schemathesis.core.failures import FailureGroup
except ImportError:  # a dev dependency; skipped without it, except in CI (as tests/conftest.py does for tiers)
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise
    pytest.skip("schemathesis is not installed (pip install -e '.[dev]')", allow_module_level=True)

MAX_EXAMPLES = 15
FEW_EXAMPLES = 3
PASSWORD = "correct horse battery"
INT_LIMIT = {"sqlite": 2**63, "postgresql": 2**31}  # the first integer the database's INTEGER cannot hold
EDGE_INTS = [2**31, 2**63, 2**64]
EDGE_STRINGS = ["a\x00b", "\x00"]

# real values for the path parameters (with the edge integers among the ids), drawn with this probability
KNOWN: dict[str, list[Any]] = {
    "system": ["release"],
    "assessment_id": [1, 1, *EDGE_INTS],
    "risk_id": [1, 1, *EDGE_INTS],
    "request_id": [1, 1, *EDGE_INTS],
    "evidence_id": [1, 1, *EDGE_INTS],  # the recorded assessment is linked as evidence 1, 2, ...
    "framework": ["iso42001", "nist-ai-rmf", "eu-ai-act"],
    "control_id": ["A.6.2.4"],
    "ref": ["lr@1"],
    "user": ["admin", "viewer"],
}
KNOWN_SHARE = 0.7

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261126,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "dictionaries": {
                "integer": {"dictionary": "edge_ints", "probability": 0.2},
                "string": {"dictionary": "edge_strings", "probability": 0.1},
            },
        },
        "dictionaries": {
            "edge_ints": {"values": EDGE_INTS},
            "edge_strings": {"values": EDGE_STRINGS},
            **{name: {"values": values} for name, values in KNOWN.items()},
        },
        "parameters": {f"path.{name}": {"dictionary": name, "probability": KNOWN_SHARE} for name in KNOWN},
        # the certification pack (one optional date) is built whole by each call (4-6 s): a few examples, not 15
        "operations": [{"include-path": "/api/aims/pack", "generation": {"max-examples": FEW_EXAMPLES}}],
    }
)
# The OpenAPI document does not depend on the workspace (create_app only keeps it for the requests), so the
# schema is loaded at import from the app itself; each test then calls an app bound to a real workspace.
schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(cast(Workspace, None)), config=CONFIG)


def _serve(request: pytest.FixtureRequest, folder: Path) -> tuple[Workspace, FastAPI, str]:
    """A workspace with one record of each kind, the app over it, and an admin's write token."""
    url = None if request.param == "sqlite" else str(request.getfixturevalue("postgres").create_database())
    ws = Workspace.init(folder / "ws", load_settings(actor="alice", workspace=None), database_url=url)
    ws.systems.create({"name": "release", "eu_ai_act_category": "limited"})
    ws.models.register_version("release", {"model": "lr", "version": "1"})
    ws.assessments.record("release", {"schema": "assay.assessment", "spec": {}, "data": {}}, model_version="lr@1")
    ws.risks.add("release", {"title": "t", "source": "model", "likelihood": 2, "impact": 2, "treatment": "accept"})
    ws.access.add_user("admin", PASSWORD, role="admin")  # the first admin needs nobody's leave
    admin = ws.login("admin", PASSWORD)  # the other users and roles need an authenticated admin
    admin.access.add_user("viewer", PASSWORD, role="member")
    admin.access.grant("viewer", "release", "viewer")
    admin.access.add_user("owner", PASSWORD, role="member")
    admin.access.grant("owner", "release", "owner")
    ws.login("owner", PASSWORD).approvals.request("release", "lr@1", "staging")  # not the admin's: he may decide it
    token = admin.access.create_token("admin", "fuzz", scope="write")[0]
    return ws, create_app(ws, secure_cookies=False), token


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ws, app, token = _serve(request, tmp_path_factory.mktemp("fuzz"))
    yield {"app": app, "token": token, "database": request.param}
    ws.close()


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _scalars(key)
            yield from _scalars(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _scalars(item)
    else:
        yield value


@schema.parametrize()
@settings(  # max_examples from CONFIG (per operation)
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the report carries the request as generated
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case: Any, server: dict[str, Any]) -> None:
    response = case.call(app=server["app"], headers={"Authorization": f"Bearer {server['token']}"})
    # every response, errors included, must have the shape the schema declares for its status code
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_conformance_check_can_fail() -> None:
    """The same check, with the same configuration, on a tiny app whose route answers another shape than the
    response model it declares: it must fail (so that its passing above means something)."""

    class Shape(BaseModel):
        count: int

    tiny = FastAPI()

    @tiny.get("/shape", response_model=Shape)
    def shape() -> JSONResponse:
        return JSONResponse({"count": "many"})  # bypasses the model, as a dump of columns would

    case = schemathesis.openapi.from_asgi("/openapi.json", tiny, config=CONFIG)["/shape"]["GET"].Case()
    with pytest.raises(FailureGroup, match="Response violates schema"):
        case.validate_response(case.call(app=tiny), checks=[response_schema_conformance])


# -- the server errors the fuzz found, one request per route: each must now be a 4xx --------------------------------

BIG = 2**63  # past the INTEGER range of both databases (PostgreSQL's ends at 2**31 - 1 already)
_RISK = {"title": "t", "source": "model", "likelihood": 2, "impact": 2, "treatment": "accept"}
BOTH, PG = ("sqlite", "postgresql"), ("postgresql",)
EVIDENCE = {"framework": "iso42001", "control_id": "A.6.2.4", "kind": "assessment", "assessment_id": BIG}
FORMER_5XX: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None, tuple[str, ...]]] = [
    # method, path, JSON body, query, the databases where it was a 500
    ("GET", f"/api/systems/release/assessments/{BIG}", None, None, BOTH),
    ("PATCH", f"/api/systems/release/risks/{BIG}", {"title": "x"}, None, BOTH),
    ("POST", f"/api/systems/release/approvals/{BIG}/decision", {"decision": "approve"}, None, BOTH),
    ("GET", "/api/audit/events", None, {"after": BIG}, BOTH),
    ("POST", "/api/systems/release/evidence", EVIDENCE, None, BOTH),
    ("POST", "/api/systems/release/approvals", {"ref": "lr@1", "required_approvals": BIG}, None, BOTH),
    ("POST", "/api/systems", {"name": "nul", "purpose": "a\x00b"}, None, PG),
    ("POST", "/api/systems/release/risks", {**_RISK, "title": "a\x00b"}, None, PG),
    ("GET", "/api/systems/a%00b", None, None, PG),
    ("GET", "/api/audit/events", None, {"actor": "a\x00b"}, PG),
    ("POST", "/api/login", {"name": "a\x00b", "password": "b"}, None, PG),
    ("PUT", "/api/systems/release/controls/iso42001/A.6.2.4", {"justification": "a\x00b"}, None, PG),
    ("POST", "/api/systems/release/gates", {"ref": "a\x00b"}, None, PG),
]


@pytest.fixture(scope="module")
def pinned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fresh workspace (the fuzz may have changed the other one); the database comes from the test's parameter."""
    ws, app, token = _serve(request, tmp_path_factory.mktemp("pinned"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield {"client": client, "headers": {"Authorization": f"Bearer {token}"}}
    ws.close()


@pytest.mark.parametrize(
    ("pinned", "method", "path", "body", "query"),
    [
        pytest.param(
            database, method, path, body, query,
            id=f"{database}-{method} {path}" + (f"?{next(iter(query))}" if query else ""),
        )
        for method, path, body, query, _failing in FORMER_5XX
        for database in BOTH
    ],
    indirect=["pinned"],
)  # fmt: skip
def test_former_server_errors(
    pinned: dict[str, Any], method: str, path: str, body: dict[str, Any] | None, query: dict[str, Any] | None
) -> None:
    response = pinned["client"].request(method, path, json=body, params=query, headers=pinned["headers"])
    assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:200]}"
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}, response.text[:200]
