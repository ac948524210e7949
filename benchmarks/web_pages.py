#!/usr/bin/env python3
"""Server time of every page of the web application on a large workspace, on SQLite and PostgreSQL (issue 17).

    python benchmarks/web_pages.py [--systems 50] [--risks 2000] [--events 100000] [--repeat 20]
                                   [--through-services] [--no-postgres] [--only PATH-PART] [--profile PATH]
                                   [--workdir DIR]

1. Builds a workspace (``Workspace.init``; on PostgreSQL in a throwaway server started as ``benchmarks/ledger.py``
   does, durable: fsync on) holding ``--systems`` AI systems, each with a dataset, two model versions, a recorded
   assessment (a real ``assay.assess`` document), ``--risks`` / ``--systems`` risks, a pending approval request,
   control statuses, an incident and its corrective action; a review configuration with held predictions and a
   contested case on the first system; a management review. All of it goes through the services, each change with
   its audit event.
2. Brings the audit ledger to ``--events`` events. With ``--through-services`` every event is a service call
   (``ws.risks.update``: a risk's review date or owner changed), which this machine does at about 230 a second
   (100,000 take about 7 minutes). By default the same real changes (a risk's review date or owner) are made
   through the store's own write transaction and ``tx.record`` (what every service does after validating its input)
   5,000 to a transaction, about 15 times faster. Either way every event is a real change of a real record,
   chained, hashed and checkpointed by the store's own code, and the script ends the build with
   ``ws.audit.verify()``, which must be clean.
3. Discovers the pages from the app's routes: every ``GET`` route whose path does not start with ``/api``, does not
   end in ``.json`` or ``.csv`` and is not a file (static files, Plotly, the favicon, Prometheus' ``/metrics``);
   path parameters are filled from the data built in 1 (a page whose parameter has no value here is listed as not
   measured, with the parameter's name). Pages other helpers add are found the same way.
4. Requests each page as the administrator and as an ordinary system owner (a member owning 3 of the systems and
   viewing 2 more), once to warm up and then ``--repeat`` times, through Starlette's TestClient (in process, no
   network). The time counted is SERVER time: an ASGI middleware wrapped round the whole application (its own
   middleware included) takes the time from the call to the last byte of the response body, and this process' CPU
   time over the same span. Before each timed request one real change is made through the services (a risk's
   review date, on each system in turn: :class:`Changer`): the first view after someone changed something, which
   is what the target is about (the pages' caches are keyed by the ledger's head, so every one misses; what is
   kept per system, the approvals' digests, is made again for the changed system). A second request, from the
   caches, is timed too. Every fourth time, two more: the first view after the server started (every cache emptied,
   then :func:`assay.server.warm.warm` run as ``assay serve`` runs it at its start, timed apart: "start") and a view
   with every cache emptied and nothing built ("nothing kept": a view that comes while the start's warm-up runs).
   A page that answers an error (403 for a person who may not see it) is measured as that error page and its
   status is shown.
5. Prints p50/p95 (and the median CPU time, the median from the caches, the start's and nothing kept's p50/p95) per
   page, person and database, the start's warm-up time, and the pages over the target of 300 ms (p95 after a change
   or after a start); exit status 1 when there are any.

``--profile PATH``: after the build, sample the server while it serves the page ``PATH`` (as the administrator,
``--repeat`` times) with py-spy, and print where the time goes (the functions with the most samples).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).parent))
import assay
from assay.config import load_settings
from assay.server import create_app, warm
from assay.server.app import ROUTERS
from assay.services import approvals, controls, tasks
from assay.services.workspace import Workspace
from assay.store.models import Risk
from ledger import postgres_server

TARGET_MS = 300.0
PASSWORD = "web-pages-benchmark"
_BATCH = 5_000
_WINDOW = 250
# GET routes outside /api that are files, not pages
NOT_PAGES = ("/favicon.ico", "/static/plotly.min.js", "/metrics")
REVIEW_CONFIG = "sla: 4h\nrules:\n  - name: audit\n    sample: 1.0\n"


# -- the workspace ---------------------------------------------------------------------------------------------------


def assessment_document(n: int = 2000, bootstrap: int = 50) -> dict[str, Any]:
    """A real result document (``n`` rows in two groups, a score, ``bootstrap`` replicates), recorded for every
    system (and by benchmarks/server_load.py)."""
    rng = np.random.default_rng(7)
    group = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    score = np.clip(rng.beta(4, 3, n) - 0.1 * (group == "b"), 0, 1).round(5)
    label = (rng.random(n) < score).astype(int)
    frame = pd.DataFrame({"g": group, "y": label, "p": score})
    return assay.assess(frame, label="y", facets={"g": ["b"]}, score="p", bootstrap=bootstrap).to_dict()


def seed(ws: Workspace, systems: int, risks: int) -> dict[str, Any]:
    """The records of step 1, and the people: ``{"cookies": {person: cookie}, "params": {name: value}}``."""
    document = assessment_document()
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.access.add_user("owner", PASSWORD)
    admin.set_mode("single-user")  # approval requests by the seeding actor (multi-user again at the end)
    categories = ("high", "limited", "minimal", "high", "limited")
    stages = ("inception", "design_and_development", "verification_and_validation", "deployment",
              "operation_and_monitoring")  # fmt: skip
    names = [f"system-{i:02d}" for i in range(systems)]
    per_system = [risks // systems + (1 if i < risks % systems else 0) for i in range(systems)]
    for i, name in enumerate(names):
        category = categories[i % len(categories)]
        admin.systems.create(
            {"name": name, "purpose": f"Decision support number {i}", "eu_ai_act_category": category,
             "lifecycle_stage": stages[i % len(stages)], "owner": "owner" if i < 3 else "admin",
             **({"annex_iii_area": 1 + i % 8} if category == "high" else {})}
        )  # fmt: skip
        admin.datasets.register_version(
            {"dataset": f"data-{i:02d}", "version": "1", "source": "synthetic"}, system=name
        )
        admin.models.register_version(
            name, {"model": "lr", "version": "1", "training_dataset": f"data-{i:02d}@1", "framework": "sklearn"}
        )
        admin.models.register_version(name, {"model": "lr", "version": "2", "parent": "1", "framework": "sklearn"})
        admin.assessments.record(name, document, model_version="lr@2")
        for r in range(per_system[i]):
            admin.risks.add(
                name,
                {"title": f"Risk {r} of {name}", "source": ("model", "data", "deployment")[r % 3],
                 "likelihood": 1 + (i + r) % 5, "impact": 1 + (2 * i + r) % 5,
                 "treatment": ("mitigate", "accept", "transfer", "avoid")[r % 4], "owner": "owner"},
            )  # fmt: skip
        admin.approvals.request(name, "lr@2", "staging")
        admin.controls.set_status(name, "iso42001", "A.6.2.4", implementation="implemented", owner="owner")
        admin.controls.set_status(name, "iso42001", "A.2.2", implementation="in_progress")
        admin.controls.set_status(name, "nist-ai-rmf", "GV-1.1", owner="owner")
        incident = admin.incidents.open(
            name, {"title": f"Incident on {name}", "severity": "low", "occurred_at": "2026-03-01T10:30:00+00:00"}
        )
        admin.incidents.add_action(
            name, incident.id, {"description": "Retrain on the corrected data", "owner": "owner"}
        )
    first = names[0]
    admin.review.configure(first, text=REVIEW_CONFIG)
    held = admin.review.submit(
        first, "lr@2", [{"inference_id": f"inf-{k}", "prediction": k % 2, "x": k} for k in range(30)], everything=True
    )
    item_id = int(held["item_ids"][0])
    # a contested decision; its explanation job stays in the table (failed or queued: the job page shows either)
    case = admin.contests.open(first, "inf-0", model_version="lr@2", requester="a person", grounds="wrong")
    jobs = admin.jobs.list(limit=1)[0]
    for k, system in enumerate(names[:5]):
        admin.access.grant("owner", system, "owner" if k < 3 else "viewer")
    review = admin.aims.reviews.open("Management review", dt.date.today().isoformat(), ["admin"])
    admin.set_mode("multi-user")
    cookies = {}
    for person in ("admin", "owner"):
        token = admin.access.create_token(person, "bench", scope="read")[0]
        cookies[person] = admin.access.start_session(admin.access.from_token(token))[0]
    evidence = admin.controls.list_evidence(first)
    params = {
        "system": first,
        "assessment_id": str(admin.assessments.list(first)[0].id),
        "risk_id": str(admin.risks.list(first)[0].id),
        "ref": "lr@2",
        "framework": "iso42001",
        "control_id": "A.6.2.4",
        "request_id": str(admin.approvals.list(first)[0].id),
        "incident_id": str(incident.id if systems == 1 else admin.incidents.list(first)[0].id),
        "action_id": "1",
        "evidence_id": str(evidence[0].id) if evidence else None,
        "item_id": str(item_id),
        "review_id": str(review.id),
        "case_id": str(case.id),
        "job_id": str(jobs[0].id) if jobs else None,
        "user": "owner",
        "person": "owner",
    }
    return {"cookies": cookies, "params": {k: v for k, v in params.items() if v is not None}}


def pad_ledger(ws: Workspace, events: int, *, through_services: bool) -> tuple[int, float]:
    """Real changes of the risks (review date, owner) until the ledger holds ``events`` events; returns the number
    made and the seconds taken (step 2 of the module's docstring)."""
    start = time.perf_counter()
    missing = events - ws.audit.head_seq()
    if missing <= 0:
        return 0, 0.0
    owners = ("owner", "admin", "alice", "bob")
    first = dt.date(2027, 1, 1)
    if through_services:
        listed = [(system.name, risk.id) for system in ws.systems.list() for risk in ws.risks.list(system.name)]
        for i in range(missing):
            system, risk_id = listed[i % len(listed)]
            change = {"review_date": (first + dt.timedelta(days=i % 365)).isoformat()} if i % 2 else {}
            ws.risks.update(system, risk_id, change or {"owner": owners[i % len(owners)]})
        return missing, time.perf_counter() - start
    done = 0
    with ws.store.read() as session:
        ids = list(session.scalars(select(Risk.id).order_by(Risk.id)))
    while done < missing:
        with ws.store.write(("alice", "bob", "carol")[done % 3], authenticated=True) as tx:
            # a few hundred risks per transaction: each flush looks at every object the session holds
            start_at = (done // _BATCH * _WINDOW) % len(ids)
            window = ids[start_at : start_at + _WINDOW]
            found = list(tx.session.scalars(select(Risk).where(Risk.id.in_(window)).order_by(Risk.id)))
            for _ in range(min(_BATCH, missing - done)):
                risk = found[done % len(found)]
                before = risk.state()
                if done % 2:
                    risk.review_date = first + dt.timedelta(days=done % 365)
                    changed = "review_date"
                else:
                    risk.owner = owners[done % len(owners)]
                    changed = "owner"
                risk.updated_at = dt.datetime.now(dt.UTC)
                tx.record("risk.update", risk, before=before, payload={"changed": [changed]})
                done += 1
    return missing, time.perf_counter() - start


# -- measuring -------------------------------------------------------------------------------------------------------


class Changer:
    """One real change per call through the services, as a person makes it: a risk's review date moved, on each
    system in turn (every page's caches are keyed by the ledger's head, so each change is "any change" to them; what
    is kept by system, the approvals' digests, is made again for the changed system only)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws.authenticated_as("admin")
        self.risks = [(s.name, risks[0].id) for s in ws.systems.list() if (risks := ws.risks.list(s.name))]
        self.done = 0

    def change(self) -> None:
        system, risk = self.risks[self.done % len(self.risks)]
        day = dt.date(2027, 6, 1) + dt.timedelta(days=self.done % 300)
        self.ws.risks.update(system, risk, {"review_date": day.isoformat()})
        self.done += 1


WARM_UPS: list[float] = []  # the start's warm-up times (ms) of the run on one database


def forget(app: Any) -> None:
    """Empty the app's page caches (``app.state.*_cache``, and the approvals' digests), so that the next request
    builds its page: the first view after any change (the caches are keyed by the ledger's head), which is what
    the target is about."""
    state = app.state._state
    for name in [n for n in state if n.endswith("_cache") or n == "header_counts"]:  # the header's counts too
        del state[name]
    approvals._DIGESTS.clear()  # the approval states' digests, kept from head to head for the systems not changed
    controls._ENTRIES.clear()  # each system's readiness entries, likewise
    tasks.forget()  # each person's task list by source, likewise


class ServerTime:
    """Pure ASGI, round the whole application: the time from the call to the last byte of the response's body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last: float = 0.0
        self.cpu: float = 0.0  # this process' CPU time over the same span (the client waits meanwhile)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start, start_cpu = time.perf_counter(), time.process_time()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.last = time.perf_counter() - start
                self.cpu = time.process_time() - start_cpu

        await self.app(scope, receive, timed_send)


def pages(app: Any) -> list[str]:
    """The paths of the app's pages (step 3 of the module's docstring), in the app's order: the routes of its
    routers (``assay.server.app.ROUTERS``, which FastAPI includes as they are) and any route added to it directly."""
    found = []
    for route in [*(r for router in ROUTERS for r in router.routes), *app.routes]:
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        path = route.path
        if path.startswith(("/api", "/static")) or path.endswith((".json", ".csv")) or path in NOT_PAGES:
            continue
        if path not in found:
            found.append(path)
    return found


def fill(path: str, params: dict[str, str]) -> tuple[str | None, list[str]]:
    """The path with its parameters filled, or None and the names that have no value."""
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    missing = [n for n in names if n not in params]
    if missing:
        return None, missing
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: params[m.group(1)], path), []


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(
    ws: Workspace, cookies: dict[str, str], params: dict[str, str], repeat: int, only: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    timer = ServerTime(create_app(ws, secure_cookies=False, freeze_gc=True))  # as `assay serve` runs it
    rows, skipped = [], []
    changer = Changer(ws)
    with TestClient(timer, follow_redirects=False) as client:  # type: ignore[arg-type]
        for path in pages(timer.app):
            if only and only not in path:
                continue
            url, missing = fill(path, params)
            if url is None:
                skipped.append(f"{path} (no value for {', '.join(missing)})")
                continue
            if path == "/login":
                continue  # below, as nobody
            for person, cookie in cookies.items():
                client.cookies.set("assay_session", cookie)
                status = client.get(url).status_code  # warm-up
                times, cached, cpu, cold, start = [], [], [], [], []
                for i in range(repeat):
                    changer.change()  # someone changed something: the ledger's head moved
                    response = client.get(url)
                    times.append(timer.last * 1000)
                    cpu.append(timer.cpu * 1000)
                    status = response.status_code
                    client.get(url)  # again, from the caches
                    cached.append(timer.last * 1000)
                    if i % 4:
                        continue
                    forget(timer.app)  # the server started: what the first views share built at its start
                    WARM_UPS.append(warm.warm(timer.app) * 1000)
                    client.get(url)
                    start.append(timer.last * 1000)
                    forget(timer.app)  # nothing kept: a view that comes while the start's warm-up runs
                    client.get(url)
                    cold.append(timer.last * 1000)
                rows.append({"path": path, "url": url, "person": person, "status": status,
                             "p50": statistics.median(times), "p95": percentile(times, 0.95),
                             "cached": statistics.median(cached), "cpu": statistics.median(cpu),
                             "start_p50": statistics.median(start), "start_p95": percentile(start, 0.95),
                             "cold_p50": statistics.median(cold), "cold_p95": percentile(cold, 0.95)})  # fmt: skip
                client.cookies.clear()
        # the login page: nobody logged in
        if not only or only in "/login":
            times, cpu = [], []
            client.get("/login")
            for _ in range(repeat):
                status = client.get("/login").status_code
                times.append(timer.last * 1000)
                cpu.append(timer.cpu * 1000)
            rows.append({"path": "/login", "url": "/login", "person": "(nobody)", "status": status,
                         "p50": statistics.median(times), "p95": percentile(times, 0.95),
                         "cached": statistics.median(times), "cpu": statistics.median(cpu),
                         "start_p50": statistics.median(times), "start_p95": percentile(times, 0.95),
                         "cold_p50": statistics.median(times), "cold_p95": percentile(times, 0.95)})  # fmt: skip
    return rows, skipped


def profile(ws: Workspace, cookie: str, url: str, repeat: int, workdir: Path) -> str:
    """py-spy's samples of this process while it serves ``url`` ``repeat`` times: the top functions (own time and
    with what they call)."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        return "py-spy is not installed"
    raw = workdir / "profile.txt"
    app = create_app(ws, secure_cookies=False, freeze_gc=True)
    with TestClient(app, follow_redirects=False) as client:
        client.cookies.set("assay_session", cookie)
        client.get(url)
        sampler = subprocess.Popen([py_spy, "record", "--pid", str(os.getpid()), "--format", "raw", "--rate", "200",
                                    "--output", str(raw), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(1.0)
        for _ in range(repeat):
            forget(app)  # the page built, as measured
            client.get(url)
        sampler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT (SIGTERM ends it without them)
        sampler.wait(timeout=30)
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any("assay" in f for f in frames):
            continue  # idle threads
        samples += int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + int(count)
    lines = [f"{samples} samples in the app's threads; with what they call:"]
    lines += [f"  {n / samples:6.1%}  {f}" for f, n in sorted(total.items(), key=lambda x: -x[1])[:40]
              if "assay" in f or "sqlalchemy" in f or "jinja" in f]  # fmt: skip
    lines.append("own time:")
    lines += [f"  {n / samples:6.1%}  {f}" for f, n in sorted(own.items(), key=lambda x: -x[1])[:20]]
    return "\n".join(lines)


# -- the run ---------------------------------------------------------------------------------------------------------


def run_on(label: str, url: str | None, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    settings = load_settings(actor="setup", workspace=None)
    start = time.perf_counter()
    ws = Workspace.init(workdir / f"ws-{label.lower()}", settings, database_url=url)
    try:
        made = seed(ws, args.systems, args.risks)
        seeded = time.perf_counter() - start
        padded, padding = pad_ledger(ws, args.events, through_services=args.through_services)
        start_verify = time.perf_counter()
        verified = ws.audit.verify()
        assert verified.ok, verified
        if ws.store.engine.dialect.name == "postgresql":  # the bulk load analysed, as autovacuum would in time
            with ws.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        how = "services (ws.risks.update)" if args.through_services else f"tx.record, {_BATCH:,} per transaction"
        print(f"\n{label}: seeded through the services in {seeded:.1f} s ({ws.audit.head_seq() - padded:,} events); "
              f"{padded:,} more events through {how} in {padding:.1f} s ({padded / max(padding, 1e-9):,.0f}/s); "
              f"ledger of {ws.audit.head_seq():,} events verified clean in {time.perf_counter() - start_verify:.1f} s",
              flush=True)  # fmt: skip
        if args.profile:
            print(profile(ws, made["cookies"]["admin"], fill(args.profile, made["params"])[0] or args.profile,
                          args.repeat, workdir))  # fmt: skip
            return []
        rows, skipped = measure(ws, made["cookies"], made["params"], args.repeat, args.only)
    finally:
        ws.close()
    print(
        f"\n| Page ({label}) | person | status | p50 ms | p95 ms | CPU ms (p50) | p50 ms cached "
        "| start p50 / p95 ms | nothing kept p50 / p95 ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        flag = " **over**" if row["p95"] > TARGET_MS else ""
        start_flag = " **over**" if row["start_p95"] > TARGET_MS else ""
        print(
            f"| `{row['path']}` | {row['person']} | {row['status']} | {row['p50']:.0f} | {row['p95']:.0f}{flag} "
            f"| {row['cpu']:.0f} | {row['cached']:.0f} | {row['start_p50']:.0f} / {row['start_p95']:.0f}{start_flag} "
            f"| {row['cold_p50']:.0f} / {row['cold_p95']:.0f} |"
        )
    if WARM_UPS:
        print(f"the start's warm-up ({label}): median {statistics.median(WARM_UPS):.0f} ms, "
              f"max {max(WARM_UPS):.0f} ms over {len(WARM_UPS)} starts")  # fmt: skip
        WARM_UPS.clear()
    for page in skipped:
        print(f"not measured: {page}")
    for row in rows:
        row["database"] = label
    return rows


@contextmanager
def _no_postgres() -> Iterator[None]:
    yield None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--systems", type=int, default=50)
    parser.add_argument("--risks", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--through-services", action="store_true", help="every padding event a service call")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--only", help="measure only the pages whose path contains this")
    parser.add_argument("--profile", metavar="PATH", help="profile one page (its route path) with py-spy")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="assay-web-pages-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}; "
          f"{args.systems} systems, {args.risks:,} risks, {args.events:,} events, {args.repeat} requests per page "
          "and person after one to warm up", flush=True)  # fmt: skip
    rows = []
    if not args.no_sqlite:
        rows += run_on("SQLite", None, args, workdir)
    if not args.no_postgres:
        with postgres_server() as url:
            if url is None:
                print("PostgreSQL is not installed: measured on SQLite only")
            else:
                rows += run_on("PostgreSQL", url, args, workdir)
    over = [r for r in rows if max(r["p95"], r["start_p95"]) > TARGET_MS]
    print(
        f"\nload average at the end {os.getloadavg()[0]:.2f}; pages over {TARGET_MS:.0f} ms (p95): "
        + (
            ", ".join(
                f"{r['path']} ({r['database']}, {r['person']}, {max(r['p95'], r['start_p95']):.0f} ms)" for r in over
            )
            or "none"
        )
    )
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
