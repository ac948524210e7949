"""Background jobs: a queue in the governance database, handlers registered by kind, and the workers that run them.

A job is a registered handler (``kind``) with its ``params``, usually on one AI system. Its state lives in the
``jobs`` table (governed: submit, start, cancel request and end are audit events); what changes while it runs
(progress, stage, the log of its stages, the worker's heartbeat) lives in ``job_progress``, which is not governed.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled`` (a queued job can be cancelled at
once; a running one is asked to stop and stops at its next progress report).

A handler is ``fn(ctx: JobContext, params: dict) -> dict | None``, registered with :func:`register_handler`. Its
result (a JSON object, e.g. ``{"assessment_id": 3}``) is kept with the job. An :class:`~assay.errors.AssayError`
fails the job with its message, as the command line would print it; any other exception fails it with
``"<Type>: message"`` and the traceback goes to the log (logger ``assay.jobs``), never into the job.

Claiming is safe with several workers in several processes: a worker claims the oldest queued job in a write
transaction (SQLite: the database's write lock, ``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE SKIP
LOCKED`` inside the ledger's write lock), so each job runs exactly once. A job left ``running`` by a worker that
died is failed by the next worker that looks (:func:`reap`). See docs/jobs.md.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, Connection, func, or_, select, update

from assay.errors import AssayError, Cancelled, Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services import _lookup
from assay.services._base import Service
from assay.services.access import Action, Principal, allowed
from assay.store.db import WRITE_OPTION
from assay.store.ledger import canonical_json
from assay.store.models import Job, JobProgress, System, utcnow

if TYPE_CHECKING:
    from assay.services.workspace import Workspace
    from assay.store.database import Transaction

__all__ = [
    "FINISHED",
    "LOST_REASON",
    "STATES",
    "STOPPED_REASON",
    "HandlerSpec",
    "JobCancelled",
    "JobContext",
    "JobView",
    "Jobs",
    "claim",
    "handler",
    "known_kinds",
    "reap",
    "register_handler",
    "run_next",
    "unregister_handler",
    "worker_id",
]

log = logging.getLogger("assay.jobs")

STATES: Final = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED: Final = frozenset({"succeeded", "failed", "cancelled"})
LOST_REASON: Final = "the worker stopped (server restarted?) while this job ran"
STOPPED_REASON: Final = "the worker was shut down while this job ran; submit it again"
LOG_ENTRIES: Final = 100  # the stage log keeps the last this many entries
MAX_PARAMS_BYTES: Final = 64 * 1024
PROGRESS_EVERY: Final = 0.5  # seconds between progress writes and cancel checks (a new stage is always written)


class JobCancelled(Cancelled):
    """Raised by :meth:`JobContext.progress` when the job was cancelled (or its worker is stopping): the handler
    lets it pass, and the job ends ``cancelled`` (or ``failed`` with the reason, when its worker stopped)."""


# -- the handler registry -----------------------------------------------------------------------------------------

Handler = Callable[["JobContext", dict[str, Any]], Mapping[str, Any] | None]
"""``fn(ctx, params) -> result``: runs the job; ``result`` is a JSON object (or None) kept with the job."""


@dataclass(frozen=True)
class HandlerSpec:
    """A registered job kind.

    ``action``: what the requester must be allowed to do on the job's system to submit it (and to cancel it,
    unless they requested it); ``system``: whether a job of this kind belongs to an AI system (required then);
    ``validate``: checks and normalises the params at submit time (raise InvalidInput naming the field)."""

    kind: str
    run: Handler
    action: Action = "write"
    system: bool = True
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    description: str = ""


_HANDLERS: dict[str, HandlerSpec] = {}
_HANDLERS_LOCK = threading.Lock()


def register_handler(
    kind: str,
    run: Handler,
    *,
    action: Action = "write",
    system: bool = True,
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    description: str = "",
) -> HandlerSpec:
    """Register (or replace) the handler of job kind ``kind`` in this process. Every process that submits jobs
    of the kind, and every worker that runs them, must register it (e.g. where the kind is defined)."""
    if not kind or len(kind) > 100 or not kind.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise InvalidInput(f"job kind {kind!r}: use 1-100 letters, digits, '.', '_' or '-'")
    spec = HandlerSpec(kind, run, action, system, validate, description)
    with _HANDLERS_LOCK:
        _HANDLERS[kind] = spec
    return spec


def unregister_handler(kind: str) -> None:
    with _HANDLERS_LOCK:
        _HANDLERS.pop(kind, None)


_BUILTIN: list[bool] = []


def _builtin() -> None:
    """Register Assay's own job kinds once per process: every compute kind (:mod:`assay.services.kinds`) and the
    monitor run (:mod:`assay.services.monitors`), the oversight report (:mod:`assay.services.oversight`) and the
    explanation of single decisions (:mod:`assay.services.decisions`)."""
    if _BUILTIN:
        return
    from assay.services.decisions import register_explanation_handler
    from assay.services.monitors import register_monitor_handler
    from assay.services.oversight import register_oversight_handler
    from assay.services.runs import register_compute_handlers

    with _HANDLERS_LOCK:
        if _BUILTIN:
            return
        _BUILTIN.append(True)
    register_compute_handlers(register_handler)
    register_monitor_handler(register_handler)
    register_oversight_handler(register_handler)
    register_explanation_handler(register_handler)


def known_kinds() -> list[str]:
    _builtin()
    with _HANDLERS_LOCK:
        return sorted(_HANDLERS)


def handler(kind: str) -> HandlerSpec:
    """The handler of ``kind``; an unknown kind is InvalidInput naming the known ones."""
    _builtin()
    with _HANDLERS_LOCK:
        spec = _HANDLERS.get(kind)
    if spec is None:
        known = ", ".join(known_kinds()) or "none are registered in this process"
        raise InvalidInput(f"unknown job kind {kind!r} (known: {known})")
    return spec


def canonical_params(params: Mapping[str, Any] | None, spec: HandlerSpec) -> dict[str, Any]:
    """The params as plain JSON (validated by the handler's ``validate``), bounded in size."""
    value = dict(params or {})
    if spec.validate is not None:
        value = spec.validate(value)
    try:
        encoded = canonical_json(value)
    except InvalidInput:
        raise InvalidInput(
            f"params of job kind {spec.kind!r} are not plain JSON (text, numbers, lists, objects)"
        ) from None
    if len(encoded) > MAX_PARAMS_BYTES:
        raise InvalidInput(
            f"params of job kind {spec.kind!r} are {len(encoded)} bytes: the limit is {MAX_PARAMS_BYTES}"
        )
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded


def _test_sleep(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """The test hook's handler: ``seconds`` of sleep in tenths, reporting progress (stops when cancelled)."""
    seconds = float(params.get("seconds", 1))
    steps = max(1, int(seconds * 10))
    for step in range(steps):
        ctx.progress(step / steps, "sleeping")
        time.sleep(seconds / steps)
    ctx.progress(1.0, "done")
    return {"slept": seconds}


def register_test_handlers() -> None:
    """Test hook (``ASSAY_TEST_HANDLERS=1``): the job kind ``test.sleep``, for tests that need a job still running
    in a real server process (e.g. killed mid-job). Never needed otherwise."""
    register_handler("test.sleep", _test_sleep, action="write", description="sleep (a test hook)")


# -- who and where ------------------------------------------------------------------------------------------------

_HOST: Final = socket.gethostname()
_LIVE: set[int] = set()  # jobs running in this process
_LIVE_LOCK = threading.Lock()
WAKE = threading.Event()  # set by a submit: a worker of this process looks at once instead of at its next poll


def worker_id() -> str:
    """``host:pid:thread`` of the calling thread."""
    return f"{_HOST}:{os.getpid()}:{threading.current_thread().name}"[:200]


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs. A zombie (exited, not yet reaped by its parent: e.g. a worker
    whose server was killed, adopted by a PID 1 that does not reap, as in many containers) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux) or gone meanwhile: kill(0) said it exists
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]  # the state follows the command name in parentheses


