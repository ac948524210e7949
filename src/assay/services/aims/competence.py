"""``workspace.aims.competence``: competence and awareness (ISO/IEC 42001 7.2, 7.3): the training catalogue, which
roles each training is required for, people's training records (by hand or imported from CSV), and the gap list.

A training is required for roles: governance roles (:data:`~assay.governance.aims.GOVERNANCE_ROLES`, held for the
organisation or a system, ``assay aims role``) and system access roles (:data:`~assay.services.access.SYSTEM_ROLES`:
owner, approver, reviewer, ... of any system). A role name that is both (approver, reviewer) matches either. The
people concerned are the active users holding such a role today; for each of their required trainings the newest
record (latest completion) decides: ``missing`` (never done), ``expired``, ``expiring`` (within the days asked
about) or ``current``.

Training records are kept by a manager (:func:`~assay.services.aims._base.require_manager`) or a person holding the
``training-coordinator`` governance role for the organisation.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.aims import GOVERNANCE_ROLES
from assay.governance.aims_perf import (
    TRAINING_COLUMNS,
    TRAINING_REQUIRED_COLUMNS,
    TrainingRecordSpec,
    TrainingSpec,
    TrainingUpdate,
    add_months,
    training_state,
)
from assay.governance.records import coerce, updates
from assay.services._base import Service
from assay.services.access import SYSTEM_ROLES
from assay.services.aims._base import holds, require_manager, require_person
from assay.store.models import AimsRole, AimsTraining, AimsTrainingRecord, Membership, User, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["REQUIRABLE_ROLES", "Competence", "requirements"]

REQUIRABLE_ROLES: Final = tuple(dict.fromkeys((*GOVERNANCE_ROLES, *SYSTEM_ROLES)))
TRAINER_ROLES: Final = ("training-coordinator",)
MAX_IMPORT_ERRORS: Final = 10  # problems named in one error message (the count says how many in all)


def _roles(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in REQUIRABLE_ROLES]
    if unknown:
        raise InvalidInput(
            f"required_for: unknown role {unknown[0]!r} (governance roles: {', '.join(GOVERNANCE_ROLES)}; system "
            f"roles: {', '.join(SYSTEM_ROLES)})"
        )
    return list(dict.fromkeys(values))


def _training(session: Session, code: str, *, lock: bool = False) -> AimsTraining:
    query = select(AimsTraining).where(AimsTraining.code == code)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        codes = list(session.execute(select(AimsTraining.code).order_by(AimsTraining.code)).scalars())
        known = f"the trainings are {', '.join(codes)}" if codes else "the catalogue is empty"
        raise NotFound(f"no training {code!r} ({known}; `assay aims training add`)")
    return found


def _require_trainer(tx: Transaction, what: str) -> None:
    if tx.authenticated and holds(tx.session, tx.actor, TRAINER_ROLES):
        return
    require_manager(tx, what)


def holders(session: Session, day: dt.date) -> dict[str, set[str]]:
    """The roles each active user holds on ``day``: governance roles (organisation or system) and system roles."""
    active = set(session.execute(select(User.name).where(User.active.is_(True))).scalars())
    roles: dict[str, set[str]] = {}
    for row in session.execute(select(AimsRole).where(AimsRole.status == "active")).scalars():
        if row.person in active and row.since <= day and (row.until is None or day <= row.until):
            roles.setdefault(row.person, set()).add(row.role)
    memberships = session.execute(
        select(User.name, Membership.role).join(Membership, Membership.user_id == User.id).where(User.active.is_(True))
    )
    for name, role in memberships:
        roles.setdefault(name, set()).add(role)
    return roles


def requirements(
    session: Session, today: dt.date, within_days: int, *, person: str | None = None
) -> list[dict[str, Any]]:
    """Every (person, required training) of the people holding roles, with its state (missing, expired,
    expiring within ``within_days``, current) from the person's newest record of it; by person, then code."""
    trainings = list(
        session.execute(
            select(AimsTraining).where(AimsTraining.status == "active").order_by(AimsTraining.code)
        ).scalars()
    )
    people = holders(session, today)
    if person is not None:
        people = {person: people.get(person, set())}
    newest: dict[tuple[str, int], AimsTrainingRecord] = {}
    query = select(AimsTrainingRecord).order_by(AimsTrainingRecord.completed_on, AimsTrainingRecord.id)
    if person is not None:
        query = query.where(AimsTrainingRecord.person == person)
    for record in session.execute(query).scalars():
        newest[(record.person, record.training_id)] = record  # the last completion wins
    rows = []
    for name in sorted(people):
        for training in trainings:
            because = sorted(set(training.required_for) & people[name])
            if not because:
                continue
            last = newest.get((name, training.id))
            expires = None if last is None else last.expires_on
            state = "missing" if last is None else training_state(expires, today, within_days)
            rows.append(
                {
                    "person": name,
                    "training": training.code,
                    "title": training.title,
                    "roles": because,
                    "state": state,
                    "completed_on": None if last is None else last.completed_on.isoformat(),
                    "expires_on": None if expires is None else expires.isoformat(),
                    "days_left": None if expires is None else (expires - today).days,
                    "record_id": None if last is None else last.id,
                }
            )
    return rows


