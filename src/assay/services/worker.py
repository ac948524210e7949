"""Workers: threads that run queued jobs, fire due schedules and fail jobs whose worker died.

:class:`WorkerPool` runs inside ``assay serve`` (``ASSAY_WORKERS`` threads, started and stopped with the server)
and in ``assay worker`` (its own process; several may share one PostgreSQL database). Each worker thread claims
the oldest queued job and runs it; one housekeeping thread fires due schedules, refreshes the heartbeat of the
jobs running in this process and fails the jobs left running by a worker that stopped (:func:`.jobs.reap`).

At shutdown the pool asks its running jobs to stop (their next progress report raises), waits
``ASSAY_WORKER_SHUTDOWN_GRACE`` seconds, and marks failed, with :data:`.jobs.STOPPED_REASON`, any still running:
a stopped server never leaves a job ``running``. A worker that dies without stopping (killed, power cut) leaves
its jobs to the restart rule.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Final

from assay.services import jobs as jobs_module
from assay.services.jobs import STOPPED_REASON, WAKE, claim, finish, heartbeat, reap, run_job, worker_id
from assay.services.schedules import fire_due

if TYPE_CHECKING:
    from assay.services.workspace import Workspace

__all__ = ["WorkerPool", "run_until_idle"]

log = logging.getLogger("assay.jobs")
HEARTBEAT_SHARE: Final = 5  # a heartbeat every timeout / 5 seconds


class WorkerPool:
    """``threads`` worker threads and one housekeeping thread over ``ws`` (settings from ``ws.settings``)."""

    def __init__(self, ws: Workspace, threads: int | None = None, *, trust_pickle: bool = False) -> None:
        settings = ws.settings
        self.trust_pickle = trust_pickle
        self.ws = ws
        self.threads = settings.workers if threads is None else threads
        self.poll = settings.worker_poll_seconds
        self.timeout = float(settings.job_heartbeat_timeout)
        self.grace = float(settings.schedule_grace_seconds)
        self.shutdown_grace = settings.worker_shutdown_grace
        self._stop = threading.Event()
        self._running: dict[int, str] = {}  # job id -> worker
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        if settings.test_handlers:
            jobs_module.register_test_handlers()

    def start(self) -> None:
        """Fail the jobs a dead worker left running, then start the threads."""
        self._housekeep(reap_now=True)
        for number in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"assay-worker-{number + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)
        keeper = threading.Thread(target=self._keep, name="assay-housekeeping", daemon=True)
        keeper.start()
        self._threads.append(keeper)

    def stop(self) -> None:
        """Ask running jobs to stop, wait for them (the shutdown grace), and fail any still running."""
        self._stop.set()
        WAKE.set()
        deadline = time.monotonic() + self.shutdown_grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = dict(self._running)
        for job_id, worker in left.items():
            if finish(self.ws, job_id, worker, "failed", error=STOPPED_REASON):
                log.warning("job %s failed: %s", job_id, STOPPED_REASON)
        self._threads.clear()

    def _work(self) -> None:
        worker = worker_id()
        while not self._stop.is_set():
            try:
                job = claim(self.ws, worker)
            except Exception:  # the database is away for a moment: try again at the next poll
                log.exception("worker %s could not claim a job", worker)
                job = None
            if job is None:
                WAKE.wait(self.poll)
                WAKE.clear()
                continue
            with self._lock:
                self._running[job.id] = worker
            try:
                run_job(self.ws, job, worker, self._stop, trust_pickle=self.trust_pickle)
            except Exception:
                log.exception("worker %s could not record the end of job %s", worker, job.id)
            finally:
                with self._lock:
                    self._running.pop(job.id, None)

    def _housekeep(self, *, reap_now: bool) -> None:
        try:
            fire_due(self.ws, self.grace)
            heartbeat(self.ws)
            if reap_now:
                reap(self.ws, self.timeout)
        except Exception:
            log.exception("job housekeeping failed (tried again at the next poll)")

    def _keep(self) -> None:
        last_reap = time.monotonic()
        while not self._stop.wait(min(self.poll, self.timeout / HEARTBEAT_SHARE)):
            now = time.monotonic()
            reap_now = now - last_reap >= self.timeout / 2
            if reap_now:
                last_reap = now
            self._housekeep(reap_now=reap_now)


def run_until_idle(ws: Workspace, *, trust_pickle: bool = False) -> int:
    """``assay worker --once``: fail lost jobs, fire due schedules, then run queued jobs in this thread until none
    is left. Returns how many jobs ran."""
    settings = ws.settings
    if settings.test_handlers:
        jobs_module.register_test_handlers()
    reap(ws, float(settings.job_heartbeat_timeout))
    fire_due(ws, float(settings.schedule_grace_seconds))
    count = 0
    stop = threading.Event()
    worker = worker_id()
    while True:
        job = claim(ws, worker)
        if job is None:
            return count
        run_job(ws, job, worker, stop, trust_pickle=trust_pickle)
        count += 1