def _worker_gone(worker: str | None, job_id: int) -> bool:
    """Whether ``worker`` (host:pid:thread) is known to be gone: a process of this host that no longer runs, or
    this process when the job is not running in it."""
    if not worker:
        return True
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False  # another machine: its heartbeat decides
    pid = int(pid_text)
    if pid == os.getpid():
        with _LIVE_LOCK:
            return job_id not in _LIVE
    return not _pid_alive(pid)


def _operational(ws: Workspace) -> AbstractContextManager[Connection]:
    """A short transaction on the operational (not governed) tables: no ledger lock on PostgreSQL; SQLite's write
    lock taken at BEGIN, so that it queues behind other writers instead of failing."""
    engine = ws.store.engine
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{WRITE_OPTION: True}).begin()
    return engine.begin()


# -- reading --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    """A job as shells show it: the governed row with its system's name and its progress."""

    id: int
    kind: str
    system: str | None
    params: dict[str, Any]
    status: str
    progress: float | None
    stage: str
    log: list[dict[str, Any]]
    result: dict[str, Any] | None
    error: str | None
    requested_by: str
    schedule_id: int | None
    worker: str | None
    attempts: int
    cancel_requested: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _view(job: Job, system: str | None, progress: JobProgress | None) -> JobView:
    return JobView(
        id=job.id,
        kind=job.kind,
        system=system,
        params=dict(job.params or {}),
        status=job.status,
        progress=None if progress is None else progress.progress,
        stage="" if progress is None else progress.stage,
        log=[] if progress is None else list(progress.log or []),
        result=job.result,
        error=job.error,
        requested_by=job.requested_by,
        schedule_id=job.schedule_id,
        worker=job.worker,
        attempts=job.attempts,
        cancel_requested=job.cancel_requested,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        heartbeat_at=None if progress is None else progress.heartbeat_at,
    )