class Competence(Service):
    """The training catalogue, training records and the gap list."""

    # -- the catalogue ----------------------------------------------------------------------------------------

    def add_training(self, spec: TrainingSpec | Mapping[str, Any]) -> AimsTraining:
        """Add a training to the catalogue (a manager's change)."""
        valid = coerce(TrainingSpec, spec, "training")
        fields = valid.model_dump()
        fields["required_for"] = _roles(valid.required_for)
        with self._write() as tx:
            require_manager(tx, "add a training")
            if tx.session.execute(select(AimsTraining.id).where(AimsTraining.code == valid.code)).first():
                raise Conflict(f"training {valid.code!r} exists: change it with `assay aims training update`")
            now = utcnow()
            training = AimsTraining(**fields, status="active", created_by=tx.actor, created_at=now, updated_at=now)
            tx.session.add(training)
            tx.record("aims.training.add", training, before=None, payload={"code": valid.code})
        return training

    def update_training(self, code: str, changes: TrainingUpdate | Mapping[str, Any]) -> AimsTraining:
        """Change a training (``validity_months`` None: it no longer expires; records already kept keep their
        expiry)."""
        update, given = updates(TrainingUpdate, changes, f"changes to training {code}")
        if "required_for" in given:
            given["required_for"] = _roles(update.required_for or [])
        if "title" in given and given["title"] is None:
            raise InvalidInput("title cannot be emptied")
        with self._write() as tx:
            require_manager(tx, "change a training")
            training = _training(tx.session, code, lock=True)
            if training.status == "retired":
                raise Conflict(f"training {code!r} is retired: add a new one")
            before = training.state()
            for field, value in given.items():
                setattr(training, field, "" if value is None and field == "description" else value)
            training.updated_at = utcnow()
            tx.record("aims.training.update", training, before=before, payload={"code": code, "fields": sorted(given)})
        return training

    def retire_training(self, code: str, *, reason: str = "") -> AimsTraining:
        """Retire a training: kept with its records, no longer required or recordable."""
        with self._write() as tx:
            require_manager(tx, "retire a training")
            training = _training(tx.session, code, lock=True)
            if training.status == "retired":
                raise Conflict(f"training {code!r} is already retired")
            before = training.state()
            training.status = "retired"
            training.updated_at = utcnow()
            tx.record("aims.training.retire", training, before=before, payload={"code": code, "reason": reason})
        return training

    def trainings(self, *, include_retired: bool = False) -> list[AimsTraining]:
        with self._read() as session:
            query = select(AimsTraining).order_by(AimsTraining.code)
            if not include_retired:
                query = query.where(AimsTraining.status == "active")
            return list(session.execute(query).scalars())

    def training(self, code: str) -> AimsTraining:
        with self._read() as session:
            return _training(session, code)

    # -- records ----------------------------------------------------------------------------------------------

    def record(self, spec: TrainingRecordSpec | Mapping[str, Any], *, source: str = "cli") -> AimsTrainingRecord:
        """Record that a person completed a training; ``expires_on`` defaults to the completion date plus the
        training's validity. The same person, training and date twice is a conflict."""
        valid = coerce(TrainingRecordSpec, spec, "training record")
        if valid.expires_on is not None and valid.expires_on < valid.completed_on:
            raise InvalidInput(f"expires_on {valid.expires_on} is before completed_on {valid.completed_on}")
        if valid.completed_on > dt.date.today():
            raise InvalidInput(f"completed_on {valid.completed_on} is in the future")
        with self._write() as tx:
            _require_trainer(tx, "record a training")
            require_person(tx.session, "person", valid.person)
            training = _training(tx.session, valid.training)
            if training.status == "retired":
                raise Conflict(f"training {training.code!r} is retired: it cannot be recorded")
            if self._exists(tx.session, valid.person, training.id, valid.completed_on):
                raise Conflict(f"{valid.person} already has {training.code} recorded on {valid.completed_on}")
            record = self._add(tx, training, valid, source)
        return record

    @staticmethod
    def _exists(session: Session, person: str, training_id: int, completed_on: dt.date) -> bool:
        query = select(AimsTrainingRecord.id).where(
            AimsTrainingRecord.person == person,
            AimsTrainingRecord.training_id == training_id,
            AimsTrainingRecord.completed_on == completed_on,
        )
        return session.execute(query).first() is not None

    @staticmethod
    def _add(tx: Transaction, training: AimsTraining, valid: TrainingRecordSpec, source: str) -> AimsTrainingRecord:
        expires = valid.expires_on
        if expires is None and training.validity_months is not None:
            expires = add_months(valid.completed_on, training.validity_months)
        record = AimsTrainingRecord(
            training_id=training.id,
            person=valid.person,
            completed_on=valid.completed_on,
            score=valid.score,
            expires_on=expires,
            evidence=valid.evidence,
            source=source,
            recorded_by=tx.actor,
            created_at=utcnow(),
        )
        tx.session.add(record)
        tx.record(
            "aims.training.record",
            record,
            before=None,
            payload={"person": valid.person, "training": training.code, "source": source},
        )
        return record

    def records(self, *, person: str | None = None, training: str | None = None) -> list[dict[str, Any]]:
        """Training records (newest completion first), each with its training's code."""
        with self._read() as session:
            query = (
                select(AimsTrainingRecord, AimsTraining.code)
                .join(AimsTraining, AimsTraining.id == AimsTrainingRecord.training_id)
                .order_by(AimsTrainingRecord.completed_on.desc(), AimsTrainingRecord.id.desc())
            )
            if person is not None:
                query = query.where(AimsTrainingRecord.person == person)
            if training is not None:
                query = query.where(AimsTraining.code == _training(session, training).code)
            return [{**record.state(), "training": code} for record, code in session.execute(query)]

    def import_csv(self, path: Path | str) -> dict[str, Any]:
        """Import training records from a CSV file (columns person, training, completed_on, and optionally score,
        expires_on, evidence). Every row is checked first; one bad row refuses the whole file (the error names the
        row, counting the header as row 1 as a spreadsheet does, and the column). A row already recorded (same
        person, training and date) is skipped. Returns how many rows were recorded and skipped."""
        file = Path(path)
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                header = [h.strip() for h in (reader.fieldnames or [])]
                rows = [(n, row) for n, row in enumerate(reader, start=2)]
        except FileNotFoundError:
            raise InvalidInput(f"{file}: no such file") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InvalidInput(f"{file}: not a UTF-8 CSV file ({exc})") from None
        unknown = [h for h in header if h not in TRAINING_COLUMNS]
        missing = [c for c in TRAINING_REQUIRED_COLUMNS if c not in header]
        if unknown or missing:
            problem = f"unknown column {unknown[0]!r}" if unknown else f"missing column {missing[0]!r}"
            raise InvalidInput(f"{file}: {problem} (columns: {', '.join(TRAINING_COLUMNS)}; the first three required)")
        if not rows:
            raise InvalidInput(f"{file}: no rows below the header")
        with self._write() as tx:
            _require_trainer(tx, "import training records")
            users = set(tx.session.execute(select(User.name)).scalars())
            catalogue = {t.code: t for t in tx.session.execute(select(AimsTraining)).scalars()}
            valid, problems = self._check_rows(rows, users, catalogue)
            if problems:
                shown = "; ".join(problems[:MAX_IMPORT_ERRORS])
                more = f" (and {len(problems) - MAX_IMPORT_ERRORS} more)" if len(problems) > MAX_IMPORT_ERRORS else ""
                raise InvalidInput(f"{file}: nothing was imported: {shown}{more}")
            recorded = skipped = 0
            for spec in valid:
                training = catalogue[spec.training]
                if self._exists(tx.session, spec.person, training.id, spec.completed_on):
                    skipped += 1
                    continue
                self._add(tx, training, spec, "csv")
                recorded += 1
        return {"file": str(file), "rows": len(rows), "recorded": recorded, "skipped": skipped}

    @staticmethod
    def _check_rows(
        rows: list[tuple[int, dict[str, Any]]], users: set[str], catalogue: Mapping[str, AimsTraining]
    ) -> tuple[list[TrainingRecordSpec], list[str]]:
        today = dt.date.today()
        problems: list[str] = []
        valid: list[TrainingRecordSpec] = []
        seen: dict[tuple[str, str, dt.date], int] = {}
        for number, raw in rows:
            if None in raw:
                problems.append(f"row {number}: more cells than columns")
                continue
            cells = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            errors: list[str] = []

            def bad(column: str, message: str, errors: list[str] = errors, number: int = number) -> None:
                errors.append(f"row {number}, column {column}: {message}")

            person, code = cells.get("person", ""), cells.get("training", "")
            if not person:
                bad("person", "empty")
            elif person not in users:
                bad("person", f"no user named {person!r}")
            training = catalogue.get(code)
            if not code:
                bad("training", "empty")
            elif training is None:
                bad("training", f"no training {code!r} in the catalogue ({', '.join(sorted(catalogue)) or 'empty'})")
            elif training.status == "retired":
                bad("training", f"training {code!r} is retired")
            dates: dict[str, dt.date | None] = {}
            for column in ("completed_on", "expires_on"):
                text = cells.get(column, "")
                dates[column] = None
                if not text:
                    if column == "completed_on":
                        bad(column, "empty")
                    continue
                try:
                    dates[column] = dt.date.fromisoformat(text)
                except ValueError:
                    bad(column, f"{text!r} is not a date (YYYY-MM-DD)")
            completed, expires = dates["completed_on"], dates["expires_on"]
            if completed is not None and completed > today:
                bad("completed_on", f"{completed} is in the future")
            if completed is not None and expires is not None and expires < completed:
                bad("expires_on", f"{expires} is before completed_on {completed}")
            score: float | None = None
            if cells.get("score"):
                try:
                    score = float(cells["score"])
                except ValueError:
                    bad("score", f"{cells['score']!r} is not a number")
                else:
                    if not math.isfinite(score) or score < 0:
                        bad("score", f"{cells['score']!r} must be a number from 0")
            evidence = cells.get("evidence", "")
            if len(evidence) > 1000:
                bad("evidence", "longer than 1000 characters")
            if not errors and completed is not None:
                key = (person, code, completed)
                if key in seen:
                    bad("completed_on", f"the same person, training and date as row {seen[key]}")
                seen[key] = number
            if errors:
                problems.extend(errors)
                continue
            assert completed is not None
            valid.append(
                TrainingRecordSpec(
                    person=person,
                    training=code,
                    completed_on=completed,
                    score=score,
                    expires_on=expires,
                    evidence=evidence,
                )
            )
        return valid, problems

    # -- gaps -------------------------------------------------------------------------------------------------

    def required(
        self, *, person: str | None = None, within_days: int = 30, today: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """Every required training of the people holding roles (or of ``person``) with its state."""
        if not 0 <= within_days <= 3650:
            raise InvalidInput(f"within_days must be from 0 to 3650, not {within_days}")
        with self._read() as session:
            return requirements(session, today or dt.date.today(), within_days, person=person)

    def gaps(
        self, *, within_days: int = 30, person: str | None = None, today: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """Who lacks which required training (``missing``: never done, ``expired``) and what expires within
        ``within_days`` (``expiring``); by person, then training."""
        return [
            r for r in self.required(person=person, within_days=within_days, today=today) if r["state"] != "current"
        ]
