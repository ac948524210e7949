"""``GET /api/aims/readiness`` and ``GET /api/aims/pack`` (a zip for admins and auditors) over HTTP, and
``assay aims readiness|pack|verify-pack`` from the command line."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from assay.cli import main
from assay.services.aims.pack import verify_pack
from assay.services.workspace import Workspace
from tests.support.server import serving


def test_readiness_and_the_pack_over_http(workspace: Workspace, tmp_path: Path) -> None:
    with serving(workspace) as (client, tokens, ws):
        auditor, viewer = ({"Authorization": f"Bearer {tokens[n]}"} for n in ("auditor", "viewer"))
        readiness = client.get("/api/aims/readiness", headers=viewer)
        assert readiness.status_code == 200 and readiness.json()["clauses"] == 32
        assert client.get("/api/aims/readiness?as_of=someday", headers=viewer).status_code == 422
        assert client.get("/api/aims/pack", headers=viewer).status_code == 403  # the pack holds the whole ledger
        got = client.get("/api/aims/pack", headers=auditor)
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
            archive.extractall(tmp_path)
        result = verify_pack(tmp_path / "pack", ws.root / ".assay" / "keys" / "ledger.pub")
        assert result.ok, result.problems


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    assert main(["init", str(root), "--single-user"]) == 0
    assert main(["--workspace", str(root), "--actor", "omar", "system", "create", "release"]) == 0
    capsys.readouterr()
    assert main(["--workspace", str(root), "aims", "readiness"]) == 0
    assert "0 of 32 clauses ready" in capsys.readouterr().out
    out = tmp_path / "pack"
    assert main(["--workspace", str(root), "--actor", "omar", "aims", "pack", "--out", str(out), "--no-pdf"]) == 0
    assert "verify offline" in capsys.readouterr().out
    key = root / ".assay" / "keys" / "ledger.pub"
    assert main(["aims", "verify-pack", str(out), "--public-key", str(key)]) == 0
    assert "the pack verifies" in capsys.readouterr().out
    (out / "pack.html").write_text("edited", encoding="utf-8")
    assert main(["aims", "verify-pack", str(out), "--public-key", str(key)]) == 1
    err = capsys.readouterr()
    assert "pack.html: changed since the pack was written" in err.out and "does NOT verify" in err.err
    assert main(["--workspace", str(root), "--actor", "omar", "aims", "pack", "--out", str(out)]) == 2  # not empty
