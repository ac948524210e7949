"""Workers: threads that run queued jobs, fire due schedules and fail jobs whose worker died.

:class:`WorkerPool` runs in ``assay worker`` (its own process; several may share one PostgreSQL database) and, for
``assay serve``, in a child ``assay worker`` process that the server starts and stops (:class:`WorkerProcess`,
``ASSAY_WORKER_PROCESS``, the default) or in the server's own process (``ASSAY_WORKER_PROCESS=false``, and the
application made by ``create_app`` alone). A computation holds the GIL for much of its time and keeps every core
busy: in a process of its own, at a lower CPU priority (``ASSAY_WORKER_NICE``), it cannot slow the server's
answers (see docs/jobs.md, "Workers", for the measurements). Each worker thread claims
the oldest queued job and runs it; one housekeeping thread fires due schedules, refreshes the heartbeat of the
jobs running in this process and fails the jobs left running by a worker that stopped (:func:`.jobs.reap`). When
e-mail is configured (``ASSAY_SMTP_HOST``), one more thread e-mails people their new notifications every
``ASSAY_NOTIFY_EMAIL_SECONDS`` (:func:`send_notifications`; in a thread of its own, so that a slow mail server never
delays the heartbeats).

At shutdown the pool asks its running jobs to stop (their next progress report raises), waits
``ASSAY_WORKER_SHUTDOWN_GRACE`` seconds, and marks failed, with :data:`.jobs.STOPPED_REASON`, any still running:
a stopped server never leaves a job ``running``. A worker that dies without stopping (killed, power cut) leaves
its jobs to the restart rule.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Final

from sqlalchemy import select

from assay.services import jobs as jobs_module
from assay.services.jobs import STOPPED_REASON, WAKE, claim, finish, heartbeat, reap, run_job, worker_id
from assay.services.schedules import fire_due
from assay.store.models import Job

if TYPE_CHECKING:
    from assay.services.workspace import Workspace

__all__ = ["WorkerPool", "WorkerProcess", "run_until_idle", "send_notifications", "serve_parent"]

log = logging.getLogger("assay.jobs")
HEARTBEAT_SHARE: Final = 5  # a heartbeat every timeout / 5 seconds
PARENT_GONE_EXIT: Final = 3  # exit status of a worker process whose server died


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
        if _mail_enabled(self.ws):
            mailer = threading.Thread(target=self._mail, name="assay-notifications", daemon=True)
            mailer.start()
            self._threads.append(mailer)

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

    def _mail(self) -> None:
        every = float(self.ws.settings.notify_email_seconds)
        while not self._stop.wait(every):
            try:
                send_notifications(self.ws)
            except Exception:  # the database or the mail server is away: tried again next time
                log.exception("notifications could not be e-mailed (tried again in %s s)", every)

    def _keep(self) -> None:
        last_reap = time.monotonic()
        while not self._stop.wait(min(self.poll, self.timeout / HEARTBEAT_SHARE)):
            now = time.monotonic()
            reap_now = now - last_reap >= self.timeout / 2
            if reap_now:
                last_reap = now
            self._housekeep(reap_now=reap_now)


def _mail_enabled(ws: Workspace) -> bool:
    return bool(ws.settings.smtp_host) and ws.settings.notify_email_seconds > 0


def send_notifications(ws: Workspace) -> int:
    """E-mail each person their new notifications, once (:meth:`.notifications.Notifications.send_email`), when
    e-mail is configured (``ASSAY_SMTP_HOST``, ``ASSAY_NOTIFY_EMAIL_SECONDS`` > 0); how many e-mails were sent."""
    if not _mail_enabled(ws):
        return 0
    sent = 0
    for result in ws.notifications.send_email():
        if result.sent:
            sent += 1
        else:
            log.warning("notifications for %s not e-mailed to %s: %s", result.person, result.address, result.error)
    return sent


def run_until_idle(ws: Workspace, *, trust_pickle: bool = False) -> int:
    """``assay worker --once``: fail lost jobs, fire due schedules, e-mail new notifications (when configured), then
    run queued jobs in this thread until none is left. Returns how many jobs ran."""
    settings = ws.settings
    if settings.test_handlers:
        jobs_module.register_test_handlers()
    reap(ws, float(settings.job_heartbeat_timeout))
    fire_due(ws, float(settings.schedule_grace_seconds))
    try:
        send_notifications(ws)
    except Exception:  # never keeps the queued jobs from running
        log.exception("notifications could not be e-mailed (tried again at the next run)")
    count = 0
    stop = threading.Event()
    worker = worker_id()
    while True:
        job = claim(ws, worker)
        if job is None:
            return count
        run_job(ws, job, worker, stop, trust_pickle=trust_pickle)
        count += 1


class WorkerProcess:
    """``assay serve``'s workers in a child process: ``python -m assay -w ROOT worker --threads N --from-server``.

    :meth:`start` fails the jobs a dead worker left running (the restart rule, before the server answers), then
    starts the child in its own session (a Ctrl-C on the server's terminal reaches the server, which stops the
    child in order) with the server's settings in its environment. Its standard input is a pipe: each submit in
    the server (:data:`.jobs.WAKE`) writes a byte, so the child claims the job at once; when the server dies the
    pipe closes and the child exits at once (its running jobs are then failed by the restart rule, as threads
    would have died with the server). A child that dies while the server runs (a job used all the memory) is
    started again. :meth:`stop` sends SIGTERM (the worker asks its jobs to stop, waits
    ``ASSAY_WORKER_SHUTDOWN_GRACE`` and fails the rest) and waits for it."""

    def __init__(self, ws: Workspace, threads: int | None = None, *, trust_pickle: bool = False) -> None:
        self.ws = ws
        self.threads = ws.settings.workers if threads is None else threads
        self.trust_pickle = trust_pickle
        self.process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "assay", "-w", str(self.ws.root), "worker", "--threads", str(self.threads)]
        return [*command, "--from-server", *(["--trust-pickle"] if self.trust_pickle else [])]

    def _spawn(self) -> subprocess.Popen[bytes]:
        environment = dict(os.environ)
        if self.ws.settings.database_url:  # given to the server on its command line: the child needs it too
            environment["ASSAY_DATABASE_URL"] = self.ws.settings.database_url
        environment["ASSAY_WORKERS"] = str(self.threads)
        process = subprocess.Popen(self.command(), stdin=subprocess.PIPE, env=environment, start_new_session=True)
        log.info("job worker process %s started (%s thread(s))", process.pid, self.threads)
        return process

    def start(self) -> None:
        settings = self.ws.settings
        try:
            reap(self.ws, float(settings.job_heartbeat_timeout))
        except Exception:
            log.exception("could not fail the jobs left running (the worker process tries again)")
        self.process = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="assay-worker-process", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        """Pass the server's wake-ups to the child; start it again if it died."""
        while not self._stop.is_set():
            woken = WAKE.wait(1.0)
            if self._stop.is_set():
                return
            process = self.process
            assert process is not None and process.stdin is not None
            if process.poll() is not None:
                log.error("job worker process %s exited with status %s: starting another", process.pid,
                          process.returncode)  # fmt: skip
                self._fail_left(process.pid, jobs_module.LOST_REASON)
                self.process = self._spawn()
                continue
            if woken:
                WAKE.clear()
                try:
                    process.stdin.write(b".")
                    process.stdin.flush()
                except OSError:  # it is exiting: the next round starts another
                    continue

    def _fail_left(self, pid: int, reason: str) -> None:
        """Fail the jobs the child ``pid`` left running."""
        prefix = f"{worker_id().split(':', 1)[0]}:{pid}:"
        with self.ws.store.read() as session:
            rows = session.execute(
                select(Job.id, Job.worker).where(Job.status == "running", Job.worker.startswith(prefix))
            ).all()
        for job_id, worker in rows:
            if finish(self.ws, job_id, worker, "failed", error=reason):
                log.warning("job %s failed: %s", job_id, reason)

    def stop(self) -> None:
        self._stop.set()
        WAKE.set()
        if self._watcher is not None:
            self._watcher.join(5)
        process = self.process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(self.ws.settings.worker_shutdown_grace + 20)
        except subprocess.TimeoutExpired:
            log.error("job worker process %s did not stop: killed", process.pid)
            process.kill()
            process.wait()
        if process.stdin is not None:
            process.stdin.close()
        self._fail_left(process.pid, STOPPED_REASON)
        self.process = None


def serve_parent(stream: IO[bytes]) -> None:
    """In a worker process started by ``assay serve`` (``assay worker --from-server``): lower this process's CPU
    priority by ``ASSAY_WORKER_NICE``, and read the server's pipe on a daemon thread: a byte wakes the workers (a job
    was submitted), the end of the pipe means the server is gone, and this process exits at once."""
    from assay.config import load_settings

    nice = load_settings().worker_nice
    if nice and hasattr(os, "nice"):
        os.nice(nice)

    def read() -> None:
        descriptor = stream.fileno()
        while True:
            try:
                chunk = os.read(descriptor, 64)
            except OSError:
                chunk = b""
            if not chunk:
                log.warning("the server that started this worker is gone: exiting")
                os._exit(PARENT_GONE_EXIT)
            WAKE.set()

    threading.Thread(target=read, name="assay-server-pipe", daemon=True).start()
