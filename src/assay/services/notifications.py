"""``workspace.notifications``: what happened that concerns a person, derived from the audit ledger.

Nothing in Assay has to remember to notify: every change of governed state is a ledger event, and a person's
notifications are the events by someone else on the records that concern them, read with one query over the ledger
(indexed by object) as it is now:

======================================  ======================================================================
event                                   concerns
======================================  ======================================================================
``approval.request``                    the approvers of the request's system
``approval.approve``, ``.reject``       who asked for the approval
``evidence.revoke``                     the owners of the evidence's system
``risk.create``, ``risk.update``        the risk's owner and the owners of its system
``alert.open``                          the owners and overseers of the alert's system
``corrective_action.create``            the action's owner (a task assigned to them)
``aims.nonconformity.open``, ``.update``  the nonconformity's owner
======================================  ======================================================================

Who "concerns" is judged on the records as they are now (the risk's current owner, the system's current owners), so a
person given a system sees its past events too. A system's owners are its owner members and the person its ``owner``
field names. What a person has read and been e-mailed is kept in ``notification_marks`` (not governed: it changes each
time they read, and decides nothing): ``read_seq``, the newest event they marked read, and ``mailed_seq``.

E-mail (:meth:`Notifications.send_email`, run by a worker every ``ASSAY_NOTIFY_EMAIL_SECONDS`` when
``ASSAY_SMTP_HOST`` is set): each person with an address (their own, set on the notifications page, else
``NAME@ASSAY_NOTIFY_DOMAIN``) gets one e-mail with the notifications they have neither read nor been sent, once: the
mark moves before the mail is sent (two workers cannot both send it) and moves back when sending fails (tried again
next time). A person's first mark starts at the ledger's head: nobody is e-mailed the past.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Final

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select, update
from sqlalchemy.orm import Session

from assay.errors import InvalidInput, PermissionDenied
from assay.services._base import Listing, Service
from assay.services.alerts import send_mail
from assay.services.tasks import owned_systems
from assay.store.models import (
    Alert,
    ApprovalRequest,
    AuditEvent,
    CorrectiveAction,
    Evidence,
    Incident,
    Membership,
    Model,
    ModelVersion,
    Nonconformity,
    NotificationMark,
    Risk,
    System,
    User,
    utcnow,
)

__all__ = ["COUNT_MAX", "MAIL_ITEMS", "UNREAD_MAX", "MailResult", "Notifications", "concerning"]

log = logging.getLogger("assay.notifications")
COUNT_MAX: Final = 1000  # a list's total is counted up to this ("1,000 or more": the newest pages are what people read)
UNREAD_MAX: Final = 99  # the header shows "99" for more (counting further costs and says nothing more)
MAIL_ITEMS: Final = 50  # one e-mail lists at most this many (the page has the rest)
_ADDRESS: Final = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _ids(column: Any) -> Any:
    return cast(column, String)


def _member_systems(name: str, roles: Iterable[str]) -> Any:
    return (
        select(Membership.system_id)
        .join(User, User.id == Membership.user_id)
        .where(User.name == name, Membership.role.in_(list(roles)))
    )


class _Event:
    """The columns :func:`concerning` reads, the object's type as an expression (``object_type || ''``): the database
    then walks the ledger newest first by its key and stops at the page's end, instead of collecting every matching
    event through the object index and sorting them (measured: 0.5 s for a person with 17,000 matching events of
    100,000; see benchmarks/tasks_queries.py)."""

    actor = AuditEvent.actor
    action = AuditEvent.action
    object_id = AuditEvent.object_id
    object_type = AuditEvent.object_type + ""


def concerning(name: str) -> ColumnElement[bool]:
    """The SQL condition on :class:`AuditEvent` of the events by others that concern user ``name``."""
    owned = select(System.id).where(owned_systems(name))
    watched = or_(System.id.in_(owned), System.id.in_(_member_systems(name, ("overseer",))))
    event = _Event
    on_requests = (
        select(_ids(ApprovalRequest.id))
        .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
        .join(Model, Model.id == ModelVersion.model_id)
    )
    return and_(
        event.actor != name,
        or_(
            and_(
                event.object_type == "approval_requests",
                event.action == "approval.request",
                event.object_id.in_(on_requests.where(Model.system_id.in_(_member_systems(name, ("approver",))))),
            ),
            and_(
                event.object_type == "approval_requests",
                event.action.in_(("approval.approve", "approval.reject")),
                event.object_id.in_(select(_ids(ApprovalRequest.id)).where(ApprovalRequest.requested_by == name)),
            ),
            and_(
                event.object_type == "evidence",
                event.action == "evidence.revoke",
                event.object_id.in_(select(_ids(Evidence.id)).where(Evidence.system_id.in_(owned))),
            ),
            and_(
                event.object_type == "risks",
                event.action.in_(("risk.create", "risk.update")),
                event.object_id.in_(select(_ids(Risk.id)).where(or_(Risk.owner == name, Risk.system_id.in_(owned)))),
            ),
            and_(
                event.object_type == "alerts",
                event.action == "alert.open",
                event.object_id.in_(
                    select(_ids(Alert.id)).where(Alert.system_id.in_(select(System.id).where(watched)))
                ),
            ),
            and_(
                event.object_type == "corrective_actions",
                event.action == "corrective_action.create",
                event.object_id.in_(select(_ids(CorrectiveAction.id)).where(CorrectiveAction.owner == name)),
            ),
            and_(
                event.object_type == "nonconformities",
                event.action.in_(("aims.nonconformity.open", "aims.nonconformity.update")),
                event.object_id.in_(select(_ids(Nonconformity.id)).where(Nonconformity.owner == name)),
            ),
        ),
    )


def _systems_of(session: Session, events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """The system of each event's object, one query per kind of object present (a page of events, never one each)."""
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.object_id.isdigit():
            wanted.setdefault(e.object_type, set()).add(int(e.object_id))
    queries: dict[str, Any] = {
        "approval_requests": select(ApprovalRequest.id, System.name)
        .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
        .join(Model, Model.id == ModelVersion.model_id)
        .join(System, System.id == Model.system_id),
        "evidence": select(Evidence.id, System.name).join(System, System.id == Evidence.system_id),
        "risks": select(Risk.id, System.name).join(System, System.id == Risk.system_id),
        "alerts": select(Alert.id, System.name).join(System, System.id == Alert.system_id),
        "corrective_actions": select(CorrectiveAction.id, System.name)
        .join(Incident, Incident.id == CorrectiveAction.incident_id)
        .join(System, System.id == Incident.system_id),
    }
    found: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        query = queries.get(kind)
        if query is None:
            continue
        id_column = query.selected_columns[0]
        for ident, system in session.execute(query.where(id_column.in_(sorted(ids)))):
            found[(kind, str(ident))] = system
    return found


