"""``workspace.aims.reminders``: what each person has to do soon, from the store, and the e-mail that tells them.

``ws.aims.reminders(person=None, within_days=30)`` lists, per person, the items due within ``within_days`` or
overdue (each with ``kind``, ``what``, ``due``, ``days_left``, ``overdue`` and ``ref`` ``TYPE:ID``):

=====================  ==========================================================================================
kind                   whose, and when
=====================  ==========================================================================================
``document-review``    an approved document's owner, its ``next_review`` date
``training``           a person holding a role that requires the training: never done (due now), expired, expiring
``evidence``           the owners of the system (its ``owner`` field and its owner members): evidence whose
                       ``valid_until`` falls within the window (or passed within the window's length before today)
``objective``          an active objective's owner, its due date, unless its latest measurement met the target
``corrective-action``  the action's owner, its due date, until done
``nonconformity``      the nonconformity's owner, its due date, until closed
``approval``           the system's approvers, a pending approval request they have not decided (no due date)
=====================  ==========================================================================================

A person sees their own list; an admin, an auditor or a manager (:data:`~assay.governance.aims.MANAGER_ROLES`) may
see anyone's and send them all (``send``: one e-mail per person, through the SMTP settings alerts use). Sending
records nothing: it changes no governed state, and the list can be rebuilt from the store at any time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, select

from assay.errors import InvalidInput, PermissionDenied
from assay.governance.aims import MANAGER_ROLES
from assay.governance.aims_perf import met
from assay.services._base import Service
from assay.services.aims._base import holds
from assay.services.aims.competence import requirements
from assay.services.aims.objectives import action_ref
from assay.services.alerts import send_mail
from assay.store.models import (
    AimsDocument,
    AimsMeasurement,
    AimsObjective,
    ApprovalDecision,
    ApprovalRequest,
    CorrectiveAction,
    Evidence,
    Membership,
    Model,
    ModelVersion,
    Nonconformity,
    System,
    User,
    WorkspaceSetting,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["Reminders", "SendResult"]

_ADDRESS: Final = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class SendResult:
    """One person's e-mail: the address used (None when none is known), how many items, sent or the error."""

    person: str
    address: str | None
    items: int
    sent: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "address": self.address,
            "items": self.items,
            "sent": self.sent,
            "error": self.error,
        }


def _item(
    person: str, kind: str, what: str, due: dt.date | None, ref: str, today: dt.date
) -> tuple[str, dict[str, Any]]:
    days = None if due is None else (due - today).days
    return person, {
        "kind": kind,
        "what": what,
        "due": None if due is None else due.isoformat(),
        "days_left": days,
        "overdue": days is not None and days < 0,
        "ref": ref,
    }


