"""``workspace.aims.pack``: the certification pack, what an external auditor asks for first (ISO/IEC 42001 clauses
4-10 and the Statement of Applicability), written to a folder and verifiable offline.

The folder holds:

* ``pack.html`` (and ``pack.pdf`` when WeasyPrint is installed): one report, a section per subject (scope and
  context, AI policy and documents, roles and teams, Statements of Applicability, risk assessment and treatment,
  objectives and measures, competence, internal audits, management reviews, nonconformities) and the readiness of
  clauses 4-10, each record with the ledger sequence numbers of the events that made it what it is;
* ``pack.json``: the same content as data; ``records.json``: each record's state (``TABLE:ID`` -> its columns)
  with those sequence numbers;
* ``files/``: the documents' texts and stored files, and each system's Statement of Applicability (HTML);
* ``ledger/``: the audit ledger export (``assay audit export``), signed up to its head;
* ``manifest.json``: the SHA-256 of every other file.

:func:`verify_pack` checks, with the ledger's public key alone (no workspace, no database): the export's chain and
signed checkpoint, every file against the manifest, and every record's state against the digest of the last
ledger event that touched it (so a record edited in the pack, or a record whose events were left out, fails).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import InvalidInput, PermissionDenied
from assay.services._base import Service
from assay.store import audit, ledger
from assay.store.models import (
    AimsAudit,
    AimsDocument,
    AimsFinding,
    AimsIssue,
    AimsMeasurement,
    AimsObjective,
    AimsParty,
    AimsRole,
    AimsScope,
    AimsTeamMember,
    AimsTraining,
    AimsTrainingRecord,
    Base,
    ControlStatus,
    CorrectiveAction,
    ImpactAssessment,
    ManagementReview,
    Nonconformity,
    Risk,
    System,
    User,
)

__all__ = ["PACK_SCHEMA", "Pack", "PackVerification", "verify_pack"]

PACK_SCHEMA: Final = "assay.aims-pack"
_SCHEMA_VERSION: Final = 1
_MANIFEST: Final = "manifest.json"
_RECORDS: Final = "records.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ref(row: Base) -> str:
    return f"{row.__tablename__}:{audit.identity(row)}"


@dataclass
class _Collector:
    """The records the pack cites, with their states."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rows(self, rows: Iterable[Base], columns: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            ref = _ref(row)
            state = row.state()
            self.states[ref] = state
            out.append({"ref": ref, **{c: state.get(c) for c in columns}})
        return out


