"""Background jobs and schedules through the services, on SQLite and PostgreSQL: submit, run, progress, failure,
cancel, the restart rule, the audit events, schedules and their missed-run policy, and exactly-once claiming."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services import jobs
from assay.services.jobs import LOST_REASON, STOPPED_REASON, JobContext, claim, reap, run_job
from assay.services.schedules import fire_due
from assay.services.worker import WorkerPool, run_until_idle
from assay.services.workspace import Workspace
from assay.store.models import Job, JobProgress, Schedule, utcnow
from tests.support.people import People

RELEASED = threading.Event()


def _progressing(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    for step in range(4):
        ctx.progress(step / 4, f"step {step}")
    ctx.progress(1.0, "done")
    return {"total": params["a"] + params["b"], "system": ctx.system, "by": ctx.requested_by}


def _failing(ctx: JobContext, params: dict[str, Any]) -> None:
    ctx.progress(0.1, "reading")
    if params.get("assay"):
        raise InvalidInput("column 'sex' is not in the data (columns: age, income)")
    raise ZeroDivisionError("division by zero")


def _waiting(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Reports progress until cancelled (or ``RELEASED``)."""
    deadline = time.monotonic() + 30
    while not RELEASED.is_set() and time.monotonic() < deadline:
        ctx.progress(None, "waiting")
        time.sleep(0.02)
    return {"released": True}


def _positive(params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(params.get("a"), int) or not isinstance(params.get("b"), int):
        raise InvalidInput("params a and b must be integers")
    return params


@pytest.fixture(autouse=True)
def handlers() -> Iterator[None]:
    jobs.register_handler("t.add", _progressing, validate=_positive)
    jobs.register_handler("t.fail", _failing)
    jobs.register_handler("t.wait", _waiting)
    RELEASED.clear()
    yield
    RELEASED.set()
    for kind in ("t.add", "t.fail", "t.wait"):
        jobs.unregister_handler(kind)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    workspace.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
    return workspace


def actions(ws: Workspace, object_type: str = "jobs") -> list[tuple[str, str]]:
    return [(e.action, e.object_id) for e in ws.audit.log() if e.object_type == object_type]


def test_a_job_runs_reports_progress_and_is_audited(ws: Workspace) -> None:
    job = ws.jobs.submit("t.add", {"a": 2, "b": 3}, system="credit")
    assert (job.status, job.system, job.requested_by, job.params) == ("queued", "credit", "alice", {"a": 2, "b": 3})
    assert run_until_idle(ws) == 1
    done = ws.jobs.get(job.id)
    assert done.status == "succeeded" and done.result == {"total": 5, "system": "credit", "by": "alice"}
    assert done.progress == 1.0 and done.stage == "done" and done.error is None
    assert [entry["stage"] for entry in done.log] == ["step 0", "step 1", "step 2", "step 3", "done"]
    assert done.started_at is not None and done.finished_at is not None and done.attempts == 1
    assert done.worker is not None and done.worker.split(":")[1] == str(os.getpid())
    assert actions(ws) == [("job.submit", str(job.id)), ("job.start", str(job.id)), ("job.succeed", str(job.id))]
    verification = ws.audit.verify()
    assert verification.ok, verification.problem


def test_failures_are_one_line_as_the_cli_prints_them(ws: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    assay_error = ws.jobs.submit("t.fail", {"assay": True}, system="credit")
    bug = ws.jobs.submit("t.fail", {}, system="credit")
    run_until_idle(ws)
    assert ws.jobs.get(assay_error.id).error == "column 'sex' is not in the data (columns: age, income)"
    failed = ws.jobs.get(bug.id)
    assert (failed.status, failed.error) == ("failed", "ZeroDivisionError: division by zero")
    assert "Traceback" in caplog.text and "Traceback" not in str(failed.as_dict())
    assert actions(ws)[-1] == ("job.fail", str(bug.id))
    assert ws.audit.verify().ok


def test_bad_submissions_are_refused_naming_the_problem(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match=r"unknown job kind 'nope' \(known: .*t\.add, t\.fail, t\.wait"):
        ws.jobs.submit("nope", {}, system="credit")
    with pytest.raises(InvalidInput, match="params a and b must be integers"):
        ws.jobs.submit("t.add", {"a": "x"}, system="credit")
    with pytest.raises(InvalidInput, match="runs on an AI system: name the system"):
        ws.jobs.submit("t.add", {"a": 1, "b": 1})
    with pytest.raises(NotFound, match="no AI system named 'ghost'"):
        ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="ghost")
    with pytest.raises(InvalidInput, match="not plain JSON"):
        ws.jobs.submit("t.wait", {"x": float("nan")}, system="credit")
    with pytest.raises(InvalidInput, match="job status 'done' is not one of queued, running"):
        ws.jobs.list(status="done")
    with pytest.raises(NotFound, match="no job with id 99"):
        ws.jobs.get(99)
    assert ws.jobs.list() == ([], 0)


def test_list_is_filtered_and_paginated_newest_first(ws: Workspace) -> None:
    ids = [ws.jobs.submit("t.add", {"a": i, "b": 0}, system="credit").id for i in range(5)]
    other = ws.jobs.submit("t.add", {"a": 0, "b": 0}, system="other").id
    page, total = ws.jobs.list(system="credit", limit=2, offset=1)
    assert total == 5 and [j.id for j in page] == [ids[3], ids[2]]
    assert [j.id for j in ws.jobs.list(status="queued")[0]] == [other, *reversed(ids)]
    assert ws.jobs.list(status="running") == ([], 0)


def test_a_queued_job_is_cancelled_at_once_and_never_runs(ws: Workspace) -> None:
    job = ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit")
    cancelled = ws.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.error) == ("cancelled", "cancelled by alice")
    assert run_until_idle(ws) == 0
    with pytest.raises(Conflict, match=f"job {job.id} has already cancelled: nothing to cancel"):
        ws.jobs.cancel(job.id)
    assert actions(ws) == [("job.submit", str(job.id)), ("job.cancel", str(job.id))]


