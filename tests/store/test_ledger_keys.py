"""The ledger's keys are read when needed (issue 13, defect 6): with ``.assay/keys/ledger.key`` missing or corrupt,
read-only commands work (verification needs only the public key) and every write is refused with exit 2 and one
line naming the file, before anything is written; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.cli import main
from assay.errors import InvalidInput
from assay.services.workspace import Workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def keyless(workspace: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace (its mode, two systems and a risk: 4 events) whose signing key is then lost; the auditor keeps a
    public key copy."""
    workspace.systems.create({"name": "release"})
    workspace.systems.create({"name": "triage"})
    workspace.risks.add(
        "release", {"title": "disparity", "source": "model", "likelihood": 4, "impact": 4, "treatment": "mitigate"}
    )
    (tmp_path / "auditor.pub").write_bytes(workspace.public_key_path.read_bytes())
    (tmp_path / "backup.key").write_bytes((workspace.home / "keys" / "ledger.key").read_bytes())
    (workspace.home / "keys" / "ledger.key").unlink()
    with Workspace.open(workspace.root, workspace.settings) as fresh:  # the open one keeps the key it already read
        yield fresh


REFUSED = (
    "error: the ledger's signing key .assay/keys/ledger.key is missing; restore it from your backup (writes are "
    "refused without it: checkpoints are signed every N events)\n"
)


def test_read_only_commands_work_without_the_signing_key(
    keyless: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ("--workspace", str(keyless.root))
    verified = "the audit ledger verifies: 4 events, 0 signed checkpoints; 4 governed records match their last event\n"
    assert run(capsys, *root, "audit", "verify") == (0, verified, "")  # with the workspace's ledger.pub
    assert run(capsys, *root, "audit", "verify", "--public-key", str(tmp_path / "auditor.pub")) == (0, verified, "")
    code, out, err = run(capsys, *root, "audit", "log", "--json")
    assert (code, err) == (0, "") and '"action": "risk.create"' in out
    code, out, _ = run(capsys, *root, "system", "list")
    assert code == 0 and "release" in out and "triage" in out
    assert run(capsys, *root, "system", "show", "release")[0] == 0
    assert run(capsys, *root, "risk", "list", "release")[0] == 0
    # the Python API alike: opening, reading and verifying never read the private key
    with Workspace.open(keyless.root, keyless.settings) as ws:
        assert [s.name for s in ws.systems.list()] == ["release", "triage"]
        assert ws.audit.verify().ok and len(ws.audit.log()) == 4


def test_every_write_is_refused_with_one_line_and_nothing_is_written(
    keyless: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ("--workspace", str(keyless.root))
    for argv in (
        ("system", "create", "third"),
        ("system", "update", "release", "--owner", "bob"),
        ("audit", "checkpoint"),
        ("audit", "export", "--out", str(tmp_path / "export")),
    ):
        assert run(capsys, *root, *argv) == (2, "", REFUSED), argv
    assert not (tmp_path / "export").exists()
    with pytest.raises(InvalidInput, match=r"^the ledger's signing key \.assay/keys/ledger\.key is missing; restore"):
        keyless.risks.update("release", 1, {"likelihood": 1})
    assert len(keyless.audit.log()) == 4 and keyless.risks.get("release", 1).likelihood == 4
    assert keyless.audit.verify().ok


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is unreadable: "),
        (b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", "is unreadable: "),
        (None, "is unreadable: the signing key is not an Ed25519 private key"),  # an RSA key
    ],
)
def test_a_corrupt_signing_key_is_named_and_reads_still_work(
    keyless: Workspace, capsys: pytest.CaptureFixture[str], content: bytes | None, reason: str
) -> None:
    if content is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        content = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    (keyless.home / "keys" / "ledger.key").write_bytes(content)
    root = ("--workspace", str(keyless.root))
    code, out, err = run(capsys, *root, "system", "create", "third")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: the ledger's signing key .assay/keys/ledger.key {reason}")
    assert err.endswith(
        "; restore it from your backup (writes are refused without it: checkpoints are signed every N events)\n"
    )
    assert err.count("\n") == 1
    assert run(capsys, *root, "audit", "verify")[0] == 0
    assert run(capsys, *root, "audit", "log")[0] == 0


def test_the_key_restored_from_a_backup_signs_again(
    keyless: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ("--workspace", str(keyless.root))
    with pytest.raises(InvalidInput, match="is missing"):
        keyless.systems.create({"name": "third"})
    (keyless.home / "keys" / "ledger.key").write_bytes((tmp_path / "backup.key").read_bytes())
    keyless.systems.create({"name": "third"})  # the same open workspace: a failed load is not remembered
    assert run(capsys, *root, "audit", "checkpoint")[0] == 0
    result = keyless.audit.verify(tmp_path / "auditor.pub")
    assert (result.ok, result.events, result.checkpoints) == (True, 5, 1)


def test_verification_without_any_public_key_is_refused_with_one_line(
    keyless: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keyless.public_key_path.unlink()
    root = ("--workspace", str(keyless.root))
    code, out, err = run(capsys, *root, "audit", "verify")
    assert (code, out) == (2, "")
    assert err == (
        "error: the ledger's public key .assay/keys/ledger.pub is missing; pass --public-key FILE with the copy "
        "you gave auditors\n"
    )
    assert run(capsys, *root, "audit", "verify", "--public-key", str(tmp_path / "auditor.pub"))[0] == 0