def _words(event: AuditEvent, payload: dict[str, Any], system: str | None) -> tuple[str, str]:
    """What happened, in a sentence, and the page that shows it."""
    who, ident, on = event.actor, event.object_id, f" of {system}" if system else ""
    action = event.action
    if action == "approval.request":
        return (
            f"{who} asks for approval to move {payload.get('ref', '')} of {system} to {payload.get('stage', '')}",
            f"/systems/{system}/approvals",
        )
    if action in ("approval.approve", "approval.reject"):
        verb = "approved" if action == "approval.approve" else "rejected"
        status = payload.get("status")
        more = f" (now {status})" if status and status != "pending" else " (more approvals needed)"
        return f"{who} {verb} your approval request {ident}{on}{more}", f"/systems/{system}/approvals"
    if action == "evidence.revoke":
        return f"{who} revoked evidence {ident}{on}", f"/systems/{system}/controls"
    if action == "risk.create":
        return f"{who} added risk {ident}{on}", f"/systems/{system}/risks"
    if action == "risk.update":
        changed = ", ".join(payload.get("changed", ())) or "it"
        return f"{who} changed risk {ident}{on}: {changed}", f"/systems/{system}/risks"
    if action == "alert.open":
        what = " ".join(str(payload.get(k, "")) for k in ("kind", "subject")).strip()
        return f"alert {ident} raised{on}: {what} ({payload.get('severity', '')})", f"/systems/{system}/monitoring"
    if action == "corrective_action.create":
        link = f"/systems/{system}/incidents" if system else "/aims/nonconformities"
        return f"{who} assigned you corrective action {ident}{on}", link
    if action.startswith("aims.nonconformity."):
        verb = "opened" if action.endswith(".open") else "changed"
        return f"{who} {verb} nonconformity {ident}, which you own", "/aims/nonconformities"
    return f"{who}: {action} {event.object_type} {ident}", "/"


@dataclass(frozen=True)
class MailResult:
    """One person's e-mail of notifications: the address, how many, sent or the error."""

    person: str
    address: str
    items: int
    sent: bool
    error: str | None = None