def collect(session: Session, today: dt.date, within_days: int, person: str | None) -> dict[str, list[dict[str, Any]]]:
    """Every reminder due by ``today + within_days`` (or overdue), by person (all people, or only ``person``)."""
    horizon = today + dt.timedelta(days=within_days)
    found: list[tuple[str, dict[str, Any]]] = []

    def mine(column: Any) -> ColumnElement[bool]:
        return column == person if person is not None else column.is_not(None)  # type: ignore[no-any-return]

    for doc in session.execute(
        select(AimsDocument).where(
            AimsDocument.status == "approved", AimsDocument.next_review <= horizon, mine(AimsDocument.owner)
        )
    ).scalars():
        found.append(
            _item(
                doc.owner,
                "document-review",
                f"review {doc.key} v{doc.version}: {doc.title}",
                doc.next_review,
                f"document:{doc.id}",
                today,
            )
        )

    for need in requirements(session, today, within_days, person=person):
        if need["state"] == "current":
            continue
        verb = {"missing": "complete", "expired": "renew (expired)", "expiring": "renew"}[need["state"]]
        due = dt.date.fromisoformat(need["expires_on"]) if need["expires_on"] else None
        found.append(
            _item(
                need["person"],
                "training",
                f"{verb} training {need['training']}: {need['title']} (required as {', '.join(need['roles'])})",
                due,
                f"training:{need['training']}",
                today,
            )
        )

    owners: dict[int, set[str]] = {}
    for system_id, owner in session.execute(select(System.id, System.owner)):
        if owner:
            owners.setdefault(system_id, set()).add(owner)
    for system_id, name in session.execute(
        select(Membership.system_id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.role == "owner", User.active.is_(True))
    ):
        owners.setdefault(system_id, set()).add(name)
    names: dict[int, str] = {row[0]: row[1] for row in session.execute(select(System.id, System.name))}
    earliest = today - dt.timedelta(days=within_days)
    for ev in session.execute(
        select(Evidence).where(
            Evidence.revoked_at.is_(None), Evidence.valid_until >= earliest, Evidence.valid_until <= horizon
        )
    ).scalars():
        for owner in sorted(owners.get(ev.system_id, ())):
            if person is None or owner == person:
                found.append(
                    _item(
                        owner,
                        "evidence",
                        f"evidence {ev.id} for {ev.framework} {ev.control_id} of {names[ev.system_id]} expires",
                        ev.valid_until,
                        f"evidence:{ev.id}",
                        today,
                    )
                )

    objectives = list(
        session.execute(
            select(AimsObjective).where(
                AimsObjective.status == "active", AimsObjective.due_date <= horizon, mine(AimsObjective.owner)
            )
        ).scalars()
    )
    for objective in objectives:
        last = session.execute(
            select(AimsMeasurement.value)
            .where(AimsMeasurement.objective_id == objective.id)
            .order_by(AimsMeasurement.measured_at.desc(), AimsMeasurement.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if met(last, objective.target, objective.direction):  # judged against today's target
            continue
        found.append(
            _item(
                objective.owner,
                "objective",
                f"reach objective {objective.key}: {objective.title}",
                objective.due_date,
                f"objective:{objective.key}",
                today,
            )
        )

    for action in session.execute(
        select(CorrectiveAction).where(
            CorrectiveAction.status != "done", CorrectiveAction.due_date <= horizon, mine(CorrectiveAction.owner)
        )
    ).scalars():
        found.append(
            _item(
                action.owner,
                "corrective-action",
                f"{action.description} (of {action_ref(action)})",
                action.due_date,
                f"corrective-action:{action.id}",
                today,
            )
        )

    for nc in session.execute(
        select(Nonconformity).where(
            Nonconformity.status != "closed", Nonconformity.due_date <= horizon, mine(Nonconformity.owner)
        )
    ).scalars():
        found.append(
            _item(
                nc.owner,
                "nonconformity",
                f"nonconformity {nc.id} ({nc.status}): {nc.title}",
                nc.due_date,
                f"nonconformity:{nc.id}",
                today,
            )
        )

    approvers = select(Membership.system_id, User.name).join(User, User.id == Membership.user_id)
    approvers = approvers.where(Membership.role == "approver", User.active.is_(True))
    if person is not None:
        approvers = approvers.where(User.name == person)
    by_system: dict[int, list[str]] = {}
    for system_id, name in session.execute(approvers):
        by_system.setdefault(system_id, []).append(name)
    if by_system:
        pending = session.execute(
            select(ApprovalRequest, Model.system_id)
            .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
            .join(Model, Model.id == ModelVersion.model_id)
            .where(ApprovalRequest.status == "pending", Model.system_id.in_(list(by_system)))
        ).all()
        decided = {
            (request_id, approver)
            for request_id, approver in session.execute(
                select(ApprovalDecision.request_id, ApprovalDecision.approver).where(
                    ApprovalDecision.request_id.in_([r.id for r, _ in pending] or [-1])
                )
            )
        }
        for request, system_id in pending:
            for name in by_system[system_id]:
                if (request.id, name) not in decided and name != request.requested_by:
                    found.append(
                        _item(
                            name,
                            "approval",
                            f"decide approval request {request.id} of {names[system_id]} to "
                            f"{request.stage} (requested by {request.requested_by})",
                            None,
                            f"approval:{request.id}",
                            today,
                        )
                    )

    lists: dict[str, list[dict[str, Any]]] = {}
    for who, item in found:
        lists.setdefault(who, []).append(item)
    for items in lists.values():  # undated items (to do now) first, then by due date
        items.sort(key=lambda i: (i["due"] is not None, i["due"] or "", i["kind"], i["ref"]))
    return dict(sorted(lists.items()))


def _may_see_everyone(session: Session) -> bool:
    setting = session.get(WorkspaceSetting, "mode")
    if setting is not None and setting.value == "single-user":
        return True
    viewer = session.info.get("viewer")
    if viewer is None:
        return True  # the workspace's own user (no one logged in: reads are not filtered)
    role = session.execute(select(User.role).where(User.name == viewer, User.active.is_(True))).scalar_one_or_none()
    return role in ("admin", "auditor") or holds(session, viewer, MANAGER_ROLES)


def text(person: str, items: list[dict[str, Any]], within_days: int) -> tuple[str, str]:
    """The subject and plain text of one person's reminder e-mail."""
    overdue = sum(1 for i in items if i["overdue"])
    subject = f"[Assay] {len(items)} thing{'s' if len(items) != 1 else ''} to do" + (
        f", {overdue} overdue" if overdue else ""
    )
    lines = [f"Hello {person},", "", f"What the AI management system asks of you in the next {within_days} days:", ""]
    for i in items:
        when = (
            "now"
            if i["due"] is None
            else (f"{-i['days_left']} days overdue" if i["overdue"] else f"due {i['due']} ({i['days_left']} days)")
        )
        if i["due"] is not None and i["overdue"]:
            when += f" (was due {i['due']})"
        lines.append(f"- [{when}] {i['kind']}: {i['what']} ({i['ref']})")
    lines += ["", f"`assay aims reminders --person {person}` lists them again."]
    return subject, "\n".join(lines) + "\n"


class Reminders(Service):
    """Per-person reminders (``ws.aims.reminders(...)``) and their e-mail (``ws.aims.reminders.send(...)``)."""

    def __call__(
        self, person: str | None = None, within_days: int = 30, *, today: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """The reminders of ``person`` (default: the acting user) or, with ``person`` ``"*"``, of everyone who has
        any: a list of ``{"person", "within_days", "items"}`` (a person asked for by name is listed even with no
        items). Someone else's list needs an admin, an auditor or a manager."""
        if not 0 <= within_days <= 3650:
            raise InvalidInput(f"within_days must be from 0 to 3650, not {within_days}")
        day = today or dt.date.today()
        who = self.ws.actor if person is None else person
        with self._read() as session:
            if who != self.ws.actor and not _may_see_everyone(session):
                shown = "everyone's" if who == "*" else f"{who}'s"
                raise PermissionDenied(
                    f"{self.ws.actor} may not see {shown} reminders: an admin, an auditor or a person holding "
                    f"{' or '.join(MANAGER_ROLES)} may"
                )
            lists = collect(session, day, within_days, None if who == "*" else who)
        if who != "*":
            return [{"person": who, "within_days": within_days, "items": lists.get(who, [])}]
        return [{"person": p, "within_days": within_days, "items": items} for p, items in lists.items()]

    def send(
        self,
        *,
        addresses: Mapping[str, str] | None = None,
        domain: str | None = None,
        person: str | None = None,
        within_days: int = 30,
        today: dt.date | None = None,
    ) -> list[SendResult]:
        """E-mail each person with reminders (or only ``person``) their list through the SMTP settings
        (``ASSAY_SMTP_*``). A person's address is ``addresses[person]``, else ``person@domain`` when ``domain`` is
        given; a person without one is reported, not mailed. Never raises for a failed delivery: the results say."""
        if not self.ws.settings.smtp_host:
            raise InvalidInput("ASSAY_SMTP_HOST is not set: reminders cannot be e-mailed (see docs/alerts.md)")
        given = dict(addresses or {})
        for name, given_address in given.items():
            if not _ADDRESS.match(given_address):
                raise InvalidInput(f"address of {name}: {given_address!r} is not an e-mail address (name@example.org)")
        if domain is not None and not re.match(r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", domain):
            raise InvalidInput(f"domain {domain!r} is not a mail domain (example.org)")
        lists = self("*" if person is None else person, within_days, today=today)
        results = []
        for entry in lists:
            name, items = entry["person"], entry["items"]
            if not items:
                continue
            address: str | None = given.get(name) or (f"{name}@{domain}" if domain else None)
            if address is None or not _ADDRESS.match(address):
                results.append(
                    SendResult(name, None, len(items), False, "no e-mail address: give --address or --domain")
                )
                continue
            subject, body = text(name, items, within_days)
            mail = EmailMessage()
            mail["Subject"] = subject
            mail["From"] = self.ws.settings.smtp_from
            mail["To"] = address
            mail.set_content(body)
            _, error = send_mail(self.ws.settings, mail)
            results.append(SendResult(name, address, len(items), error is None, error))
        return results