def test_a_running_job_stops_at_its_next_progress_report_when_cancelled(ws: Workspace) -> None:
    job = ws.jobs.submit("t.wait", {}, system="credit")
    runner = threading.Thread(target=run_until_idle, args=(ws,))
    runner.start()
    _wait_for(lambda: ws.jobs.get(job.id).stage == "waiting")
    assert ws.jobs.get(job.id).status == "running"
    asked = ws.jobs.cancel(job.id)
    assert asked.status == "running" and asked.cancel_requested
    runner.join(10)
    done = ws.jobs.get(job.id)
    assert (done.status, done.error) == ("cancelled", "cancelled while running")
    assert [a for a, _ in actions(ws)] == ["job.submit", "job.start", "job.cancel_request", "job.cancel"]
    assert ws.audit.verify().ok


def test_a_job_left_running_by_a_dead_worker_is_failed_with_the_reason(ws: Workspace) -> None:
    job = ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit")
    claimed = claim(ws, "elsewhere:1:thread")  # another machine: only its heartbeat can tell
    assert claimed is not None and claimed.id == job.id
    assert reap(ws, 60) == []  # fresh heartbeat: left alone
    with ws.store.engine.begin() as connection:  # the heartbeat stopped 2 minutes ago
        old = utcnow() - dt.timedelta(minutes=2)
        connection.execute(update(JobProgress).where(JobProgress.job_id == job.id).values(heartbeat_at=old))
    assert reap(ws, 60) == [job.id]
    failed = ws.jobs.get(job.id)
    assert (failed.status, failed.error) == ("failed", LOST_REASON)
    assert actions(ws)[-1] == ("job.fail", str(job.id))
    assert ws.audit.verify().ok


def test_a_dead_process_of_this_host_is_known_at_once(ws: Workspace) -> None:
    job = ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit")
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    assert claim(ws, f"{jobs.worker_id().split(':')[0]}:{dead.pid}:assay-worker-1") is not None
    assert reap(ws, 3600) == [job.id]
    assert ws.jobs.get(job.id).error == LOST_REASON


def test_a_worker_that_exited_but_was_not_reaped_counts_as_dead(ws: Workspace) -> None:
    """A zombie (exited; its parent has not waited for it: a server's worker after the server was killed, adopted
    by a PID 1 that does not reap, as in containers) is dead: its job is failed at once, not after the timeout."""
    import subprocess

    job = ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit")
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while "\nState:\tZ" not in Path(f"/proc/{zombie.pid}/status").read_text():  # exited, not waited for
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert claim(ws, f"{jobs.worker_id().split(':')[0]}:{zombie.pid}:assay-worker-1") is not None
        assert reap(ws, 3600) == [job.id]
        assert ws.jobs.get(job.id).error == LOST_REASON
    finally:
        zombie.wait()


def test_a_late_end_does_not_overwrite_the_reaped_state(ws: Workspace) -> None:
    job = ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit")
    worker = jobs.worker_id()
    claimed = claim(ws, worker)
    assert claimed is not None
    jobs.finish(ws, job.id, None, "failed", error=LOST_REASON)
    assert run_job(ws, claimed, worker, threading.Event()) == "succeeded"  # the handler ran, but too late
    assert ws.jobs.get(job.id).status == "failed" and ws.audit.verify().ok