class Notifications(Service):
    """The acting user's notifications (``ws.notifications.list()``, ``.unread()``, ``.mark_read()``), their e-mail
    address for them, and the e-mail of everyone's new ones (:meth:`send_email`)."""

    def _user(self, session: Session) -> User:
        name = self.ws.viewer or self.ws.actor
        user = session.execute(select(User).where(User.name == name, User.active.is_(True))).scalar_one_or_none()
        if user is None:
            raise PermissionDenied(f"{name} is not an active user: notifications are a user's own")
        return user

    @staticmethod
    def _mark(session: Session, user_id: int) -> NotificationMark | None:
        return session.get(NotificationMark, user_id)

    def list(self, *, limit: int = 50, offset: int = 0, unread_only: bool = False) -> Listing[dict[str, Any]]:
        """The acting user's notifications, newest first, ``limit`` of them from ``offset`` (paged in the database),
        each with whether it is unread; ``total`` counted up to :data:`COUNT_MAX` + 1."""
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput(f"limit must be 1 to 500 and offset 0 or more, not {limit} and {offset}")
        with self._read() as session:
            user = self._user(session)
            mark = self._mark(session, user.id)
            read = 0 if mark is None else mark.read_seq
            where = concerning(user.name)
            if unread_only:
                where = and_(where, AuditEvent.seq > read)
            events = list(
                session.execute(
                    select(AuditEvent).where(where).order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
                ).scalars()
            )
            if offset == 0 and len(events) < limit:  # all of them on this page: no second walk to count them
                total = len(events)
            else:
                counted = select(AuditEvent.seq).where(where).order_by(AuditEvent.seq.desc()).limit(COUNT_MAX + 1)
                total = session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
            return Listing(_shown(session, events, read), total)

    def unread(self, *, after: int = 0, up_to: int | None = None) -> int:
        """How many notifications the acting user has not marked read (at most :data:`UNREAD_MAX` + 1 counted),
        of the events after ``after`` and up to ``up_to`` (a caller that counted up to a ledger head before adds the
        events since: :mod:`assay.server.web_cache`)."""
        with self._read() as session:
            user = self._user(session)
            mark = self._mark(session, user.id)
            read = max(after, 0 if mark is None else mark.read_seq)
            where = and_(concerning(user.name), AuditEvent.seq > read)
            if up_to is not None:
                where = and_(where, AuditEvent.seq <= up_to)
            found = select(AuditEvent.seq).where(where).order_by(AuditEvent.seq.desc()).limit(UNREAD_MAX + 1)
            count: int = session.execute(select(func.count()).select_from(found.subquery())).scalar_one()
            return count

    def mark_read(self, up_to: int | None = None) -> int:
        """Mark every notification up to event ``up_to`` (default: the ledger's head) read; returns that seq."""
        with self.ws.store.write(self.ws.actor, authenticated=self.ws.authenticated) as tx:
            tx.session.info["viewer"] = self.ws.viewer
            user = self._user(tx.session)
            head = tx.session.execute(select(func.max(AuditEvent.seq))).scalar_one() or 0
            seq = head if up_to is None else max(0, min(up_to, head))
            mark = self._mark(tx.session, user.id)
            if mark is None:
                tx.session.add(NotificationMark(user_id=user.id, read_seq=seq, mailed_seq=head))
            elif seq > mark.read_seq:
                mark.read_seq, mark.updated_at = seq, utcnow()
            return seq

    def address(self) -> dict[str, Any]:
        """Where the acting user's notifications are e-mailed: ``{"email", "own", "enabled"}``."""
        with self._read() as session:
            user = self._user(session)
            mark = self._mark(session, user.id)
            own = None if mark is None else mark.email
            return {"email": self._address_of(user.name, own), "own": own is not None, "enabled": self._enabled()}

    def _enabled(self) -> bool:
        return bool(self.ws.settings.smtp_host) and self.ws.settings.notify_email_seconds > 0

    def _address_of(self, name: str, own: str | None) -> str | None:
        if own:
            return own
        domain = self.ws.settings.notify_domain
        candidate = f"{name}@{domain}" if domain else None
        return candidate if candidate and _ADDRESS.match(candidate) else None

    def set_address(self, email: str | None) -> str | None:
        """The acting user's own address for notifications (empty: none of their own, the mail domain's if set)."""
        value = (email or "").strip() or None
        if value is not None and (len(value) > 320 or not _ADDRESS.match(value)):
            raise InvalidInput(
                f"email: {value[:60]!r} is not an e-mail address (name@example.org)",
                fields={"email": "name@example.org"},
            )
        with self.ws.store.write(self.ws.actor, authenticated=self.ws.authenticated) as tx:
            tx.session.info["viewer"] = self.ws.viewer
            user = self._user(tx.session)
            mark = self._mark(tx.session, user.id)
            if mark is None:
                head = tx.session.execute(select(func.max(AuditEvent.seq))).scalar_one() or 0
                tx.session.add(NotificationMark(user_id=user.id, read_seq=0, mailed_seq=head, email=value))
            else:
                mark.email, mark.updated_at = value, utcnow()
        return value

    # -- e-mail ------------------------------------------------------------------------------------------------

    def send_email(self) -> builtins.list[MailResult]:
        """E-mail every active user with an address the notifications they have neither read nor been sent (at
        most :data:`MAIL_ITEMS` listed), once. Needs ``ASSAY_SMTP_HOST``; the workspace's own user or an admin (a
        worker runs it as the workspace's user). Never raises for a failed delivery: the results say."""
        if not self.ws.settings.smtp_host:
            raise InvalidInput("ASSAY_SMTP_HOST is not set: notifications cannot be e-mailed (see docs/web.md)")
        with self._read() as session:
            if self.ws.viewer is not None:
                role = session.execute(select(User.role).where(User.name == self.ws.viewer)).scalar_one_or_none()
                if role != "admin":
                    raise PermissionDenied(f"{self.ws.viewer} may not e-mail everyone's notifications: an admin may")
            users = list(session.execute(select(User).where(User.active.is_(True)).order_by(User.id)).scalars())
            marks = {
                m.user_id: m
                for m in session.execute(
                    select(NotificationMark).where(NotificationMark.user_id.in_([u.id for u in users] or [-1]))
                ).scalars()
            }
        results = []
        for user in users:
            mark = marks.get(user.id)
            address = self._address_of(user.name, None if mark is None else mark.email)
            if address is None:
                continue
            result = self._send_one(user, address)
            if result is not None:
                results.append(result)
        return results

    def _send_one(self, user: User, address: str) -> MailResult | None:
        store = self.ws.store
        with store.write(self.ws.actor) as tx:  # claim: move the mark first, so that no other worker sends it too
            session = tx.session
            mark = session.execute(
                select(NotificationMark).where(NotificationMark.user_id == user.id).with_for_update()
            ).scalar_one_or_none()
            head = session.execute(select(func.max(AuditEvent.seq))).scalar_one() or 0
            if mark is None:  # first seen: start from now (nobody is e-mailed the past)
                session.add(NotificationMark(user_id=user.id, read_seq=0, mailed_seq=head))
                return None
            start = max(mark.mailed_seq, mark.read_seq)
            where = and_(concerning(user.name), AuditEvent.seq > start)
            newest = session.execute(select(func.max(AuditEvent.seq)).where(where)).scalar_one()
            if newest is None:
                return None
            total = session.execute(select(func.count()).select_from(AuditEvent).where(where)).scalar_one()
            events = list(
                session.execute(
                    select(AuditEvent).where(where).order_by(AuditEvent.seq.desc()).limit(MAIL_ITEMS)
                ).scalars()
            )
            items = _shown(session, events, start)
            before = mark.mailed_seq
            mark.mailed_seq, mark.updated_at = newest, utcnow()
        mail = EmailMessage()
        mail["Subject"] = f"[Assay] {total} new notification{'s' if total != 1 else ''}"
        mail["From"] = self.ws.settings.smtp_from
        mail["To"] = address
        mail.set_content(_mail_text(user.name, items, total, self.ws.settings.public_url))
        _, error = send_mail(self.ws.settings, mail)
        if error is not None:  # give the claim back: tried again next time
            with store.write(self.ws.actor) as tx:
                tx.session.execute(
                    update(NotificationMark)
                    .where(NotificationMark.user_id == user.id, NotificationMark.mailed_seq == newest)
                    .values(mailed_seq=before)
                )
            log.warning("notifications for %s not e-mailed: %s", user.name, error)
        return MailResult(user.name, address, total, error is None, error)


def _shown(session: Session, events: list[AuditEvent], read: int) -> list[dict[str, Any]]:
    systems = _systems_of(session, events)
    shown = []
    for e in events:
        try:
            payload = json.loads(e.payload)
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        system = systems.get((e.object_type, e.object_id)) or payload.get("system")
        text, link = _words(e, payload, system)
        shown.append(
            {
                "seq": e.seq,
                "time": e.time,
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "system": system,
                "text": text,
                "link": link,
                "unread": e.seq > read,
            }
        )
    return shown


def _mail_text(person: str, items: list[dict[str, Any]], total: int, base: str | None) -> str:
    root = (base or "").rstrip("/")
    lines = [f"Hello {person},", "", "New in Assay since you last looked:", ""]
    for item in items:
        when = dt.datetime.fromisoformat(item["time"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"- {when}: {item['text']} ({root}{item['link']})")
    if total > len(items):
        lines.append(f"- and {total - len(items)} more")
    lines += ["", f"All of them: {root}/notifications"]
    return "\n".join(lines) + "\n"