def _visible_to(principal: Principal | None) -> ColumnElement[bool] | None:
    """The jobs ``principal`` may see (None: all): those on systems they may read, and their own."""
    if principal is None:
        return None
    systems = principal.systems()
    if systems is None:
        return None
    return or_(System.name.in_(sorted(systems)), Job.requested_by == principal.name)


def _select_views(where: list[ColumnElement[bool]]) -> Any:
    return (
        select(Job, System.name, JobProgress)
        .outerjoin(System, System.id == Job.system_id)
        .outerjoin(JobProgress, JobProgress.job_id == Job.id)
        .where(*where)
    )


# -- the service -----------------------------------------------------------------------------------------------------


class Jobs(Service):
    """Submit, read and cancel jobs (``workspace.jobs``). ``principal``: the user a server request is made by
    (what they may see and do); None, the workspace's own user, may do everything the actor may."""

    def submit(
        self,
        kind: str,
        params: Mapping[str, Any] | None = None,
        *,
        system: str | None = None,
        principal: Principal | None = None,
    ) -> JobView:
        """Queue a job of ``kind`` (a registered handler) with ``params`` on ``system``; audited (``job.submit``)."""
        spec = handler(kind)
        if spec.system and system is None:
            raise InvalidInput(f"job kind {kind!r} runs on an AI system: name the system")
        if not spec.system and system is not None:
            raise InvalidInput(f"job kind {kind!r} does not run on an AI system: leave the system out")
        clean = canonical_params(params, spec)
        with self._write() as tx:
            owner = None if system is None else _lookup.system(tx.session, system)
            if principal is not None and system is not None and not allowed(principal, spec.action, system):
                raise PermissionDenied(f"{principal.name} may not {spec.action} on system {system!r} (job {kind})")
            job = new_job(tx, spec, clean, owner)
        WAKE.set()
        return self.get(job.id)

    def get(self, job_id: int, *, principal: Principal | None = None) -> JobView:
        """One job; a job that does not exist or that ``principal`` may not see is NotFound."""
        where = [Job.id == job_id]
        visible = _visible_to(principal)
        if visible is not None:
            where.append(visible)
        with self.ws.store.read() as session:
            row = session.execute(_select_views(where)).first()
        if row is None:
            raise NotFound(f"no job with id {job_id}")
        return _view(*row)

    def list(
        self,
        *,
        system: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        principal: Principal | None = None,
    ) -> tuple[list[JobView], int]:
        """A page of jobs (newest first), filtered in the database, and how many match in all."""
        if status is not None and status not in STATES:
            raise InvalidInput(f"job status {status!r} is not one of {', '.join(STATES)}")
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput(f"limit must be 1-500 and offset 0 or more, not {limit} and {offset}")
        where: list[ColumnElement[bool]] = []
        visible = _visible_to(principal)
        if visible is not None:
            where.append(visible)
        with self.ws.store.read() as session:
            if system is not None:
                owner = _lookup.system(session, system)
                if principal is not None and not allowed(principal, "read", system):
                    raise NotFound(f"no AI system named {system!r}")
                where.append(Job.system_id == owner.id)
            if status is not None:
                where.append(Job.status == status)
            total = session.execute(
                select(func.count()).select_from(Job).outerjoin(System, System.id == Job.system_id).where(*where)
            ).scalar_one()
            rows = session.execute(_select_views(where).order_by(Job.id.desc()).limit(limit).offset(offset)).all()
        return [_view(*row) for row in rows], int(total)

    def cancel(self, job_id: int, *, principal: Principal | None = None) -> JobView:
        """Cancel a queued job at once (``job.cancel``), or ask a running one to stop (``job.cancel_request``; it
        ends ``cancelled`` at its next progress report). A finished job is a Conflict."""
        self.get(job_id, principal=principal)  # NotFound when not visible
        with self._write() as tx:
            job = tx.session.get(Job, job_id, with_for_update=True)
            if job is None:
                raise NotFound(f"no job with id {job_id}")
            if principal is not None and job.requested_by != principal.name:
                system = None if job.system_id is None else tx.session.get(System, job.system_id)
                action = _action_of(job.kind)
                if system is None or not allowed(principal, action, system.name):
                    raise PermissionDenied(
                        f"{principal.name} may not cancel job {job_id}: only who requested it, or who may {action} "
                        "on its system"
                    )
            if job.status in FINISHED:
                raise Conflict(f"job {job_id} has already {job.status}: nothing to cancel")
            before = job.state()
            if job.status == "queued":
                job.status, job.finished_at, job.error = "cancelled", utcnow(), f"cancelled by {tx.actor}"
                tx.record("job.cancel", job, before=before, payload={"kind": job.kind, "by": tx.actor})
            elif not job.cancel_requested:
                job.cancel_requested = True
                tx.record("job.cancel_request", job, before=before, payload={"kind": job.kind, "by": tx.actor})
        return self.get(job_id)

    def wait(self, job_id: int, *, timeout: float = 60.0, poll: float = 0.05) -> JobView:
        """The job once it has finished (polling); InvalidInput after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.get(job_id)
            if view.status in FINISHED:
                return view
            if time.monotonic() >= deadline:
                raise InvalidInput(f"job {job_id} is still {view.status} after {timeout:g} s")
            time.sleep(poll)


def _action_of(kind: str) -> Action:
    with _HANDLERS_LOCK:
        spec = _HANDLERS.get(kind)
    return "write" if spec is None else spec.action


def new_job(
    tx: Transaction, spec: HandlerSpec, params: dict[str, Any], owner: System | None, *, schedule_id: int | None = None
) -> Job:
    """Insert a queued job in ``tx`` (audited ``job.submit``), requested by the transaction's actor."""
    job = Job(
        kind=spec.kind,
        system_id=None if owner is None else owner.id,
        params=params,
        status="queued",
        requested_by=tx.actor,
        authenticated=tx.authenticated,
        schedule_id=schedule_id,
        attempts=0,
        cancel_requested=False,
    )
    tx.session.add(job)
    payload: dict[str, Any] = {"kind": spec.kind, "system": None if owner is None else owner.name}
    if schedule_id is not None:
        payload["schedule_id"] = schedule_id
    tx.record("job.submit", job, before=None, payload=payload)
    return job