def test_a_worker_pool_runs_jobs_and_fails_running_ones_at_shutdown(ws: Workspace) -> None:
    pool = WorkerPool(ws, threads=2)
    pool.start()
    try:
        quick = ws.jobs.submit("t.add", {"a": 1, "b": 2}, system="credit")
        started = time.monotonic()
        assert ws.jobs.wait(quick.id, timeout=10).status == "succeeded"
        assert time.monotonic() - started < 2  # woken by the submit, not the poll
        slow = ws.jobs.submit("t.wait", {}, system="credit")
        _wait_for(lambda: ws.jobs.get(slow.id).status == "running")
    finally:
        pool.stop()
    stopped = ws.jobs.get(slow.id)
    assert (stopped.status, stopped.error) == ("failed", STOPPED_REASON)
    assert ws.audit.verify().ok


# -- permissions (the server passes the principal) ---------------------------------------------------------------


def test_who_may_see_submit_and_cancel(ws: Workspace, people: People) -> None:
    bob = people("bob", credit="owner")
    carol = people("carol", credit="viewer")
    people("dave", other="owner")
    from assay.services.access import Principal

    as_bob = Principal("bob", "member", {"credit": "owner"})
    as_carol = Principal("carol", "member", {"credit": "viewer"})
    as_dave = Principal("dave", "member", {"other": "owner"})
    job = bob.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit", principal=as_bob)
    with pytest.raises(PermissionDenied, match="carol may not write on system 'credit'"):
        carol.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit", principal=as_carol)
    assert carol.jobs.get(job.id, principal=as_carol).id == job.id
    with pytest.raises(NotFound, match=f"no job with id {job.id}"):
        ws.jobs.get(job.id, principal=as_dave)
    assert ws.jobs.list(principal=as_dave) == ([], 0)
    with pytest.raises(NotFound):
        ws.jobs.cancel(job.id, principal=as_dave)
    with pytest.raises(PermissionDenied, match="only who requested it, or who may write on its system"):
        carol.jobs.cancel(job.id, principal=as_carol)
    assert bob.jobs.cancel(job.id, principal=as_bob).status == "cancelled"
    [event] = [e for e in ws.audit.log() if e.action == "job.cancel"]
    assert event.actor == "bob" and "authenticated" not in event.payload


# -- schedules ------------------------------------------------------------------------------------------------------


def test_schedules_are_validated_naming_the_field(ws: Workspace) -> None:
    add = ws.schedules.add
    with pytest.raises(InvalidInput, match=r"cron '61 \* \* \* \*': Error validating expression '61'"):
        add("credit", "t.add", {"a": 1, "b": 1}, cron="61 * * * *", timezone="UTC")
    with pytest.raises(InvalidInput, match="cron '\\* \\* \\*': Wrong number of fields; got 3, expected 5"):
        add("credit", "t.add", {"a": 1, "b": 1}, cron="* * *", timezone="UTC")
    with pytest.raises(InvalidInput, match="timezone 'Mars/Olympus' is not an IANA time zone name"):
        add("credit", "t.add", {"a": 1, "b": 1}, cron="0 3 * * *", timezone="Mars/Olympus")
    with pytest.raises(InvalidInput, match="timezone is required"):
        add("credit", "t.add", {"a": 1, "b": 1}, cron="0 3 * * *", timezone="")
    with pytest.raises(InvalidInput, match="interval_seconds must be 60 to"):
        add("credit", "t.add", {"a": 1, "b": 1}, interval_seconds=5, timezone="UTC")
    with pytest.raises(InvalidInput, match="give a cron expression or an interval in seconds"):
        add("credit", "t.add", {"a": 1, "b": 1}, cron="0 3 * * *", interval_seconds=60, timezone="UTC")
    with pytest.raises(InvalidInput, match="missed 'all' is not one of coalesce, skip"):
        add("credit", "t.add", {"a": 1, "b": 1}, cron="0 3 * * *", timezone="UTC", missed="all")
    with pytest.raises(InvalidInput, match="unknown job kind"):
        add("credit", "nope", {}, cron="0 3 * * *", timezone="UTC")
    assert ws.schedules.list("credit") == ([], 0)


def test_a_cron_schedule_in_a_time_zone_fires_once_and_advances(ws: Workspace) -> None:
    schedule = ws.schedules.add("credit", "t.add", {"a": 1, "b": 2}, cron="0 3 * * *", timezone="Europe/Paris")
    assert schedule.next_run_at is not None
    paris = schedule.next_run_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert (paris.hour, paris.minute) == (3, 0)
    assert fire_due(ws, 60) == []  # not due yet
    due = schedule.next_run_at + dt.timedelta(seconds=5)
    [job_id] = fire_due(ws, 60, now=due)
    assert fire_due(ws, 60, now=due) == []  # exactly once
    after = ws.schedules.get("credit", schedule.id)
    assert after.next_run_at == schedule.next_run_at + dt.timedelta(days=1) and after.last_job_id == job_id
    job = ws.jobs.get(job_id)
    assert (job.schedule_id, job.params, job.system) == (schedule.id, {"a": 1, "b": 2}, "credit")
    run_until_idle(ws)
    assert ws.jobs.get(job_id).status == "succeeded"
    assert [a for a, _ in actions(ws, "schedules")] == ["schedule.create", "schedule.fire"]
    assert ws.audit.verify().ok


