"""Schedules: a job kind run on a cron expression or an interval, in an explicit time zone.

The fire times are computed by APScheduler's triggers (``CronTrigger.from_crontab``, ``IntervalTrigger``): only
their arithmetic (time zones, daylight saving, crontab fields) is used; the schedules' state (next and last run,
paused) is in our ``schedules`` table, governed like every other record, so that workers in several processes
share it and the ledger records every change (see docs/architecture.md, "Jobs and schedules").

A worker turns a due schedule into a queued job exactly once (the schedule is re-read under the database's write
lock, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and moves ``next_run_at`` to the first fire time after now.
Fire times missed while no worker ran (later than ``ASSAY_SCHEDULE_GRACE_SECONDS``) follow the schedule's
``missed`` policy: ``coalesce`` (the default) runs once now however many were missed; ``skip`` runs none of them
and waits for the next fire time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, func, select

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services import _lookup
from assay.services._base import Service
from assay.services.access import Principal, allowed
from assay.services.jobs import WAKE, canonical_params, handler, new_job
from assay.store.models import Schedule, System, utcnow

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from assay.services.workspace import Workspace

__all__ = [
    "MISSED",
    "ScheduleView",
    "Schedules",
    "change_schedule",
    "create_schedule",
    "fire_due",
    "next_fire_time",
    "trigger",
]

MISSED: Final = ("coalesce", "skip")
MIN_INTERVAL: Final = 60  # seconds
MAX_INTERVAL: Final = 366 * 24 * 3600
_COUNT_LIMIT: Final = 10_000  # missed fire times counted at most (the count is reported, not needed)


def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    if not timezone or not timezone.strip():
        raise InvalidInput("timezone is required: give an IANA name such as Europe/Paris or UTC")
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone {timezone!r} is not an IANA time zone name (e.g. Europe/Paris, UTC)") from None


def trigger(cron: str | None, interval_seconds: int | None, timezone: str, anchor: dt.datetime) -> BaseTrigger:
    """APScheduler's trigger for a schedule (validating each field, named in the error). ``anchor``: where an
    interval counts from (the schedule's creation)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    zone = _zone(timezone)
    if (cron is None) == (interval_seconds is None):
        raise InvalidInput("give a cron expression or an interval in seconds (one of them)")
    if cron is not None:
        if len(cron) > 200:
            raise InvalidInput("cron: the expression is longer than 200 characters")
        try:
            return CronTrigger.from_crontab(cron, timezone=zone)
        except ValueError as exc:
            raise InvalidInput(f"cron {cron!r}: {exc} (5 fields: minute hour day month weekday)") from None
    assert interval_seconds is not None
    if isinstance(interval_seconds, bool) or not MIN_INTERVAL <= interval_seconds <= MAX_INTERVAL:
        raise InvalidInput(
            f"interval_seconds must be {MIN_INTERVAL} to {MAX_INTERVAL} (a year), not {interval_seconds}"
        )
    return IntervalTrigger(seconds=interval_seconds, start_date=anchor, timezone=zone)


def next_fire_time(schedule: Schedule, after: dt.datetime) -> dt.datetime | None:
    """The first fire time strictly after ``after`` (UTC)."""
    fire = _trigger_of(schedule).get_next_fire_time(None, after + dt.timedelta(microseconds=1))
    return None if fire is None else fire.astimezone(dt.UTC)


def _trigger_of(schedule: Schedule) -> BaseTrigger:
    return trigger(schedule.cron, schedule.interval_seconds, schedule.timezone, schedule.created_at)


@dataclass(frozen=True)
class ScheduleView:
    id: int
    system: str
    kind: str
    params: dict[str, Any]
    cron: str | None
    interval_seconds: int | None
    timezone: str
    missed: str
    paused: bool
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None
    last_job_id: int | None
    created_by: str
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _view(schedule: Schedule, system: str) -> ScheduleView:
    return ScheduleView(
        id=schedule.id,
        system=system,
        kind=schedule.kind,
        params=dict(schedule.params or {}),
        cron=schedule.cron,
        interval_seconds=schedule.interval_seconds,
        timezone=schedule.timezone,
        missed=schedule.missed,
        paused=schedule.paused,
        next_run_at=schedule.next_run_at,
        last_run_at=schedule.last_run_at,
        last_job_id=schedule.last_job_id,
        created_by=schedule.created_by,
        created_at=schedule.created_at,
    )


class Schedules(Service):
    """Schedules of a system (``workspace.schedules``): add, list, pause, resume, delete, each audited.
    ``principal``: the user a server request is made by; None, the workspace's own user."""

    def add(
        self,
        system: str,
        kind: str,
        params: Mapping[str, Any] | None = None,
        *,
        cron: str | None = None,
        interval_seconds: int | None = None,
        timezone: str,
        missed: str = "coalesce",
        principal: Principal | None = None,
    ) -> ScheduleView:
        spec = handler(kind)
        if not spec.system:
            raise InvalidInput(f"job kind {kind!r} does not run on an AI system: it cannot be scheduled on one")
        if missed not in MISSED:
            raise InvalidInput(f"missed {missed!r} is not one of {', '.join(MISSED)}")
        clean = canonical_params(params, spec)
        trigger(cron, interval_seconds, timezone, utcnow())  # validate before writing
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            self._require(principal, system, spec.action)
            schedule = create_schedule(
                tx, owner, kind, clean, cron=cron, interval_seconds=interval_seconds, timezone=timezone, missed=missed
            )
        return _view(schedule, system)

    @staticmethod
    def _require(principal: Principal | None, system: str, action: Any) -> None:
        if principal is not None and not allowed(principal, action, system):
            raise PermissionDenied(f"{principal.name} may not {action} on system {system!r} (schedules)")

    def list(
        self, system: str, *, limit: int = 50, offset: int = 0, principal: Principal | None = None
    ) -> tuple[list[ScheduleView], int]:
        """A page of a system's schedules (oldest first; deleted ones left out), and how many there are."""
        if principal is not None and not allowed(principal, "read", system):
            raise NotFound(f"no AI system named {system!r}")
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput(f"limit must be 1-500 and offset 0 or more, not {limit} and {offset}")
        with self.ws.store.read() as session:
            owner = _lookup.system(session, system)
            where: list[ColumnElement[bool]] = [Schedule.system_id == owner.id, Schedule.deleted_at.is_(None)]
            total = session.execute(select(func.count()).select_from(Schedule).where(*where)).scalar_one()
            rows = session.execute(select(Schedule).where(*where).order_by(Schedule.id).limit(limit).offset(offset))
            return [_view(s, system) for s in rows.scalars()], int(total)

    def get(self, system: str, schedule_id: int, *, principal: Principal | None = None) -> ScheduleView:
        if principal is not None and not allowed(principal, "read", system):
            raise NotFound(f"no AI system named {system!r}")
        with self.ws.store.read() as session:
            return _view(self._find(session, system, schedule_id), system)

    @staticmethod
    def _find(session: Any, system: str, schedule_id: int, *, lock: bool = False) -> Schedule:
        owner = _lookup.system(session, system)
        query = select(Schedule).where(
            Schedule.id == schedule_id, Schedule.system_id == owner.id, Schedule.deleted_at.is_(None)
        )
        found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
        if found is None:
            raise NotFound(f"system {system!r} has no schedule with id {schedule_id}")
        return found  # type: ignore[no-any-return]

    def pause(self, system: str, schedule_id: int, *, principal: Principal | None = None) -> ScheduleView:
        return self._change(system, schedule_id, "pause", principal)

    def resume(self, system: str, schedule_id: int, *, principal: Principal | None = None) -> ScheduleView:
        """Resume a paused schedule: it next runs at its first fire time after now (none of the fire times that
        passed while it was paused run)."""
        return self._change(system, schedule_id, "resume", principal)

    def delete(self, system: str, schedule_id: int, *, principal: Principal | None = None) -> ScheduleView:
        """Delete a schedule (kept as deleted: its jobs refer to it); it never runs again."""
        return self._change(system, schedule_id, "delete", principal)

    def _change(self, system: str, schedule_id: int, verb: str, principal: Principal | None) -> ScheduleView:
        if principal is not None and not allowed(principal, "read", system):
            raise NotFound(f"no AI system named {system!r}")
        with self._write() as tx:
            schedule = self._find(tx.session, system, schedule_id, lock=True)
            self._require(principal, system, "write")
            change_schedule(tx, schedule, verb, system)
        return _view(schedule, system)


def create_schedule(
    tx: Any,
    owner: System,
    kind: str,
    params: Mapping[str, Any],
    *,
    cron: str | None,
    interval_seconds: int | None,
    timezone: str,
    missed: str = "coalesce",
) -> Schedule:
    """Add a schedule of ``owner`` inside ``tx`` (what :meth:`Schedules.add` does once it has checked the caller and
    the params, for a use case that writes more in the same transaction: a monitor and its schedule)."""
    if missed not in MISSED:
        raise InvalidInput(f"missed {missed!r} is not one of {', '.join(MISSED)}")
    now = utcnow()
    trigger(cron, interval_seconds, timezone, now)
    schedule = Schedule(
        system_id=owner.id,
        kind=kind,
        params=dict(params),
        cron=cron,
        interval_seconds=interval_seconds,
        timezone=timezone,
        missed=missed,
        paused=False,
        created_by=tx.actor,
        authenticated=tx.authenticated,
        created_at=now,
        updated_at=now,
    )
    schedule.next_run_at = next_fire_time(schedule, now)
    tx.session.add(schedule)
    tx.record(
        "schedule.create", schedule, before=None,
        payload={"system": owner.name, "kind": kind, "cron": cron, "interval_seconds": interval_seconds,
                 "timezone": timezone, "missed": missed},
    )  # fmt: skip
    return schedule


def change_schedule(tx: Any, schedule: Schedule, verb: str, system: str) -> None:
    """Pause, resume or delete ``schedule`` inside ``tx`` (audited); a change that changes nothing is a Conflict."""
    before = schedule.state()
    now = utcnow()
    if verb == "pause":
        if schedule.paused:
            raise Conflict(f"schedule {schedule.id} is already paused")
        schedule.paused, schedule.next_run_at = True, None
    elif verb == "resume":
        if not schedule.paused:
            raise Conflict(f"schedule {schedule.id} is not paused")
        schedule.paused, schedule.next_run_at = False, next_fire_time(schedule, now)
    else:
        schedule.deleted_at, schedule.next_run_at = now, None
    schedule.updated_at = now
    tx.record(f"schedule.{verb}", schedule, before=before, payload={"system": system})


def fire_due(ws: Workspace, grace: float, *, now: dt.datetime | None = None) -> list[int]:
    """Turn every due schedule into a queued job (exactly once, whatever the number of workers) and advance its
    next run, applying its missed-run policy. Returns the ids of the jobs queued."""
    now = now or utcnow()
    with ws.store.read() as session:
        due = session.execute(
            select(Schedule.id, Schedule.created_by, Schedule.authenticated)
            .where(Schedule.next_run_at <= now, Schedule.paused.is_(False), Schedule.deleted_at.is_(None))
            .order_by(Schedule.next_run_at, Schedule.id)
        ).all()
    queued = []
    for schedule_id, creator, authenticated in due:
        with ws.store.write(creator, authenticated=authenticated) as tx:
            schedule = tx.session.execute(
                select(Schedule)
                .where(
                    Schedule.id == schedule_id,
                    Schedule.next_run_at <= now,
                    Schedule.paused.is_(False),
                    Schedule.deleted_at.is_(None),
                )
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if schedule is None:
                continue  # fired by another worker meanwhile
            job_id = _fire(tx, schedule, now, grace)
            if job_id is not None:
                queued.append(job_id)
    if queued:
        WAKE.set()
    return queued


def _fire(tx: Any, schedule: Schedule, now: dt.datetime, grace: float) -> int | None:
    assert schedule.next_run_at is not None
    fire_trigger = _trigger_of(schedule)
    due: list[dt.datetime] = [schedule.next_run_at]
    while len(due) < _COUNT_LIMIT:
        following = fire_trigger.get_next_fire_time(due[-1], due[-1])
        if following is None or following > now:
            break
        if following <= due[-1]:  # guard against a trigger that does not advance
            break
        due.append(following.astimezone(dt.UTC))
    latest = due[-1]
    late = (now - latest).total_seconds() > grace
    missed = len(due) - (0 if late else 1)
    run = schedule.missed == "coalesce" or not late
    before = schedule.state()
    job_id, reason = None, ""
    owner = tx.session.get(System, schedule.system_id)
    if run:
        try:
            spec = handler(schedule.kind)
        except InvalidInput as exc:  # the kind is not registered in this worker: skip, say so in the ledger
            run, reason = False, str(exc)
        else:
            job = new_job(tx, spec, dict(schedule.params or {}), owner, schedule_id=schedule.id)
            tx.session.flush()
            job_id = job.id
    schedule.next_run_at = next_fire_time(schedule, now)
    if job_id is not None:
        schedule.last_run_at, schedule.last_job_id = now, job_id
    payload: dict[str, Any] = {"due": latest.isoformat(), "missed": missed, "policy": schedule.missed, "job_id": job_id}
    if reason:
        payload["reason"] = reason
    tx.record("schedule.fire", schedule, before=before, payload=payload)
    return job_id
