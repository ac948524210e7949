"""Clauses 4-10 judged from records made through ``ws.aims``, and the certification pack: written, verified
offline, and every kind of tampering caught. SQLite and PostgreSQL (the ``workspace`` fixture)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assay.errors import InvalidInput, PermissionDenied
from assay.services.aims.pack import verify_pack
from tests.support.people import People


@pytest.fixture
def org(people: People) -> People:
    """A small organisation: roles, context, a scope naming one high-risk system, an approved AI policy, a risk,
    a team and a measured objective, all through the services."""
    admin = people.admin
    for name in ("omar", "maria", "dan"):
        people(name)
    admin.systems.create({"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6, "owner": "dan"})
    admin.aims.roles.assign("management-system-owner", "omar", area="AI management system")
    admin.aims.roles.assign("top-management", "maria", area="board")
    omar = people("omar")
    omar.aims.context.add_issue("internal", "Two data scientists", category="staff")
    omar.aims.context.add_issue("external", "EU AI Act obligations", category="legal")
    omar.aims.context.add_party("Defendants", "affected-persons", requirements=["contest a decision"])
    omar.aims.context.set_scope("Pretrial decisions", systems=["release"])
    omar.aims.documents.add("ai-policy", "ai-policy", "AI policy", "omar", text="# AI policy\nSupport, not replace.")
    people("maria").aims.documents.approve("ai-policy")
    admin.risks.add("release", {"title": "disparity", "source": "model", "likelihood": 3, "impact": 4,
                                "treatment": "mitigate", "controls": ["iso42001:A.7.4"]})  # fmt: skip
    omar.aims.teams.add("release", "dan", ["data-science", "domain"])
    omar.aims.objectives.add({"key": "assessed", "title": "high-risk systems assessed", "owner": "omar",
                              "target": 1.0, "measure": {"name": "assessed-share"}})  # fmt: skip
    omar.aims.objectives.measure("assessed")
    return people


def test_readiness_follows_the_records(org: People) -> None:
    omar = org("omar")
    document = omar.aims.readiness()
    assert (document["schema"], document["clauses"]) == ("assay.aims-readiness", 32)
    entries = {e["id"]: e for e in document["entries"]}
    for clause in ("4.1", "4.2", "4.3", "5.2", "6.1.1", "7.1", "6.2"):
        assert entries[clause]["ready"], (clause, entries[clause]["gaps"])
    assert any(ref.startswith("aims_documents:") for ref in entries["5.2"]["evidence"])
    # no internal auditor, no audit, no review yet: named gaps with the command that closes them
    assert not entries["9.2.1"]["ready"] and "no internal audit completed" in entries["9.2.1"]["gaps"][0]["detail"]
    assert not entries["5.3"]["ready"]
    assert any("internal-auditor" in g["detail"] for g in entries["5.3"]["gaps"])

    org.admin.systems.create({"name": "triage", "eu_ai_act_category": "minimal"})  # neither in scope nor excluded
    entries = {e["id"]: e for e in omar.aims.readiness()["entries"]}
    assert not entries["4.3"]["ready"] and "'triage' is neither" in entries["4.3"]["gaps"][0]["detail"]
    omar.aims.context.set_scope(
        "Pretrial decisions", systems=["release"], exclusions=[{"what": "triage", "why": "minimal risk, no decisions"}]
    )
    assert {e["id"]: e for e in omar.aims.readiness()["entries"]}["4.3"]["ready"]

    # a system's own ISO/IEC 42001 readiness is its Annex A (38), not the clauses
    system = org.admin.controls.readiness("release")["systems"][0]
    assert system["entries"] == 38


def _rehash(folder: Path) -> None:
    """Rewrite the manifest as a forger would after editing files (so only the ledger can catch the edit)."""
    manifest = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_the_pack_is_written_whole_and_verifies_offline(org: People, tmp_path: Path) -> None:
    admin = org.admin
    out = tmp_path / "pack"
    summary = admin.aims.pack.write(out, pdf=False)
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"pack.html", "pack.json", "records.json", "manifest.json", "ledger/events.jsonl", "ledger/ledger.pub",
            "files/ai-policy-v1.md", "files/soa-release.html"} <= names  # fmt: skip
    document = json.loads((out / "pack.json").read_text(encoding="utf-8"))
    sections = {s["id"]: s for s in document["sections"]}
    assert summary["sections"]["documents"] == 1 and summary["sections"]["context"] == 4  # scope, 2 issues, party
    row = sections["documents"]["tables"][0]["rows"][0]
    assert row["key"] == "ai-policy" and row["approver_role"] == "top-management" and len(row["seqs"]) == 2
    html = (out / "pack.html").read_text(encoding="utf-8")
    assert "AI management system: certification pack" in html and row["ref"] in html
    assert (out / "files" / "ai-policy-v1.md").read_text(encoding="utf-8").startswith("# AI policy")

    key = admin.root / ".assay" / "keys" / "ledger.pub"
    result = verify_pack(out, key)
    assert result.ok and result.records_checked == summary["records"] and result.ledger.ok, result.problems

    with pytest.raises(InvalidInput, match="must be a new or empty folder"):
        admin.aims.pack.write(out)
    with pytest.raises(PermissionDenied, match="omar may not write the certification pack"):
        org("omar").aims.pack.write(tmp_path / "by-omar")  # a manager, but neither admin nor auditor
    assert not (tmp_path / "by-omar").exists()
    assert admin.audit.verify().ok


@pytest.mark.parametrize("tamper", ["record", "file", "extra", "unlisted-edit"])
def test_every_tampering_is_caught(org: People, tmp_path: Path, tamper: str) -> None:
    out = tmp_path / "pack"
    org.admin.aims.pack.write(out, pdf=False)
    records: dict[str, Any] = json.loads((out / "records.json").read_text(encoding="utf-8"))
    if tamper == "record":  # the policy's text changed and the manifest rewritten: the ledger still disagrees
        ref = next(r for r in records if r.startswith("aims_documents:"))
        records[ref]["state"]["text"] = "We may replace officers."
        (out / "records.json").write_text(json.dumps(records), encoding="utf-8")
        _rehash(out)
        expected = f"{ref}: its state differs from the one ledger event"
    elif tamper == "file":
        (out / "files" / "ai-policy-v1.md").write_text("edited", encoding="utf-8")
        expected = "files/ai-policy-v1.md: changed since the pack was written"
    elif tamper == "extra":
        shutil.copy(out / "pack.json", out / "files" / "smuggled.json")
        expected = "files/smuggled.json: not in the manifest"
    else:  # a record's events dropped from the cited list
        ref = next(iter(records))
        records[ref]["seqs"] = records[ref]["seqs"][:-1] or [0]
        (out / "records.json").write_text(json.dumps(records), encoding="utf-8")
        _rehash(out)
        expected = f"{ref}: the pack cites events"
    result = verify_pack(out)
    assert not result.ok and any(expected in p for p in result.problems), result.problems


def test_a_folder_that_is_no_pack_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="is not a pack written by `assay aims pack`"):
        verify_pack(tmp_path)