# -- running a job --------------------------------------------------------------------------------------------------


class JobContext:
    """What a handler gets besides its params: ``progress(fraction, stage)`` (written at most every half second,
    a new stage always; raises :class:`JobCancelled` when the job was cancelled), ``cancelled()``, the acting user
    (``requested_by``) and ``workspace`` acting as them."""

    def __init__(
        self, ws: Workspace, job: Job, system: str | None, stop: threading.Event, *, trust_pickle: bool = False
    ) -> None:
        self.job_id = job.id
        self.trust_pickle = trust_pickle  # the worker's --trust-pickle: registered joblib/pickle models may load
        self.kind = job.kind
        self.system = system
        self.params: dict[str, Any] = dict(job.params or {})
        self.requested_by = job.requested_by
        base = ws.authenticated_as(job.requested_by) if job.authenticated else ws.as_actor(job.requested_by)
        self.workspace: Workspace = base
        self._ws = ws
        self._stop = stop
        self._stage = ""
        self._log: list[dict[str, Any]] = []
        self._last_write = 0.0
        self._last_check = 0.0
        self._cancel_requested = False
        self.stopped = False  # the worker stopped (not a user's cancel)
        self.saw_cancel = False  # the handler was told it is cancelled

    def progress(self, fraction: float | None = None, stage: str | None = None) -> None:
        """Report progress (0..1, None when unknown) and the stage; raises :class:`JobCancelled` when cancelled."""
        if fraction is not None and (not isinstance(fraction, int | float) or math.isnan(fraction)):
            raise InvalidInput(f"job progress must be a number from 0 to 1, not {fraction!r}")
        value = None if fraction is None else min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        new_stage = stage is not None and stage[:200] != self._stage
        if new_stage or now - self._last_write >= PROGRESS_EVERY:
            if new_stage:
                assert stage is not None
                self._stage = stage[:200]
                self._log = [*self._log, {"at": utcnow().isoformat(), "stage": self._stage}][-LOG_ENTRIES:]
            self._write(value)
            self._last_write = now
        if self.cancelled():
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def _write(self, value: float | None) -> None:
        values: dict[str, Any] = {"progress": value, "stage": self._stage, "log": self._log, "heartbeat_at": utcnow()}
        with _operational(self._ws) as connection:
            connection.execute(update(JobProgress).where(JobProgress.job_id == self.job_id).values(**values))

    def cancelled(self) -> bool:
        """Whether the job was cancelled (or its worker is stopping): the handler should stop soon. A handler that
        returns after this said True ends ``cancelled`` (``failed`` when its worker stopped), not ``succeeded``."""
        if self._stop.is_set():
            self.stopped = self.saw_cancel = True
            return True
        now = time.monotonic()
        if not self._cancel_requested and now - self._last_check >= PROGRESS_EVERY:
            self._last_check = now
            with self._ws.store.engine.connect() as connection:
                flag = connection.execute(select(Job.cancel_requested).where(Job.id == self.job_id)).scalar()
            self._cancel_requested = bool(flag)
        if self._cancel_requested:
            self.saw_cancel = True
        return self._cancel_requested


