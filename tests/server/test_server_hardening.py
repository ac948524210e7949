"""The server's hardened inputs (issue 13), each against the real app (FastAPI's TestClient over create_app) and,
where the behaviour belongs to the HTTP server (a body sent before authentication, X-Forwarded-For), against
`assay serve` started as users start it, on a free port, spoken to with raw sockets and httpx.

- body limits: a declared body over the limit is refused before it is read, a streamed one is cut off at the limit,
  and an upload is parsed only after authentication (an unauthenticated upload spools nothing);
- login: throttled per (name, address) and per address, never believing X-Forwarded-For unless told to; a
  cross-site login POST is refused;
- a deeply nested policy is a 422; every error response carries the security headers, every page no-store;
- the workspace's database, WAL, artifacts and keys are the owner's only, whatever the umask;
- the last active admin stays.
"""

from __future__ import annotations

import os
import re
import select
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assay.config import load_settings
from assay.server import create_app
from assay.services.workspace import Workspace
from tests.support.serve import assay_serve
from tests.support.server import PASSWORD, serving

MIB = 1024 * 1024
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")

Served = tuple[TestClient, dict[str, str], Workspace]


@pytest.fixture
def server(workspace: Workspace) -> Iterator[Served]:
    workspace.settings = workspace.settings.model_copy(update={"max_upload_mb": 2, "max_body_mb": 1})
    with serving(workspace) as served:
        yield served


