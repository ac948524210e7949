"""``workspace.aims.documents``: the register of the management system's documented information (ISO/IEC 42001
7.5) and its policies (5.2): the AI policy (kind ``ai-policy``) and topic policies (``topic-policy``).

A document is named by its ``key`` across versions; each version is one row (:class:`AimsDocument`). A version is
added as a ``draft`` (one draft per key at a time) with its content as ``text`` and/or at a ``location``: a file
put in the artifact store (``artifact:SHA256``) or an http(s) URL. Approving it publishes it: ``published_on`` is
the day, ``next_review`` that day plus ``review_months``, and the version approved before is ``superseded`` (both
kept). Rules:

* a policy (``ai-policy``, ``topic-policy``) is approved only by a person holding a top-management role
  (:data:`~assay.governance.aims.POLICY_APPROVER_ROLES`) for the organisation, authenticated, and in a multi-user
  workspace not by the person who drafted that version (four eyes);
* other documents are approved by a manager (:func:`~assay.services.aims._base.require_manager`);
* at most one AI policy is approved at a time: a new AI policy is a new version of the same key.

Every change is one write transaction with its audit event (``aims.document.create``, ``.approve``,
``.supersede``, ``.withdraw``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import mimetypes
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance import aims_org as rules
from assay.governance.aims import DOCUMENT_KINDS, DOCUMENT_STATUSES, POLICY_APPROVER_ROLES, POLICY_KINDS, one_of, slug
from assay.services._base import Service, require_authenticated, single_user
from assay.services.aims._base import active_roles, require_manager, require_person
from assay.services.registry import store_artifact
from assay.store.models import AimsDocument, Artifact, User, utcnow

__all__ = ["Documents"]

_MAX_REVIEW_MONTHS = 120


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _versions(session: Session, key: str) -> list[AimsDocument]:
    return list(
        session.execute(select(AimsDocument).where(AimsDocument.key == key).order_by(AimsDocument.version)).scalars()
    )


def _version(session: Session, key: str, version: int | None, *, status: str | None = None) -> AimsDocument:
    rows = _versions(session, key)
    if not rows:
        raise NotFound(f"no document with key {key!r} (see `assay aims document list`)")
    if version is None:
        wanted = [r for r in rows if status is None or r.status == status]
        if not wanted:
            raise Conflict(f"document {key!r} has no {status} version (versions: " + _listed(rows) + ")")
        return wanted[-1]
    for row in rows:
        if row.version == version:
            return row
    raise NotFound(f"document {key!r} has no version {version} (versions: {_listed(rows)})")


def _listed(rows: list[AimsDocument]) -> str:
    return ", ".join(f"{r.version} {r.status}" for r in rows)


def _approver_role(tx: Any, document: AimsDocument) -> str | None:
    """Check that the actor may approve ``document`` and return the role they approve it in."""
    session = tx.session
    if document.kind in POLICY_KINDS:
        what = f"approving the {document.kind} {document.key!r}"
        require_authenticated(tx, what)
        roles = [r.role for r in active_roles(session, tx.actor) if r.system_id is None]
        held = [role for role in roles if role in POLICY_APPROVER_ROLES]
        if not held:
            raise PermissionDenied(
                f"{what}: {tx.actor} does not hold {' or '.join(POLICY_APPROVER_ROLES)} for the organisation "
                f"(a policy is approved by top management: `assay aims role assign {POLICY_APPROVER_ROLES[0]} PERSON`)"
            )
        if not single_user(tx) and tx.actor == document.created_by:
            raise PermissionDenied(
                f"{what}: {tx.actor} drafted version {document.version} and may not approve it (four eyes: another "
                f"person holding {' or '.join(POLICY_APPROVER_ROLES)} approves)"
            )
        return held[0]
    require_manager(tx, f"approve document {document.key!r}")
    roles = [r.role for r in active_roles(session, tx.actor) if r.system_id is None]
    manager = [r for r in ("management-system-owner", "top-management") if r in roles]
    if manager:
        return manager[0]
    user = session.execute(select(User.role).where(User.name == tx.actor)).scalar()
    return "admin" if user == "admin" else None


class Documents(Service):
    """The register of documented information: add versions, approve, withdraw, list, history, reviews due."""

    def add(
        self,
        key: str,
        kind: str,
        title: str,
        owner: str,
        *,
        text: str = "",
        location: str = "",
        file: Path | None = None,
        topic: str = "",
        review_months: int | None = 12,
    ) -> AimsDocument:
        """Add a draft version of document ``key`` (version 1, or the next after its newest): its content is
        ``text`` and/or at ``location`` (``artifact:SHA256`` of a file in the artifact store, or an http(s) URL),
        or ``file`` (copied into the artifact store). ``owner`` is a user; the document is reviewed every
        ``review_months`` once approved (None: no review cycle)."""
        slug("document.key", key)
        one_of("document.kind", kind, DOCUMENT_KINDS)
        valid_title = rules.text("document.title", title, limit=300)
        valid_topic = rules.text("document.topic", topic, limit=100, required=False)
        body = rules.text("document.text", text, limit=1_000_000, required=False)
        where = rules.location("document.location", location) if location.strip() else ""
        if file is not None and where:
            raise InvalidInput("document.location: give a file or a location, not both")
        if file is not None and not file.is_file():
            raise InvalidInput(f"document.file: {file} is not a file")
        if not body and not where and file is None:
            raise InvalidInput("document: give its text, a file or a location (artifact:SHA256 or an http(s) URL)")
        if review_months is not None and not (1 <= review_months <= _MAX_REVIEW_MONTHS):
            raise InvalidInput(
                f"document.review_months must be between 1 and {_MAX_REVIEW_MONTHS}, not {review_months}"
            )
        stored = None if file is None else self.ws.artifacts.put_file(file)
        with self._write() as tx:
            require_manager(tx, "add a document to the management system's register")
            require_person(tx.session, "document.owner", owner)
            if where.startswith("artifact:") and tx.session.get(Artifact, where.partition(":")[2]) is None:
                raise InvalidInput(
                    f"document.location: no file {where} in the artifact store (upload it first, or give the file)"
                )
            if stored is not None and file is not None:
                media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                where = "artifact:" + store_artifact(tx, stored, file.name, media).sha256
            rows = _versions(tx.session, key)
            if rows and rows[-1].kind != kind:
                raise Conflict(f"document.kind: {key!r} is a {rows[-1].kind}, its new version cannot be a {kind}")
            drafts = [r for r in rows if r.status == "draft"]
            if drafts:
                raise Conflict(
                    f"document {key!r} has a draft (version {drafts[-1].version}): approve or withdraw it before "
                    "adding another version"
                )
            document = AimsDocument(
                key=key,
                version=(rows[-1].version + 1) if rows else 1,
                kind=kind,
                title=valid_title,
                topic=valid_topic,
                owner=owner,
                text=body,
                location=where,
                status="draft",
                review_months=review_months,
                created_by=tx.actor,
            )
            tx.session.add(document)
            tx.record("aims.document.create", document, before=None)
        return document

    def approve(self, key: str, version: int | None = None, *, published_on: dt.date | None = None) -> AimsDocument:
        """Approve and publish a draft version (default: the key's draft); the version approved before is
        superseded in the same transaction. See the module's rules for who may approve."""
        with self._write() as tx:
            document = _version(tx.session, key, version, status=None if version is not None else "draft")
            if document.status != "draft":
                raise Conflict(
                    f"document {key!r} version {document.version} is {document.status}: only a draft is approved"
                )
            role = _approver_role(tx, document)
            previous = [r for r in _versions(tx.session, key) if r.status == "approved"]
            if document.kind == "ai-policy":
                other = tx.session.execute(
                    select(AimsDocument).where(
                        AimsDocument.kind == "ai-policy", AimsDocument.status == "approved", AimsDocument.key != key
                    )
                ).scalar()
                if other is not None:
                    raise Conflict(
                        f"the AI policy in force is {other.key!r} version {other.version}: there is one AI policy at "
                        f"a time (add a new version of {other.key!r}, or withdraw it first)"
                    )
            for old in previous:
                before = old.state()
                old.status = "superseded"
                old.updated_at = utcnow()
                tx.record("aims.document.supersede", old, before=before, payload={"by_version": document.version})
            before = document.state()
            day = published_on or _today()
            document.status = "approved"
            document.approved_by = tx.actor
            document.approver_role = role
            document.approved_at = document.updated_at = utcnow()
            document.published_on = day
            months = document.review_months
            document.next_review = None if months is None else rules.add_months(day, months)
            tx.record(
                "aims.document.approve",
                document,
                before=before,
                payload={"supersedes": [old.version for old in previous]},
            )
        return document

    def withdraw(self, key: str, version: int | None = None, *, reason: str) -> AimsDocument:
        """Withdraw a draft or the approved version (default: the newest of those); kept, with the reason in the
        audit event. Withdrawing an approved policy takes a person who may approve it."""
        why = rules.text("reason", reason, limit=2000)
        with self._write() as tx:
            if version is None:
                live = [r for r in _versions(tx.session, key) if r.status in ("draft", "approved")]
                if not live:
                    _version(tx.session, key, None)  # NotFound for an unknown key
                    raise Conflict(f"document {key!r} has no draft or approved version to withdraw")
                document = live[-1]
            else:
                document = _version(tx.session, key, version)
            if document.status not in ("draft", "approved"):
                raise Conflict(f"document {key!r} version {document.version} is {document.status}: nothing to withdraw")
            if document.status == "approved" and document.kind in POLICY_KINDS:
                held = [r.role for r in active_roles(tx.session, tx.actor) if r.system_id is None]
                require_authenticated(tx, f"withdrawing the {document.kind} {key!r}")
                if not any(r in POLICY_APPROVER_ROLES for r in held):
                    raise PermissionDenied(
                        f"withdrawing the approved {document.kind} {key!r}: {tx.actor} does not hold "
                        f"{' or '.join(POLICY_APPROVER_ROLES)} for the organisation"
                    )
            else:
                require_manager(tx, f"withdraw document {key!r}")
            before = document.state()
            document.status = "withdrawn"
            document.updated_at = utcnow()
            tx.record("aims.document.withdraw", document, before=before, payload={"reason": why})
        return document

    def get(self, key: str, version: int | None = None) -> AimsDocument:
        """One version (default: the approved one, else the newest)."""
        with self._read() as session:
            if version is None:
                rows = _versions(session, key)
                approved = [r for r in rows if r.status == "approved"]
                if rows:
                    return approved[-1] if approved else rows[-1]
            return _version(session, key, version)

    def list(self, *, kind: str | None = None, status: str | None = None) -> list[AimsDocument]:
        """The current version of each document (the approved one, else the newest), by key; ``status`` filters
        those."""
        if kind is not None:
            one_of("kind", kind, DOCUMENT_KINDS)
        if status is not None:
            one_of("status", status, DOCUMENT_STATUSES)
        with self._read() as session:
            query = select(AimsDocument)
            if kind is not None:
                query = query.where(AimsDocument.kind == kind)
            rows = list(session.execute(query.order_by(AimsDocument.key, AimsDocument.version)).scalars())
        current: dict[str, AimsDocument] = {}
        for row in rows:
            held = current.get(row.key)
            if held is None or held.status != "approved" or row.status == "approved":
                current[row.key] = row
        return [d for d in current.values() if status is None or d.status == status]

    def history(self, key: str) -> builtins.list[AimsDocument]:
        """Every version of ``key``, oldest first."""
        with self._read() as session:
            rows = _versions(session, key)
        if not rows:
            raise NotFound(f"no document with key {key!r} (see `assay aims document list`)")
        return rows

    def policy(self) -> AimsDocument | None:
        """The AI policy in force (the approved ``ai-policy``), or None."""
        with self._read() as session:
            return session.execute(
                select(AimsDocument).where(AimsDocument.kind == "ai-policy", AimsDocument.status == "approved")
            ).scalar()

    def due_for_review(self, within_days: int = 30, *, today: dt.date | None = None) -> builtins.list[AimsDocument]:
        """Approved versions whose review is due within ``within_days`` (or overdue), soonest first."""
        if not 0 <= within_days <= 3650:
            raise InvalidInput(f"within_days must be from 0 to 3650 (ten years), not {within_days}")
        until = (today or _today()) + dt.timedelta(days=within_days)
        with self._read() as session:
            return list(
                session.execute(
                    select(AimsDocument)
                    .where(AimsDocument.status == "approved", AimsDocument.next_review <= until)
                    .order_by(AimsDocument.next_review, AimsDocument.key)
                ).scalars()
            )

    def counts(self) -> dict[str, int]:
        """How many documents (keys) the register holds per status of their current version."""
        with self._read() as session:
            keys = session.execute(select(func.count(func.distinct(AimsDocument.key)))).scalar_one()
        out = dict.fromkeys(DOCUMENT_STATUSES, 0)
        for document in self.list():
            out[document.status] += 1
        return {"documents": int(keys), **out}
