"""Monitors of deployed model versions: records, windows and runs (``workspace.monitors``).

A monitor (:class:`~assay.store.models.Monitor`) watches one model version of a system. Its **checks** are compute
kinds that register an ``outcome`` (data quality ``validate``, ``drift``, ``model-quality``, ``bias-drift``,
``attribution-drift``, and the other data checks), each with its options and the recorded baseline it compares
against, all validated when the monitor is created, so a monitor that exists can run.

Its **windows** are fixed: ``[end - window, end)`` with ``end`` a multiple of ``window`` since the Unix epoch (UTC)
and at most ``now - delay`` (labels that arrive late). A run is unique per monitor and window (a unique key in the
database): running the same window again, from the scheduler, cron or a retry, answers the run already recorded, so
``assay monitor run`` is safe to call from cron. A window whose run failed (an input problem) runs again.

A **run** opens the window's data (captured records, a folder of dated files, or data given to the run), computes
every check (:func:`assay.services.compute.compute`), and records in one transaction: each check's document as an
assessment (linked as evidence, its inputs' fingerprints included), the :class:`~assay.store.models.MonitorRun`
with each check's outcome, and the alerts it opens, updates or resolves (:mod:`assay.services.alerts`);
notifications go out after the commit. A scheduled monitor is a schedule of the job kind ``monitor``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay.documents import with_inputs
from assay.errors import AssayError, Conflict, InvalidInput, NotFound
from assay.governance.monitoring import CheckSpec, MonitorSpec
from assay.governance.records import validate
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.services.access import require_role
from assay.services.compute import Inputs, Kind, Outcome, Progress, compute, kind_of, options_of, watched, write
from assay.services.registry import record_assessment
from assay.services.runs import baseline_check
from assay.services.schedules import change_schedule, create_schedule
from assay.store.models import Monitor, MonitorRun, Schedule, System, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.services.jobs import JobContext
    from assay.store.database import Transaction

__all__ = ["JOB_KIND", "MonitorRunView", "MonitorView", "Monitors", "monitorable", "window_at"]

JOB_KIND: Final = "monitor"
RUN_STATUSES: Final = ("ok", "violations", "no_data", "failed")


def monitorable() -> list[str]:
    """The compute kinds a monitor can run (those that register an ``outcome``)."""
    from assay.services.kinds import KINDS

    return sorted(name for name, kind in KINDS.items() if kind.outcome is not None)


def window_at(end: dt.datetime, window: int, delay: int = 0) -> tuple[dt.datetime, dt.datetime]:
    """The latest complete window ``[start, end)`` ending at or before ``end - delay``: ``end`` a multiple of
    ``window`` seconds since the Unix epoch (UTC)."""
    latest = int((end.astimezone(dt.UTC).timestamp() - delay) // window) * window
    stop = dt.datetime.fromtimestamp(latest, dt.UTC)
    return stop - dt.timedelta(seconds=window), stop


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class MonitorView:
    """A monitor as shells show it."""

    id: int
    name: str
    system: str
    model_version: str
    source: dict[str, Any]
    checks: list[dict[str, Any]]
    window: int
    alerting: dict[str, Any]
    schedule: dict[str, Any] | None
    paused: bool
    created_by: str
    created_at: dt.datetime
    deleted: bool
    webhook_secrets: dict[str, str] = field(default_factory=dict)  # when created: each webhook's secret, shown once

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclass(frozen=True)
class MonitorRunView:
    """One run of a monitor over one window."""

    id: int
    monitor: str
    system: str
    window_start: dt.datetime
    window_end: dt.datetime
    status: str
    rows: int | None
    results: list[dict[str, Any]]
    error: str | None
    created_by: str
    created_at: dt.datetime
    existing: bool = False  # the window had been run before: this is that run

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for name in ("window_start", "window_end", "created_at"):
            out[name] = getattr(self, name).isoformat()
        return out


def _ref(session: Session, version_id: int) -> str:
    from assay.store.models import Model, ModelVersion

    version = session.get(ModelVersion, version_id)
    assert version is not None
    model = session.get(Model, version.model_id)
    assert model is not None
    return f"{model.name}@{version.version}"


def _view(session: Session, monitor: Monitor, system: str) -> MonitorView:
    schedule = None
    if monitor.schedule_id is not None:
        found = session.get(Schedule, monitor.schedule_id)
        if found is not None and found.deleted_at is None:
            schedule = {
                "id": found.id, "cron": found.cron, "interval_seconds": found.interval_seconds,
                "timezone": found.timezone, "paused": found.paused,
                "next_run_at": None if found.next_run_at is None else _aware(found.next_run_at).isoformat(),
            }  # fmt: skip
    return MonitorView(
        id=monitor.id, name=monitor.name, system=system, model_version=_ref(session, monitor.model_version_id),
        source=dict(monitor.source), checks=list(monitor.checks), window=monitor.window_seconds,
        alerting=dict(monitor.alerting), schedule=schedule, paused=monitor.paused, created_by=monitor.created_by,
        created_at=_aware(monitor.created_at), deleted=monitor.deleted_at is not None,
    )  # fmt: skip


def _run_view(run: MonitorRun, monitor: str, system: str, *, existing: bool = False) -> MonitorRunView:
    return MonitorRunView(
        id=run.id, monitor=monitor, system=system, window_start=_aware(run.window_start),
        window_end=_aware(run.window_end), status=run.status, rows=run.rows, results=list(run.results or []),
        error=run.error, created_by=run.created_by, created_at=_aware(run.created_at), existing=existing,
    )  # fmt: skip


def _check(session: Session, owner: System, index: int, spec: CheckSpec) -> dict[str, Any]:
    """One check validated against the registry: a kind a monitor can run, its options, its baseline."""
    where = f"checks[{index}]"
    try:
        kind = kind_of(spec.kind)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}.kind: {exc}") from None
    if kind.outcome is None:
        raise InvalidInput(f"{where}.kind: {kind.title} cannot be monitored; a monitor runs {', '.join(monitorable())}")
    if kind.reference is True or kind.registers_model:
        raise InvalidInput(f"{where}.kind: {kind.title} needs inputs a monitor's window does not give")
    try:
        options = options_of(kind, spec.options)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}.options: {exc}") from None
    # a kind that compares with a reference dataset or a baseline (drift) has only the baseline in a monitor
    if (kind.baseline is True or kind.reference == "optional") and spec.baseline_id is None:
        wanted = " or ".join(kind_of(name).title for name in kind.baseline_of)
        raise InvalidInput(f"{where}: {kind.title} needs baseline_id: the id of {wanted} recorded for the system")
    if not kind.baseline and spec.baseline_id is not None:
        raise InvalidInput(f"{where}: {kind.title} takes no baseline_id")
    if spec.baseline_id is not None:
        baseline_check(session, owner, spec.baseline_id, kind)
    return {"kind": kind.name, "options": options.model_dump(mode="json"), "baseline_id": spec.baseline_id}


@dataclass
class _Computed:
    """What one check of a run produced before it is recorded."""

    kind: Kind
    document: dict[str, Any] | None
    files: dict[str, Path]
    outcome: Outcome | None
    error: str | None


class Monitors(Service):
    """Monitors of a system's deployed model versions (see the module's docstring)."""

    # ---- records ---------------------------------------------------------------------------------------------

    def create(self, system: str, spec: MonitorSpec | Mapping[str, Any]) -> MonitorView:
        """Create a monitor (and its schedule when ``cron`` or ``interval`` is given), every check validated."""
        valid = spec if isinstance(spec, MonitorSpec) else validate(MonitorSpec, dict(spec), "monitor")
        alerting, secrets = self.ws.alerts.provision(valid.alerting)  # webhook secrets kept outside the database
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            self._require(tx, owner, f"creating a monitor in {owner.name}")
            version = _lookup.model_version(tx.session, owner, valid.model_version)
            taken = tx.session.execute(
                select(Monitor.id).where(
                    Monitor.system_id == owner.id, Monitor.name == valid.name, Monitor.deleted_at.is_(None)
                )
            ).first()
            if taken is not None:
                raise Conflict(f"{owner.name} already has a monitor named {valid.name!r}")
            checks = [_check(tx.session, owner, i, check) for i, check in enumerate(valid.checks)]
            now = utcnow()
            monitor = Monitor(
                name=valid.name, system_id=owner.id, model_version_id=version.id,
                source=valid.source.model_dump(mode="json"), checks=checks, window_seconds=valid.window,
                alerting=alerting, paused=False, created_by=tx.actor, created_at=now, updated_at=now,
            )  # fmt: skip
            tx.session.add(monitor)
            tx.session.flush()
            if valid.cron is not None or valid.interval is not None:
                schedule = create_schedule(
                    tx, owner, JOB_KIND, {"monitor": valid.name}, cron=valid.cron,
                    interval_seconds=valid.interval, timezone=valid.timezone, missed="coalesce",
                )  # fmt: skip
                tx.session.flush()
                monitor.schedule_id = schedule.id
            tx.record(
                "monitor.create", monitor, before=None,
                payload={"system": owner.name, "name": valid.name, "model_version": valid.model_version,
                         "checks": [check["kind"] for check in checks]},
            )  # fmt: skip
            return replace(_view(tx.session, monitor, owner.name), webhook_secrets=secrets)

    @staticmethod
    def _require(tx: Transaction, owner: System, what: str) -> None:
        if tx.authenticated:  # as every other write: an unauthenticated actor's change is marked so in the ledger
            require_role(tx, "write", owner.name, what)

    @staticmethod
    def _find(session: Session, owner: System, name: str, *, lock: bool = False) -> Monitor:
        query = select(Monitor).where(Monitor.system_id == owner.id, Monitor.name == name, Monitor.deleted_at.is_(None))
        found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
        if found is None:
            raise NotFound(f"{owner.name} has no monitor named {name!r}")
        return found

    def list(self, system: str) -> list[MonitorView]:
        with self._read() as session:
            owner = _lookup.system(session, system)
            found = session.execute(
                select(Monitor)
                .where(Monitor.system_id == owner.id, Monitor.deleted_at.is_(None))
                .order_by(Monitor.name)
            ).scalars()
            return [_view(session, monitor, owner.name) for monitor in found]

    def get(self, system: str, name: str) -> MonitorView:
        with self._read() as session:
            owner = _lookup.system(session, system)
            return _view(session, self._find(session, owner, name), owner.name)

    def pause(self, system: str, name: str) -> MonitorView:
        """Pause a monitor: no run, scheduled or by hand, until it is resumed (its schedule pauses with it)."""
        return self._change(system, name, "pause")

    def resume(self, system: str, name: str) -> MonitorView:
        return self._change(system, name, "resume")

    def delete(self, system: str, name: str) -> MonitorView:
        """Delete a monitor (kept as deleted: its runs and alerts refer to it) and its schedule."""
        return self._change(system, name, "delete")

    def _change(self, system: str, name: str, verb: str) -> MonitorView:
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            monitor = self._find(tx.session, owner, name, lock=True)
            self._require(tx, owner, f"changing monitor {name} of {owner.name}")
            before = monitor.state()
            now = utcnow()
            if verb == "pause":
                if monitor.paused:
                    raise Conflict(f"monitor {name!r} is already paused")
                monitor.paused = True
            elif verb == "resume":
                if not monitor.paused:
                    raise Conflict(f"monitor {name!r} is not paused")
                monitor.paused = False
            else:
                monitor.deleted_at = now
            schedule = None if monitor.schedule_id is None else tx.session.get(Schedule, monitor.schedule_id)
            live = schedule is not None and schedule.deleted_at is None
            if live and schedule is not None and (verb == "delete" or (verb == "pause") != schedule.paused):
                change_schedule(tx, schedule, verb, owner.name)
            monitor.updated_at = now
            tx.record(f"monitor.{verb}", monitor, before=before, payload={"system": owner.name, "name": name})
            return _view(tx.session, monitor, owner.name)

    def runs(self, system: str, name: str, *, limit: int | None = None, offset: int = 0) -> Listing[MonitorRunView]:
        """The monitor's runs, latest window first."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            monitor = self._find(session, owner, name)
            query = (
                select(MonitorRun)
                .where(MonitorRun.monitor_id == monitor.id)
                .order_by(MonitorRun.window_end.desc(), MonitorRun.id.desc())
            )
            found = listing(session, query, limit, offset)
            return Listing([_run_view(run, name, owner.name) for run in found], found.total)

    def get_run(self, system: str, name: str, run_id: int) -> MonitorRunView:
        with self._read() as session:
            owner = _lookup.system(session, system)
            monitor = self._find(session, owner, name)
            run = _lookup.by_id(session, MonitorRun, run_id, f"run of monitor {name}", monitor_id=monitor.id)
            return _run_view(run, name, owner.name)

    # ---- runs ------------------------------------------------------------------------------------------------

    def run(
        self,
        system: str,
        name: str,
        *,
        end: dt.datetime | None = None,
        data: Any = None,
        trust_pickle: bool = False,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> MonitorRunView:
        """Run the monitor on its latest complete window (or the window ending at ``end``, a multiple of the window
        length; ``data``: the window's data for a monitor of given data, or to judge a batch by hand). A window
        already run answers its recorded run (``existing``), unless that run failed."""
        say = watched(progress, cancelled)
        with self._read() as session:
            owner = _lookup.system(session, system)
            monitor = self._find(session, owner, name)
            version_ref = _ref(session, monitor.model_version_id)
            if monitor.paused:
                raise Conflict(f"monitor {name!r} of {owner.name} is paused: resume it first")
            start, stop = self._window(monitor, end)
            done = session.execute(
                select(MonitorRun).where(
                    MonitorRun.monitor_id == monitor.id,
                    MonitorRun.window_start == start,
                    MonitorRun.window_end == stop,
                )
            ).scalar_one_or_none()
            if done is not None and done.status != "failed":
                return _run_view(done, name, owner.name, existing=True)
            owner_name, source = owner.name, dict(monitor.source)
            checks = list(monitor.checks)
        if data is None and source.get("type") == "given":
            raise InvalidInput(
                f"monitor {name!r} judges data given to each run (`assay monitor run {owner_name} {name} --data "
                "FILE`): it has no window of its own to read"
            )
        with ExitStack() as stack:
            say(f"reading the window {start.isoformat()} to {stop.isoformat()}")
            frame, fingerprint = stack.enter_context(self._opened(owner_name, version_ref, source, start, stop, data))
            rows = _rows(frame)
            computed: list[_Computed] = []
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            if rows:
                for i, check in enumerate(checks):
                    say(f"checking {check['kind']} ({i + 1} of {len(checks)})")
                    computed.append(
                        self._compute(stack, owner_name, version_ref, check, frame, fingerprint, folder / str(i),
                                      trust_pickle, say, start, stop, name)
                    )  # fmt: skip
            say("recording")
            stored = [{n: self.ws.artifacts.put_file(p) for n, p in item.files.items()} for item in computed]
            return self._record(owner_name, name, start, stop, rows, checks, computed, stored)

    def _window(self, monitor: Monitor, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
        window = monitor.window_seconds
        delay = int(monitor.source.get("delay") or 0)
        if end is None:
            return window_at(utcnow(), window, delay)
        end = _aware(end)
        if int(end.timestamp()) % window or end.microsecond:
            raise InvalidInput(
                f"--end {end.isoformat()} is not the end of a window of monitor {monitor.name!r} (windows of "
                f"{window} s end on multiples of {window} s since 1970-01-01T00:00Z, e.g. "
                f"{window_at(end, window)[1].isoformat()})"
            )
        if end > utcnow() - dt.timedelta(seconds=delay):
            raise InvalidInput(f"--end {end.isoformat()} is in the future (or within the monitor's delay of {delay} s)")
        return end - dt.timedelta(seconds=window), end

    @contextmanager
    def _opened(
        self, system: str, version_ref: str, source: Mapping[str, Any], start: dt.datetime, stop: dt.datetime, data: Any
    ) -> Iterator[tuple[Any, dict[str, Any]]]:
        """The window's frame and the fingerprint of what it was read from."""
        from assay.frames import open as open_frame

        if data is not None:
            fingerprint: dict[str, Any] = {"given": str(data) if isinstance(data, str | Path) else type(data).__name__}
            if isinstance(data, str | Path) and Path(data).is_file():
                fingerprint["sha256"] = _sha256(Path(data))
            yield open_frame(data), fingerprint
        elif source.get("type") == "files":
            from assay.services.capture import folder_window

            with folder_window(
                source["folder"], start, stop, columns=source.get("columns"), engine=source.get("engine", "duckdb")
            ) as window:
                yield _without(window.frame, {"inference_id", "event_time"}), window.inputs()
        elif source.get("type") == "feedback":  # end users' feedback on the version (services/feedback.py)
            with self.ws.feedback.window(system, version_ref, start, stop) as (feedback, fingerprint):
                yield open_frame(feedback, source="feedback"), fingerprint
        elif source.get("type") == "guard":  # a guardrail's decisions (services/genai/guard.py)
            with self.ws.genai.guard.window(source["policy"], start, stop) as (decisions, fingerprint):
                yield open_frame(decisions, source="guard"), fingerprint
        else:
            config = self.ws.capture.show(system, version_ref)
            kept = {config.id_column, config.time_column or "captured_at", "captured_at", "labelled_at"}
            with self.ws.capture.window(
                system, version_ref, start, stop, engine=source.get("engine", "duckdb")
            ) as window:
                yield _without(window.frame, kept), window.inputs()

    def _compute(
        self,
        stack: ExitStack,
        system: str,
        version_ref: str,
        check: Mapping[str, Any],
        frame: Any,
        fingerprint: dict[str, Any],
        folder: Path,
        trust_pickle: bool,
        say: Progress,
        start: dt.datetime,
        stop: dt.datetime,
        monitor: str,
    ) -> _Computed:
        kind = kind_of(check["kind"])
        try:
            options = options_of(kind, check["options"])
            inputs = Inputs(data=frame, progress=say)
            fingerprints: dict[str, dict[str, Any]] = {"data": fingerprint}
            if kind.model == "required":  # an optional model (bias) would re-score the window's own predictions
                features = getattr(options, "features", None)
                inputs.model = self.ws.models.load(
                    system, version_ref, trust_pickle=trust_pickle, feature_names=features
                )
                version = self.ws.models.get_version(system, version_ref)
                fingerprints["model"] = {"ref": version_ref, "sha256": version.artifact_sha256}
            baseline_id = check.get("baseline_id")
            if baseline_id is not None:
                if kind.baseline_of == ("baseline",):
                    inputs.baseline = stack.enter_context(self.ws.checks.baseline_files(system, baseline_id))
                recorded = self.ws.assessments.get(system, baseline_id)
                inputs.baseline_document = recorded.document
                inputs.baseline_source = f"assessment {baseline_id} of {system}"
                fingerprints["baseline"] = {"assessment": baseline_id, "sha256": recorded.document_sha256}
            result = compute(kind, inputs, options)
            paths = write(kind, result, folder)
        except AssayError as exc:
            return _Computed(kind, None, {}, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        document = with_inputs(result.to_dict(), fingerprints)
        document["monitor"] = {"name": monitor, "window_start": start.isoformat(), "window_end": stop.isoformat()}
        assert kind.outcome is not None
        return _Computed(kind, document, {p.name: p for p in paths.values()}, kind.outcome(document), None)

    def _record(
        self,
        system: str,
        name: str,
        start: dt.datetime,
        stop: dt.datetime,
        rows: int,
        checks: Sequence[dict[str, Any]],
        computed: Sequence[_Computed],
        stored: Sequence[dict[str, Any]],
    ) -> MonitorRunView:
        from assay.services.alerts import evaluate

        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            monitor = self._find(tx.session, owner, name, lock=True)
            self._require(tx, owner, f"running monitor {name} of {owner.name}")
            if monitor.paused:
                raise Conflict(f"monitor {name!r} of {owner.name} was paused while it ran: nothing recorded")
            version_ref = _ref(tx.session, monitor.model_version_id)
            run = tx.session.execute(
                select(MonitorRun).where(
                    MonitorRun.monitor_id == monitor.id,
                    MonitorRun.window_start == start,
                    MonitorRun.window_end == stop,
                )
            ).scalar_one_or_none()
            if run is not None and run.status != "failed":  # recorded by another process meanwhile
                return _run_view(run, name, owner.name, existing=True)
            results: list[dict[str, Any]] = []
            for check, item, files in zip(checks[: len(computed)], computed, stored, strict=True):
                entry: dict[str, Any] = {"kind": check["kind"], "baseline_id": check.get("baseline_id")}
                if item.error is not None or item.document is None or item.outcome is None:
                    entry |= {"status": "error", "error": item.error, "assessment_id": None,
                              "violations": [], "metrics": []}  # fmt: skip
                else:
                    assessment = record_assessment(
                        tx, owner.name, item.document, model_version=version_ref, files=files,
                        evidence_valid_days=self.ws.settings.evidence_valid_days,
                    )  # fmt: skip
                    tx.session.flush()
                    entry |= {"status": item.outcome["status"], "assessment_id": assessment.id,
                              "violations": list(item.outcome["violations"]),
                              "metrics": list(item.outcome["metrics"])}  # fmt: skip
                results.append(entry)
            status = _status(rows, results)
            errors = [f"{entry['kind']}: {entry['error']}" for entry in results if entry["status"] == "error"]
            before = None if run is None else run.state()
            if run is None:
                run = MonitorRun(monitor_id=monitor.id, window_start=start, window_end=stop)
                tx.session.add(run)
            run.status, run.rows, run.results = status, rows, results
            run.error = "; ".join(errors) or None
            run.created_by, run.created_at = tx.actor, utcnow()
            tx.session.flush()
            tx.record(
                "monitor.run", run, before=before,
                payload={"system": owner.name, "monitor": name, "window_start": start.isoformat(),
                         "window_end": stop.isoformat(), "status": status, "rows": rows},
            )  # fmt: skip
            pending = evaluate(tx, monitor, run)
            view = _run_view(run, name, owner.name)
        self.ws.alerts.deliver(pending)
        return view


def _without(frame: Any, bookkeeping: set[str]) -> Any:
    """The window's frame without the columns capture keeps about each record (its id, its event time, when it was
    captured and labelled): the checks judge the model's inputs, outputs and labels, as their baselines were made
    on them."""
    dropped = [name for name in frame.columns if name in bookkeeping]
    if not dropped:
        return frame
    kept = {name: dtype for name, dtype in frame.schema.items() if name not in bookkeeping}
    return replace(frame, lazy=frame.lazy.drop(dropped), schema=kept)


def _status(rows: int, results: list[dict[str, Any]]) -> str:
    if not rows:
        return "no_data"
    if any(entry["status"] == "error" for entry in results):
        return "failed"
    if any(entry["status"] == "fail" for entry in results):
        return "violations"
    return "ok"


def _rows(frame: Any) -> int:
    import narwhals as nw

    table = frame.lazy.select(nw.len().alias("n")).collect()
    return int(table["n"][0])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """The ``monitor`` job: run a monitor on its latest complete window, as the job's requester."""
    if ctx.system is None:
        raise InvalidInput("a monitor job runs on an AI system")
    end = None if params.get("end") is None else dt.datetime.fromisoformat(params["end"])
    done = ctx.workspace.monitors.run(
        ctx.system, params["monitor"], end=end, trust_pickle=ctx.trust_pickle,
        progress=lambda stage: ctx.progress(None, stage), cancelled=ctx.cancelled,
    )  # fmt: skip
    return {
        "monitor": params["monitor"], "run_id": done.id, "status": done.status, "existing": done.existing,
        "window_start": done.window_start.isoformat(), "window_end": done.window_end.isoformat(),
        "run": f"/api/systems/{ctx.system}/monitors/{params['monitor']}/runs/{done.id}",
    }  # fmt: skip


def _job_params(params: dict[str, Any]) -> dict[str, Any]:
    name, end = params.get("monitor"), params.get("end")
    if not isinstance(name, str) or not name or not set(params) <= {"monitor", "end"}:
        raise InvalidInput('a monitor job\'s params are {"monitor": NAME} and optionally "end", an ISO 8601 time')
    if end is None:
        return {"monitor": name}
    try:
        when = _aware(dt.datetime.fromisoformat(str(end)))
    except ValueError:
        raise InvalidInput(f"params.end {end!r} is not an ISO 8601 time") from None
    return {"monitor": name, "end": when.isoformat()}


def register_monitor_handler(register: Callable[..., Any]) -> None:
    """Register the ``monitor`` job kind (``register`` is :func:`assay.services.jobs.register_handler`)."""
    register(JOB_KIND, _run_job, action="write", system=True, validate=_job_params, description="a monitor's run")