def _table(title: str, columns: Sequence[str], rows: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    return {"title": title, "columns": list(columns), "rows": rows, "note": note}


def _in_scope(session: Session) -> tuple[AimsScope | None, list[System]]:
    scope = session.execute(select(AimsScope).order_by(AimsScope.version.desc()).limit(1)).scalar_one_or_none()
    names = set(scope.systems) if scope is not None else set()
    systems = [s for s in session.execute(select(System).order_by(System.name)).scalars() if s.name in names]
    return scope, systems


class Pack(Service):
    """Write the certification pack (see the module)."""

    def write(self, out: Path, *, pdf: bool = True, as_of: dt.date | None = None) -> dict[str, Any]:
        """Write the pack into ``out`` (a new or empty folder); returns its summary (sections, records, files,
        the ledger head it is signed up to). Needs the ledger's signing key (it signs a checkpoint of the head)."""
        self._require_reader()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InvalidInput(f"--out {out} must be a new or empty folder (the pack is written whole)")
        out.mkdir(parents=True, exist_ok=True)
        files = out / "files"
        files.mkdir()
        day = as_of or dt.date.today()
        readiness = self.ws.aims.readiness(as_of=day)
        collector = _Collector()
        with self._read() as session:
            scope, systems = _in_scope(session)
            sections = self._sections(session, collector, scope, systems, files)
        soas = []
        for system in systems:
            document = self.ws.controls.soa(system.name, as_of=day)
            from assay.reports.soa import render_soa_html

            path = files / f"soa-{system.name}.html"
            path.write_text(render_soa_html(document), encoding="utf-8")
            soas.append({"system": system.name, "file": f"files/{path.name}", "rows": len(document.get("rows", []))})
        paths = self.ws.audit.export(out / "ledger")
        head, seqs = self._seqs(out / "ledger", set(collector.states))
        missing = sorted(ref for ref in collector.states if ref not in seqs)
        if missing:  # every record the pack shows must have been made through Assay (and so be in the ledger)
            raise InvalidInput(f"records without ledger events: {', '.join(missing[:10])}; run `assay audit verify`")
        for section in sections:
            for table in section["tables"]:
                for row in table["rows"]:
                    row["seqs"] = seqs[row["ref"]]
        document = {
            "schema": PACK_SCHEMA,
            "schema_version": _SCHEMA_VERSION,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "generated_by": self.ws.actor,
            "as_of": day.isoformat(),
            "ledger_head": head,
            "scope": None if scope is None else {"version": scope.version, "systems": scope.systems},
            "sections": sections,
            "soa": soas,
            "readiness": readiness,
        }
        (out / "pack.json").write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        records = {ref: {"state": state, "seqs": seqs[ref]} for ref, state in sorted(collector.states.items())}
        (out / _RECORDS).write_text(json.dumps(records, indent=2, sort_keys=True), encoding="utf-8")
        from assay.reports.aims_pack import render_pack_html

        html = render_pack_html(document)
        (out / "pack.html").write_text(html, encoding="utf-8")
        if pdf:
            try:
                from weasyprint import HTML
            except ImportError:  # pragma: no cover - the pdf extra is part of the default install
                pdf = False
            else:
                (out / "pack.pdf").write_bytes(HTML(string=render_pack_html(document, for_print=True)).write_pdf())
        manifest = {
            str(p.relative_to(out)): _sha256(p) for p in sorted(out.rglob("*")) if p.is_file() and p.name != _MANIFEST
        }
        (out / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return {
            "out": str(out),
            "ledger_head": head,
            "records": len(records),
            "sections": {s["id"]: sum(len(t["rows"]) for t in s["tables"]) for s in sections},
            "files": len(manifest) + 1,
            "public_key": str(paths["public_key"]),
            "ready": f"{readiness['ready']} of {readiness['clauses']} clauses",
        }

    def _require_reader(self) -> None:
        """The pack holds every system in scope and the whole ledger: an authenticated user writes it only as an
        admin or an auditor (as ``GET /api/aims/pack`` and the ledger's export ask)."""
        if self.ws.viewer is None:  # the command line, acting with the workspace's keys
            return
        with self._read() as session:
            role = session.execute(select(User.role).where(User.name == self.ws.viewer)).scalar_one_or_none()
        if role not in ("admin", "auditor"):
            raise PermissionDenied(
                f"{self.ws.viewer} may not write the certification pack: it holds every system in scope and the "
                "whole ledger, so it needs an admin or an auditor"
            )

    @staticmethod
    def _seqs(folder: Path, refs: set[str]) -> tuple[int, dict[str, list[int]]]:
        """The export's last sequence number, and the events of each record of ``refs`` (one read of the export)."""
        head, found = 0, defaultdict(list)
        for event in ledger.read_export(folder)[0]:
            head = max(head, event.seq)
            ref = f"{event.object_type}:{event.object_id}"
            if ref in refs:
                found[ref].append(event.seq)
        return head, dict(found)

    def _sections(
        self,
        session: Session,
        c: _Collector,
        scope: AimsScope | None,
        systems: list[System],
        files: Path,
    ) -> list[dict[str, Any]]:
        ids = [s.id for s in systems]

        def all_of(model: type[Base], *where: Any) -> list[Any]:
            query = select(model)
            for condition in where:
                query = query.where(condition)
            return list(session.execute(query.order_by(model.id)).scalars())  # type: ignore[attr-defined]

        documents = all_of(AimsDocument, AimsDocument.status == "approved")
        documents.sort(key=lambda d: (d.kind != "ai-policy", d.kind, d.key))
        for doc in documents:
            self._document_file(doc, files)

        def tab(title: str, rows: Iterable[Base], columns: str, note: str = "") -> dict[str, Any]:
            names = columns.split()
            return _table(title, names, c.rows(rows, names), note)

        def section(key: str, title: str, clauses: str, *tables: dict[str, Any]) -> dict[str, Any]:
            return {"id": key, "title": title, "clauses": clauses.split(), "tables": list(tables)}

        actions = CorrectiveAction
        return [
            section(
                "context", "Context and scope", "4.1 4.2 4.3",
                tab("Scope in force", [scope] if scope else [],
                    "version statement systems units sites exclusions created_by",
                    "" if scope else "No scope recorded."),
                tab("Internal and external issues", all_of(AimsIssue, AimsIssue.status == "active"),
                    "kind category title description"),
                tab("Interested parties", all_of(AimsParty, AimsParty.status == "active"),
                    "name category requirements addressed_by"),
            ),
            section(
                "documents", "AI policy and documented information", "5.2 7.5",
                tab("Approved documents (the AI policy first)", documents,
                    "key version kind title owner approved_by approver_role published_on next_review location",
                    "Each document's text or stored file is in files/."),
            ),
            section(
                "roles", "Roles, responsibilities and teams", "5.3 7.1",
                tab("Governance roles", all_of(AimsRole, AimsRole.status == "active"),
                    "role person system_id area since until"),
                tab("Teams of the AI systems in scope",
                    all_of(AimsTeamMember, AimsTeamMember.active.is_(True), AimsTeamMember.system_id.in_(ids)),
                    "system_id person disciplines role"),
            ),
            section(
                "soa", "Statements of Applicability", "6.1.3",
                tab("Annex A control statuses recorded", all_of(ControlStatus, ControlStatus.system_id.in_(ids)),
                    "system_id framework control_id applicable implementation justification",
                    "Each system's full Statement of Applicability is in files/soa-SYSTEM.html."),
            ),
            section(
                "risks", "Risk assessment and treatment, impact assessments", "6.1.2 6.1.3 6.1.4 8.2 8.3 8.4",
                tab("Risks of the AI systems in scope", all_of(Risk, Risk.system_id.in_(ids)),
                    "system_id title level treatment controls owner residual_level review_date status"),
                tab("Impact assessments", all_of(ImpactAssessment, ImpactAssessment.system_id.in_(ids)),
                    "system_id title status assessor updated_at"),
            ),
            section(
                "objectives", "AI objectives and their measures", "6.2 9.1",
                tab("Objectives", all_of(AimsObjective), "key title target direction unit owner due_date status"),
                tab("Measurements", all_of(AimsMeasurement), "objective_id value met source measured_at"),
            ),
            section(
                "competence", "Competence and awareness", "7.2 7.3",
                tab("Training catalogue", all_of(AimsTraining), "code title required_for validity_months status"),
                tab("Training records", all_of(AimsTrainingRecord),
                    "training_id person completed_on score expires_on"),
            ),
            section(
                "audits", "Internal audits", "9.2",
                tab("Audit programme", all_of(AimsAudit),
                    "programme title auditor area criteria status planned_on conclusion"),
                tab("Findings", all_of(AimsFinding), "audit_id kind title controls records nonconformity_id"),
            ),
            section(
                "reviews", "Management reviews", "9.3",
                tab("Reviews and their minutes", all_of(ManagementReview),
                    "title held_on attendees decisions minutes status",
                    "The inputs each review considered are in records.json."),
                tab("Actions decided by the reviews", all_of(actions, actions.review_id.is_not(None)),
                    "review_id description owner due_date status"),
            ),
            section(
                "nonconformities", "Nonconformities and corrective actions", "10.1 10.2",
                tab("Nonconformities", all_of(Nonconformity),
                    "source source_ref title severity root_cause status effective reviewed_by closed_at"),
                tab("Corrective actions", all_of(actions, actions.nonconformity_id.is_not(None)),
                    "nonconformity_id description owner due_date status completed_at"),
            ),
        ]  # fmt: skip

    def _document_file(self, doc: AimsDocument, files: Path) -> None:
        """The document's content into ``files/``: its text, or its stored file (a URL is listed, not fetched)."""
        stem = f"{doc.key}-v{doc.version}"
        if doc.text:
            (files / f"{stem}.md").write_text(doc.text, encoding="utf-8")
        if doc.location.startswith("artifact:"):
            sha = doc.location.split(":", 1)[1]
            with self.ws.artifacts.open(sha) as source, (files / f"{stem}.file").open("wb") as target:
                shutil.copyfileobj(source, target)


@dataclass(frozen=True)
class PackVerification:
    """What :func:`verify_pack` found: ``ok`` when the ledger export, every file and every record check out."""

    ledger: ledger.Verification
    files_checked: int
    records_checked: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.ledger.ok and not self.problems


def verify_pack(folder: Path, public_key: Path | None = None) -> PackVerification:
    """Verify a pack offline (see the module); ``public_key`` defaults to the pack's own ``ledger/ledger.pub``
    (give the one you hold, obtained from the organisation independently, for a check that proves authorship)."""
    if not (folder / _MANIFEST).is_file() or not (folder / _RECORDS).is_file():
        raise InvalidInput(f"{folder} is not a pack written by `assay aims pack` (no {_MANIFEST} or {_RECORDS})")
    key_file = public_key or folder / "ledger" / "ledger.pub"
    from assay.services.audit import verify_export

    chain = verify_export(folder / "ledger", key_file)
    problems: list[str] = []
    manifest: Mapping[str, str] = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    for name, expected in manifest.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing")
        elif _sha256(path) != expected:
            problems.append(f"{name}: changed since the pack was written (SHA-256 differs from the manifest)")
    listed = set(manifest) | {_MANIFEST}
    problems += [
        f"{p.relative_to(folder)}: not in the manifest"
        for p in sorted(folder.rglob("*"))
        if p.is_file() and str(p.relative_to(folder)) not in listed
    ]
    records: Mapping[str, Mapping[str, Any]] = json.loads((folder / _RECORDS).read_text(encoding="utf-8"))
    last: dict[str, ledger.Event] = {}
    for event in ledger.read_export(folder / "ledger")[0]:
        last[f"{event.object_type}:{event.object_id}"] = event
    for ref, record in records.items():
        found = last.get(ref)
        if found is None:
            problems.append(f"{ref}: no ledger event in the export")
        elif audit.digest(record["state"]) != found.after:
            problems.append(f"{ref}: its state differs from the one ledger event {found.seq} recorded")
        elif max(record.get("seqs") or [0]) != found.seq:
            problems.append(f"{ref}: the pack cites events {record.get('seqs')} but the last is {found.seq}")
    return PackVerification(chain, len(manifest), len(records), tuple(problems))