def _bearer(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "assayboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"\0" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


# -- 1. body limits and authentication before the body ---------------------------------------------------------------


def test_bodies_over_the_limit_are_refused_with_the_limit_named(server: Served) -> None:
    client, tokens, ws = server
    admin = _bearer(tokens, "admin")
    body, kind = _multipart(3 * MIB)
    declared = client.post("/api/artifacts", content=body, headers={**admin, "Content-Type": kind})
    assert declared.status_code == 413
    assert declared.json()["error"]["message"].endswith("is over the upload limit of 2 MiB (ASSAY_MAX_UPLOAD_MB)")
    assert all(header in declared.headers for header in HEADERS)

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    streamed = client.post("/api/artifacts", content=chunks(), headers={**admin, "Content-Type": kind})
    assert streamed.status_code == 413 and "upload limit of 2 MiB" in streamed.json()["error"]["message"]
    assert not any(p.is_file() for p in ws.artifacts.root.rglob("*"))  # nothing stored from the refused ones
    small, kind = _multipart(MIB)
    assert client.post("/api/artifacts", content=small, headers={**admin, "Content-Type": kind}).status_code == 201
    big_json = b'{"name": "' + b"x" * (2 * MIB) + b'"}'
    refused = client.post("/api/systems", content=big_json, headers={**admin, "Content-Type": "application/json"})
    assert refused.status_code == 413 and "ASSAY_MAX_BODY_MB" in refused.json()["error"]["message"]
    # a multipart body goes to the uploads only: elsewhere Starlette would spool its files before any check
    login = client.post("/login", content=small, headers={"Content-Type": kind})
    assert login.status_code == 415 and login.json()["error"]["type"] == "unsupported_media_type"


def test_an_upload_is_not_read_before_authentication(server: Served) -> None:
    """The application never receives a byte of an unauthenticated upload's body (FastAPI parses File/Form
    parameters before it resolves dependencies: the upload routes parse the form themselves, after them)."""
    client, tokens, _ = server
    received = {"bytes": 0}
    app = client.app

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            received["bytes"] += len(message.get("body", b""))
            return message

        await app(scope, counted, send)

    body, kind = _multipart(MIB)
    with TestClient(counting) as counted_client:
        for path in ("/api/artifacts", "/systems/release/datasets", "/systems/release/models"):
            response = counted_client.post(path, content=body, headers={"Content-Type": kind}, follow_redirects=False)
            assert response.status_code in (401, 303), (path, response.status_code)
            assert received["bytes"] == 0, f"{path}: {received['bytes']} bytes read before authentication"
        made = counted_client.post("/api/artifacts", content=body, headers={**_bearer(tokens, "owner"),
                                                                             "Content-Type": kind})  # fmt: skip
        assert made.status_code == 201 and received["bytes"] == len(body)


def test_the_dataset_upload_form_still_registers(server: Served, tmp_path: Path) -> None:
    client, _, ws = server
    client.post("/login", data={"name": "owner", "password": PASSWORD}, follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/systems/release/models").text)
    assert csrf is not None
    fields = {"dataset": "credit", "data_version": "1", "data_source": "bank", "csrf": csrf.group(1)}
    files = {"file": ("credit.csv", b"age,y\n30,1\n40,0\n")}
    made = client.post("/systems/release/datasets", data=fields, files=files, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/systems/release/models"
    assert ws.datasets.get_version("credit@1").row_count == 2
    too_long = client.post("/systems/release/datasets", data={**fields, "data_version": "x" * 300}, files=files)
    assert too_long.status_code == 422 and 'id="e-data_version"' in too_long.text  # the error next to the field
    no_csrf = client.post("/systems/release/datasets", data={"dataset": "credit"}, files=files, follow_redirects=False)
    assert no_csrf.status_code == 403


# -- 3. nested YAML, and the security headers on every error ------------------------------------------------------


def test_a_deeply_nested_policy_is_bad_input(server: Served) -> None:
    client, tokens, _ = server
    owner = _bearer(tokens, "owner")
    for policy, says in (
        ("[" * 10_000 + "]" * 10_000, "deeper than the limit of 50"),
        ("rules: " + "{a: " * 5_000 + "1" + "}" * 5_000, "deeper than the limit of 50"),
        ("a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
                                                     for p, c in zip("abcde", "bcdef", strict=True)),
         "more than 100000 values"),
    ):  # fmt: skip
        response = client.post("/api/systems/release/gates", headers=owner, json={"ref": "lr@1", "policy": policy})
        assert response.status_code == 422, response.text[:200]
        assert says in response.json()["error"]["message"]
        assert all(header in response.headers for header in HEADERS)


def test_every_error_response_carries_the_security_headers(server: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.services.registry import Systems

    _, tokens, ws = server
    admin, viewer = _bearer(tokens, "admin"), _bearer(tokens, "viewer")

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Systems, "list", broken)
    client = TestClient(create_app(ws, secure_cookies=False), raise_server_exceptions=False)
    body, kind = _multipart(3 * MIB)
    calls = {
        401: client.get("/api/systems/release"),
        403: client.patch("/api/systems/release", headers=viewer, json={"purpose": "x"}),
        404: client.get("/api/no-such-route"),
        405: client.get("/api/login"),
        409: client.post("/api/systems", headers=admin, json={"name": "release"}),
        413: client.post("/api/artifacts", headers={**admin, "Content-Type": kind}, content=body),
        415: client.post("/api/systems", headers={**admin, "Content-Type": kind}, content=b"--x--"),
        422: client.get("/api/systems?limit=0", headers=admin),
        500: client.get("/api/systems", headers=admin),
    }
    for status, response in calls.items():
        assert response.status_code == status, (status, response.text[:200])
        missing = [h for h in HEADERS if h not in response.headers]
        assert not missing, f"{status}: no {missing}"
        assert response.headers["Cache-Control"] == "no-store"
        assert set(response.json()) == {"error"}
    assert "a bug" not in calls[500].text  # the log has the details, not the client


def test_pages_carrying_a_csrf_token_are_never_stored(server: Served) -> None:
    client, _, _ = server
    client.post("/login", data={"name": "admin", "password": PASSWORD}, follow_redirects=False)
    for path in ("/", "/systems/release", "/systems/release/risks", "/audit", "/approvals", "/index.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert 'name="csrf"' in client.get("/").text
    assert client.get("/login").headers["Cache-Control"] == "no-store"


# -- 2 and 6. login: throttling per (name, address) and per address; Origin ---------------------------------------


def test_login_throttling_is_per_name_and_address_and_per_address(server: Served) -> None:
    client, _, _ = server
    attacker = TestClient(client.app, client=("203.0.113.9", 40000))
    codes = [attacker.post("/api/login", json={"name": "owner", "password": "not the password"}).status_code
             for _ in range(6)]  # fmt: skip
    assert codes == [401] * 5 + [429]
    assert attacker.post("/api/login", json={"name": "owner", "password": PASSWORD}).status_code == 429
    owner = TestClient(client.app, client=("198.51.100.7", 40000))  # the owner, elsewhere: not locked out
    assert owner.post("/api/login", json={"name": "owner", "password": PASSWORD}).status_code == 200
    sprayer = TestClient(client.app, client=("203.0.113.10", 40000))  # one guess for each of many names
    sprayed = [sprayer.post("/api/login", json={"name": f"user{i}", "password": "Summer2026!!"}).status_code
               for i in range(21)]  # fmt: skip
    assert sprayed == [401] * 20 + [429]
    assert sprayer.post("/api/login", json={"name": "viewer", "password": PASSWORD}).status_code == 429


def test_login_refuses_another_sites_origin(server: Served) -> None:
    """OWASP's login-CSRF defence: the Origin (else the Referer) must be this server. A request with neither is
    not a browser's cross-site POST (browsers send Origin on those) and is accepted: the CLI and scripts."""
    client, _, _ = server
    good = {"name": "viewer", "password": PASSWORD}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/x"},
                    {"Origin": "http://testserver.evil.example"}):  # fmt: skip
        api = client.post("/api/login", json=good, headers=headers)
        assert api.status_code == 403 and "cross-site login refused" in api.json()["error"]["message"], headers
        form = client.post("/login", data=good, headers=headers, follow_redirects=False)
        assert form.status_code == 403 and "set-cookie" not in form.headers, headers
    for headers in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/login"}, {}):
        assert client.post("/api/login", json=good, headers=headers).status_code == 200, headers
        assert client.post("/login", data=good, headers=headers, follow_redirects=False).status_code == 303


# -- 7. the last active admin ----------------------------------------------------------------------------------------


def test_the_last_active_admin_cannot_be_removed(server: Served) -> None:
    from assay.errors import Conflict

    client, tokens, ws = server
    admin = _bearer(tokens, "admin")
    for method, path, body in (("POST", "/api/users/admin/deactivate", None),
                               ("PUT", "/api/users/admin/role", {"role": "member"}),
                               ("PUT", "/api/users/admin/role", {"role": "auditor"})):  # fmt: skip
        response = client.request(method, path, headers=admin, json=body)
        assert response.status_code == 409, (path, response.text)
        assert response.json()["error"]["message"] == (
            f"admin is the last active admin and cannot be {'deactivated' if body is None else 'made ' + body['role']}"
            ": make another user admin first"
        )
    assert client.get("/api/me", headers=admin).json()["role"] == "admin"
    ws.login("admin", PASSWORD).access.add_user("second", PASSWORD, role="admin")
    assert client.put("/api/users/admin/role", headers=admin, json={"role": "admin"}).status_code == 200  # no change
    assert client.post("/api/users/admin/deactivate", headers=admin).status_code == 200  # another admin remains
    second = ws.login("second", PASSWORD)
    with pytest.raises(Conflict, match="second is the last active admin"):
        second.access.deactivate("second")
    with pytest.raises(Conflict, match="last active admin"):
        second.access.set_role("second", "member")
    second.access.set_role("viewer", "auditor")  # other users are unaffected


# -- 4. file permissions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_workspace_files_are_the_owners_only(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        folder = tmp_path / "ws"
        with Workspace.init(folder, load_settings(actor="alice", workspace=None)) as ws:
            ws.systems.create({"name": "release"})  # a write: the WAL and its index exist while the engine is open
            ws.artifacts.put_bytes(b"model bytes")
            home = folder / ".assay"
            names = {p.name for p in home.rglob("*")}
            assert {"assay.db", "assay.db-wal", "assay.db-shm", "workspace.json", "ledger.key"} <= names
            wrong = []
            for path in [home, *home.rglob("*")]:
                mode = stat.S_IMODE(path.stat().st_mode)
                if (path.is_dir() and mode != 0o700) or (path.is_file() and mode & 0o077):
                    wrong.append(f"{path.relative_to(folder)}: {oct(mode)}")
            assert not wrong, wrong
    finally:
        os.umask(previous)


# -- the real server: `assay serve` on a free port -----------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`assay serve` as users start it, with its own temporary folder (TMPDIR) so that spooling shows."""
    root = tmp_path_factory.mktemp("live")
    folder, spool = root / "ws", root / "tmp"
    spool.mkdir()
    with Workspace.init(folder, load_settings(actor="admin", workspace=None)) as ws:
        ws.access.add_user("admin", PASSWORD, role="admin")
        token = ws.login("admin", PASSWORD).access.create_token("admin", "t", scope="write")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_") and k != "FORWARDED_ALLOW_IPS"}
    log = root / "server.log"
    with assay_serve(folder, log, {**env, "TMPDIR": str(spool)}) as served:
        yield {"port": served.port, "base": served.base, "token": token, "log": log,
               "spooled": lambda: _spooled(served.process.pid, spool)}  # fmt: skip


def _spooled(pid: int, folder: Path) -> int:
    """Bytes the server holds in its temporary folder: named files, and the unnamed ones Python's TemporaryFile
    makes on Linux (open, deleted or O_TMPFILE: only the process's file descriptors show them)."""
    held = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(folder)):
                held += fd.stat().st_size
        except OSError:  # closed meanwhile
            pass
    return held


def _send_until_answered(port: int, head: bytes, total: int, spooled: Any) -> dict[str, Any]:
    """Send ``head`` and then up to ``total`` body bytes in 1 MiB blocks, stopping as soon as the server answers
    (or stops reading); how much was sent, how long the answer took, the status, and the most the server's
    temporary folder held meanwhile."""
    block = b"\0" * MIB
    sent, most = 0, 0
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sock.settimeout(2)
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(block[: min(MIB, total - sent)])
                sent += min(MIB, total - sent)
                most = max(most, spooled())
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: it has answered
        sock.settimeout(30)
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    elapsed = time.monotonic() - start
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    return {"sent": sent, "seconds": round(elapsed, 3), "status": status, "spooled": max(most, spooled())}


def test_an_unauthenticated_upload_spools_nothing_on_a_real_server(live: dict[str, Any]) -> None:
    """300 MiB declared (over the 200 MiB limit): 413 at once. 190 MiB declared (under it), unauthenticated: 401
    before the body is read; on the old code the server read and spooled all of it before answering."""
    port, spooled = live["port"], live["spooled"]
    boundary = "b0undary"
    for size, expected in ((300 * MIB, 413), (190 * MIB, 401)):
        head = (
            f"POST /api/artifacts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {size}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
        ).encode()
        result = _send_until_answered(port, head, size, spooled)
        print(f"\nunauthenticated upload of {size // MIB} MiB: {result}")
        assert result["status"] == expected, result
        assert result["spooled"] == 0, result
        assert result["sent"] <= 64 * MIB, result  # what the sockets' buffers take, not the body
        assert result["seconds"] < 20, result
    # an authenticated upload still works, and is spooled only while it is parsed
    stored = httpx.post(f"{live['base']}/api/artifacts", headers={"Authorization": f"Bearer {live['token']}"},
                        files={"file": ("a.bin", b"x" * (3 * MIB))}, timeout=60)  # fmt: skip
    assert stored.status_code == 201 and stored.json()["size"] == 3 * MIB
    assert spooled() == 0


def test_a_chunked_upload_is_cut_off_at_the_limit_on_a_real_server(live: dict[str, Any]) -> None:
    port, spooled = live["port"], live["spooled"]
    head = (
        f"POST /api/artifacts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
        f"Authorization: Bearer {live['token']}\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n"
    ).encode()
    preamble = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    chunk = f"{MIB:x}\r\n".encode() + b"\0" * MIB + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + f"{len(preamble):x}\r\n".encode() + preamble + b"\r\n")
        sock.settimeout(5)
        try:
            while sent < 260 and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += 1
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        answer = sock.recv(65536)
        while True:  # the headers may arrive before the body: read up to the body's length
            head_part, _, body_part = answer.partition(b"\r\n\r\n")
            lengths = [line for line in head_part.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            length = int(lengths[0].split(b":")[1]) if lengths else 0
            more = b"" if len(body_part) >= length else sock.recv(65536)
            if not more:
                break
            answer += more
    print(f"\nchunked upload cut off after {sent} MiB sent: {answer[:12]!r}")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"upload limit of 200 MiB" in answer
    assert 200 <= sent < 260
    time.sleep(0.5)
    assert spooled() == 0  # the partial form's spooled file is closed and removed


def test_assay_serve_does_not_believe_x_forwarded_for(live: dict[str, Any]) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default: a client there could claim a new address for
    each guess and never be throttled. `assay serve` believes it only from ASSAY_TRUSTED_PROXIES (none here)."""
    with httpx.Client(base_url=live["base"]) as client:
        codes = [
            client.post("/api/login", json={"name": "admin", "password": "wrong password!"},
                        headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
            for i in range(6)
        ]  # fmt: skip
    assert codes == [401] * 5 + [429]


def test_assay_serve_passes_only_the_trusted_proxies_to_uvicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from assay.cli import main

    Workspace.init(tmp_path / "ws", load_settings(actor="admin", workspace=None)).close()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    assert main(["-w", str(tmp_path / "ws"), "serve"]) == 0
    monkeypatch.setenv("ASSAY_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")
    assert main(["-w", str(tmp_path / "ws"), "serve"]) == 0
    assert [(c["proxy_headers"], c["forwarded_allow_ips"]) for c in calls] == [
        (False, None),
        (True, "10.0.0.1,10.0.0.2"),
    ]