def claim(ws: Workspace, worker: str) -> Job | None:
    """Claim the oldest queued job for ``worker`` (``job.start``), or None when none is queued. Exactly once: the
    claim re-reads the job under the database's write lock (PostgreSQL: ``FOR UPDATE SKIP LOCKED``)."""
    for _ in range(50):  # another worker may take the candidate first: try the next
        with ws.store.read() as session:
            candidate = session.execute(
                select(Job.id, Job.requested_by, Job.authenticated)
                .where(Job.status == "queued")
                .order_by(Job.id)
                .limit(1)
            ).first()
        if candidate is None:
            return None
        # the job's events are the requester's (the worker acts for them); the payload names the worker
        with ws.store.write(candidate.requested_by, authenticated=candidate.authenticated) as tx:
            job = tx.session.execute(
                select(Job).where(Job.id == candidate.id, Job.status == "queued").with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if job is None:
                continue
            before = job.state()
            now = utcnow()
            job.status, job.started_at, job.worker, job.attempts = "running", now, worker, job.attempts + 1
            progress = tx.session.get(JobProgress, job.id)
            if progress is None:
                tx.session.add(JobProgress(job_id=job.id, progress=None, stage="", log=[], heartbeat_at=now))
            else:
                progress.heartbeat_at = now
            tx.record("job.start", job, before=before, payload={"kind": job.kind, "worker": worker})
            with _LIVE_LOCK:
                _LIVE.add(job.id)
            return job
    return None


def finish(
    ws: Workspace,
    job_id: int,
    worker: str | None,
    state: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    actor: str | None = None,
) -> bool:
    """End a running job (``job.succeed``, ``job.fail`` or ``job.cancel``). Only while it is still running by
    ``worker`` (None: whichever): a job already ended (e.g. failed by :func:`reap`) keeps its end. Returns whether
    this call ended it."""
    with ws.store.read() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "running" or (worker is not None and job.worker != worker):
            return False
        requester, authenticated = job.requested_by, job.authenticated
    with ws.store.write(actor or requester, authenticated=authenticated if actor is None else False) as tx:
        job = tx.session.execute(select(Job).where(Job.id == job_id).with_for_update()).scalar_one()
        if job.status != "running" or (worker is not None and job.worker != worker):
            return False
        before = job.state()
        job.status, job.finished_at = state, utcnow()
        job.result = result
        job.error = None if error is None else (error.splitlines() or [""])[0][:1000]
        action = {"succeeded": "job.succeed", "failed": "job.fail", "cancelled": "job.cancel"}[state]
        payload: dict[str, Any] = {"kind": job.kind, "worker": job.worker}
        if job.error is not None:
            payload["error"] = job.error
        tx.record(action, job, before=before, payload=payload)
    return True


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, AssayError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def run_job(ws: Workspace, job: Job, worker: str, stop: threading.Event, *, trust_pickle: bool = False) -> str:
    """Run a claimed job to its end and record it; returns the state it ended in."""
    try:
        system = None
        if job.system_id is not None:
            with ws.store.read() as session:
                owner = session.get(System, job.system_id)
                system = None if owner is None else owner.name
        ctx = JobContext(ws, job, system, stop, trust_pickle=trust_pickle)
        state, result, error = "succeeded", None, None
        try:
            spec = handler(job.kind)
            returned = spec.run(ctx, dict(job.params or {}))
            if ctx.saw_cancel:
                raise JobCancelled(f"job {job.id} was cancelled")
            result = None if returned is None else json.loads(canonical_json(dict(returned)))
        except Cancelled:  # JobCancelled from progress(), or a run that saw cancelled() (services.runs)
            state = "failed" if ctx.stopped else "cancelled"
            error = STOPPED_REASON if ctx.stopped else "cancelled while running"
        except AssayError as exc:
            state, error = "failed", _one_line(exc)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            state, error = "failed", _one_line(exc)
        finish(ws, job.id, worker, state, result=result, error=error)
        return state
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(job.id)


def run_next(ws: Workspace, stop: threading.Event | None = None, *, trust_pickle: bool = False) -> int | None:
    """Claim and run one queued job in this thread; its id, or None when none was queued."""
    worker = worker_id()
    job = claim(ws, worker)
    if job is None:
        return None
    run_job(ws, job, worker, stop or threading.Event(), trust_pickle=trust_pickle)
    return job.id


def heartbeat(ws: Workspace) -> None:
    """Refresh the heartbeat of every job running in this process."""
    with _LIVE_LOCK:
        running = sorted(_LIVE)
    if running:
        with _operational(ws) as connection:
            connection.execute(update(JobProgress).where(JobProgress.job_id.in_(running)).values(heartbeat_at=utcnow()))


def reap(ws: Workspace, timeout: float, *, now: dt.datetime | None = None) -> list[int]:
    """Fail every job left ``running`` whose heartbeat is older than ``timeout`` seconds or whose worker is known
    to be gone (a dead process of this host), with :data:`LOST_REASON` (audited ``job.fail``). Returns their ids."""
    limit = (now or utcnow()) - dt.timedelta(seconds=timeout)
    with ws.store.read() as session:
        rows = session.execute(
            select(Job.id, Job.worker, JobProgress.heartbeat_at, Job.started_at)
            .outerjoin(JobProgress, JobProgress.job_id == Job.id)
            .where(Job.status == "running")
        ).all()
    lost = []
    for job_id, worker, beat, started in rows:
        last = beat or started
        stale = last is None or last < limit or _worker_gone(worker, job_id)
        if stale and finish(ws, job_id, worker, "failed", error=LOST_REASON):
            log.warning("job %s failed: %s (worker %s)", job_id, LOST_REASON, worker)
            lost.append(job_id)
    return lost