@pytest.mark.parametrize(("policy", "runs"), [("coalesce", 1), ("skip", 0)])
def test_missed_runs_after_downtime_follow_the_policy(ws: Workspace, policy: str, runs: int) -> None:
    schedule = ws.schedules.add(
        "credit", "t.add", {"a": 1, "b": 2}, interval_seconds=3600, timezone="UTC", missed=policy
    )
    assert schedule.next_run_at is not None
    back = schedule.next_run_at + dt.timedelta(hours=5, minutes=30)  # 6 fire times passed while nothing ran
    assert len(fire_due(ws, 60, now=back)) == runs
    after = ws.schedules.get("credit", schedule.id)
    assert after.next_run_at == schedule.next_run_at + dt.timedelta(hours=6)  # the first one after now
    [event] = [e for e in ws.audit.log() if e.action == "schedule.fire"]
    assert (event.payload["missed"], event.payload["policy"]) == (6, policy)


def test_pause_resume_delete(ws: Workspace) -> None:
    schedule = ws.schedules.add("credit", "t.add", {"a": 1, "b": 2}, interval_seconds=60, timezone="UTC")
    paused = ws.schedules.pause("credit", schedule.id)
    assert paused.paused and paused.next_run_at is None
    assert fire_due(ws, 60, now=utcnow() + dt.timedelta(hours=1)) == []
    with pytest.raises(Conflict, match="already paused"):
        ws.schedules.pause("credit", schedule.id)
    resumed = ws.schedules.resume("credit", schedule.id)
    assert not resumed.paused and resumed.next_run_at is not None and resumed.next_run_at > utcnow()
    with pytest.raises(NotFound, match=f"system 'other' has no schedule with id {schedule.id}"):
        ws.schedules.delete("other", schedule.id)
    ws.schedules.delete("credit", schedule.id)
    assert ws.schedules.list("credit") == ([], 0)
    assert fire_due(ws, 60, now=utcnow() + dt.timedelta(hours=1)) == []
    assert [a for a, _ in actions(ws, "schedules")] == [
        "schedule.create", "schedule.pause", "schedule.resume", "schedule.delete"
    ]  # fmt: skip
    assert ws.audit.verify().ok


# -- several workers share the queue ------------------------------------------------------------------------------


def test_several_workers_with_their_own_engines_run_each_job_exactly_once(ws: Workspace) -> None:
    count = 30
    ids = {ws.jobs.submit("t.add", {"a": i, "b": 0}, system="credit").id for i in range(count)}
    schedule = ws.schedules.add("credit", "t.add", {"a": 0, "b": 0}, interval_seconds=60, timezone="UTC")
    assert schedule.next_run_at is not None
    due = schedule.next_run_at + dt.timedelta(seconds=1)
    workers = [Workspace.open(ws.root, ws.settings) for _ in range(3)]  # separate engines, as separate processes
    ran: list[list[int]] = [[] for _ in workers]
    fired: list[list[int]] = [[] for _ in workers]
    barrier = threading.Barrier(len(workers))

    def work(index: int) -> None:
        other = workers[index]
        barrier.wait()
        fired[index] = fire_due(other, 60, now=due)
        while (job_id := jobs.run_next(other)) is not None:
            ran[index].append(job_id)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.monotonic() - started
    for other in workers:
        other.close()
    all_ran = [job_id for each in ran for job_id in each]
    assert sum(len(f) for f in fired) == 1  # the due schedule fired once
    assert sorted(all_ran) == sorted(ids | {fired_id for f in fired for fired_id in f})  # each job exactly once
    assert all(status == "succeeded" for status in (ws.jobs.get(i).status for i in all_ran))
    starts = [e for e in ws.audit.log() if e.action == "job.start"]
    assert len(starts) == len(all_ran) == count + 1
    assert ws.audit.verify().ok
    print(f"\n{ws.store.engine.dialect.name}: {len(all_ran)} jobs by 3 workers in {elapsed:.2f} s")


def _wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_jobs_and_schedules_tables_hold_what_the_services_wrote(ws: Workspace) -> None:
    job = ws.jobs.submit("t.add", {"a": 1, "b": 1}, system="credit")
    ws.schedules.add("credit", "t.add", {"a": 1, "b": 1}, cron="*/5 * * * *", timezone="UTC")
    with ws.store.read() as session:
        assert session.get(Job, job.id) is not None
        assert session.query(Schedule).count() == 1
