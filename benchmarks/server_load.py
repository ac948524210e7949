#!/usr/bin/env python3
"""Server load benchmark: the dashboard and the API reads under 50 concurrent users (locust, headless, loopback).

    python benchmarks/server_load.py [--users 50] [--run-time 60] [--wait 0.5-1.5] [--systems 20]
                                     [--only pages|api|review]
                                     [--database-url URL | --postgres] [--profile] [--workdir DIR]

1. Seeds a workspace: ``--systems`` AI systems, each with two model versions (lineage), a dataset, two recorded
   assessments (a real ``assay.assess`` document), three risks, a pending approval request, control statuses and an
   incident; users of every kind (an admin, an auditor, members owning some systems and viewing others), each with
   an API token and a web session (made through the services, so no password hashing happens during the run).
2. Starts the server as users do, ``assay -w WORKSPACE serve`` (uvicorn, one process), on a free loopback port, and
   warms it up with one request per endpoint.
3. Runs locust headless in a child process (this file is also its locustfile): ``--users`` users, all started within
   the first second, each one of the seeded people, for ``--run-time`` seconds (statistics reset once all users are
   running). Each user waits ``--wait`` seconds (uniform; ``0`` for a closed loop at full speed) between requests
   and picks, by weight: the dashboard (``/`` and ``/index.json``, session cookie), a system page, and the API reads
   (``/api/systems``, ``/api/systems/{system}``, its ``/risks``, ``/models``, ``/assessments``, ``/approvals``,
   ``/incidents``, ``/readiness``; ``/api/audit/events`` for the admin and the auditor) with the user's token. Only a
   200 with the expected content type counts as a success.
4. Prints p50/p95/p99 latency per endpoint and overall, requests/s, the error rate, the CPU time the server and
   locust used, and the load average; ``--profile`` also samples the server with py-spy and prints where its time
   goes.

Target: p95 < 100 ms with no errors.

``--only review``: the deployed services' "does this need review?" call (issue 15). Every system has a review
configuration (an uncertainty band holding about 10% of predictions, and a 1% audit sample), and each user is a
service with an owner's ``ingest`` token that asks ``POST /api/systems/{system}/models/lr@2/review`` for new
predictions (a new inference id each time, a uniform score; a held prediction writes its item and audit event).
Target: p95 < 20 ms with no errors.

``--during-job``: the same server answering while it runs a 1M-row bias assessment job (issue 12)::

    python benchmarks/server_load.py --during-job [--rows 1000000] [--clients 2] [--think 0.05]
                                     [--baseline-seconds 20] [--no-in-process] [--workdir DIR]

1. Writes ``--rows`` synthetic rows as Parquet: ``label`` (0/1), ``prediction`` (0/1), ``score``, the facets
   ``sex`` and ``age_group``, and the numeric features ``x0``..``x3``; makes a workspace (``Workspace.init``, as
   ``assay init``) with an admin, their API token and a web session, and the AI system ``credit``.
2. Starts ``assay -w WS serve`` with the default settings (``ASSAY_WORKERS=1``), uploads the file
   (``POST /api/artifacts``) and registers it (``POST /api/datasets``).
3. ``POST /api/systems/credit/assessments/run`` with the default options (every metric, FT on the numeric
   features, the default bootstrap) on the facets ``sex=F`` and ``age_group=>60``: 202 with a job. While the job is
   queued or running, ``--clients`` threads each send, one after the other with ``--think`` seconds between,
   ``GET /api/health``, ``GET /api/systems``, ``GET /api/jobs/{id}`` and the page ``GET /systems/credit``, and
   record each latency; they stop when the job has ended. Only the requests sent while it ran count.
4. Then the same clients for ``--baseline-seconds`` with no job running (the baseline), and the same assessment
   in a child process with ``assay.assess`` on the file (the computation alone, without the server).
5. Prints p50/p95/p99/max per route and overall, during the job and in the baseline, their ratio, the job's
   state and duration, and the server's CPU time. Exit status 0 when p95 during the job is under 100 ms.
"""

from __future__ import annotations

import os

if __name__ != "__main__":  # imported by locust as its locustfile: the simulated users
    import itertools
    import json
    import random
    from pathlib import Path
    from typing import ClassVar

    import gevent
    from locust import FastHttpUser, between, constant

    _PLAN = json.loads(Path(os.environ["ASSAY_LOAD_PLAN"]).read_text(encoding="utf-8"))
    _NEXT = itertools.count()

    class Reader(FastHttpUser):
        """One seeded person: pages with their session cookie, API reads with their token."""

        low, high = (float(x) for x in _PLAN["wait"])
        wait_time = constant(0) if high == 0 else between(low, high)

        def on_start(self) -> None:
            person = _PLAN["people"][next(_NEXT) % len(_PLAN["people"])]
            self.systems: list[str] = person["systems"]
            self.auditor: bool = person["audit"]
            self.page_headers = {"Cookie": f"assay_session={person['cookie']}"}
            self.owned: list[str] = person.get("owned", [])
            self.ingest_headers = {"Authorization": f"Bearer {person.get('ingest')}"}
            self.prefix = f"{person['name']}-{random.getrandbits(32):08x}"
            self.counter = itertools.count()
            if _PLAN["only"] == "review":  # independent services: not all 50 asking in the same millisecond at start
                gevent.sleep(random.uniform(0, max(self.high, 0.1)))
            self.api_headers = {"Authorization": f"Bearer {person['token']}"}

        def _get(self, path: str, name: str, *, page: bool = False, html: bool = False) -> None:
            headers = self.page_headers if page else self.api_headers
            with self.client.get(
                path, headers=headers, name=name, allow_redirects=False, catch_response=True
            ) as response:
                kind = response.headers.get("content-type", "")
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")
                elif ("text/html" if html else "application/json") not in kind:
                    response.failure(f"unexpected content type {kind}")

        def _system(self) -> str:
            return random.choice(self.systems)

        def dashboard_json(self) -> None:
            self._get("/index.json", "/index.json", page=True)

        def dashboard_html(self) -> None:
            self._get("/", "/", page=True, html=True)

        def system_page(self) -> None:
            self._get(f"/systems/{self._system()}", "/systems/{system}", page=True, html=True)

        def systems(self) -> None:
            self._get("/api/systems", "/api/systems")

        def system(self) -> None:
            self._get(f"/api/systems/{self._system()}", "/api/systems/{system}")

        def risks(self) -> None:
            self._get(f"/api/systems/{self._system()}/risks", "/api/systems/{system}/risks")

        def models(self) -> None:
            self._get(f"/api/systems/{self._system()}/models", "/api/systems/{system}/models")

        def assessments(self) -> None:
            self._get(f"/api/systems/{self._system()}/assessments", "/api/systems/{system}/assessments")

        def approvals(self) -> None:
            self._get(f"/api/systems/{self._system()}/approvals", "/api/systems/{system}/approvals")

        def incidents(self) -> None:
            self._get(f"/api/systems/{self._system()}/incidents", "/api/systems/{system}/incidents")

        def readiness(self) -> None:
            self._get(f"/api/systems/{self._system()}/readiness", "/api/systems/{system}/readiness")

        def route_review(self) -> None:
            system = random.choice(self.owned)
            score = random.random()
            body = {"inference_id": f"{self.prefix}-{next(self.counter)}", "features": {"age": random.randint(18, 90),
                    "region": random.choice(("north", "south", "east", "west"))},
                    "output": {"prediction": int(score > 0.5), "score": score}}  # fmt: skip
            with self.client.post(
                f"/api/systems/{system}/models/lr@2/review", json=body, headers=self.ingest_headers,
                name="/api/systems/{system}/models/{ref}/review", catch_response=True,
            ) as response:  # fmt: skip
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                elif response.json().get("status") not in ("proceed", "review"):
                    response.failure(f"unexpected answer {response.text[:200]}")

        def audit_events(self) -> None:
            if self.auditor:
                self._get("/api/audit/events?limit=50", "/api/audit/events")
            else:
                self._get("/api/me", "/api/me")

        # (task, weight, "pages", "api" or "review"): the mix; --only keeps one kind (review only with --only)
        _WEIGHTS = (
            (dashboard_json, 3, "pages"),
            (dashboard_html, 2, "pages"),
            (system_page, 1, "pages"),
            (systems, 3, "api"),
            (system, 3, "api"),
            (risks, 3, "api"),
            (models, 1, "api"),
            (assessments, 1, "api"),
            (approvals, 1, "api"),
            (incidents, 1, "api"),
            (readiness, 1, "api"),
            (audit_events, 1, "api"),
            (route_review, 1, "review"),
        )
        tasks: ClassVar = {
            f: w for f, w, kind in _WEIGHTS if _PLAN["only"] == kind or (_PLAN["only"] is None and kind != "review")
        }


else:  # the benchmark itself
    import argparse
    import csv
    import datetime as dt
    import itertools
    import json
    import platform
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile
    import time
    import urllib.request
    from collections import Counter
    from pathlib import Path
    from typing import Any

    import numpy as np
    import pandas as pd
    import psutil

    from assay.config import load_settings
    from assay.services.workspace import Workspace

    TARGET_P95_MS = 100.0
    TARGET_REVIEW_P95_MS = 20.0
    REVIEW_CONFIG = (
        "sla: 4h\ndouble_review: 0.1\nrules:\n  - name: uncertain\n    score_between: [0.45, 0.55]\n"
        "  - name: audit\n    sample: 0.01\n"
    )
    PASSWORD = "load-test-password"
    BIN = Path(sys.executable).parent

    def assessment_document() -> dict[str, Any]:
        """A real result document (two groups, a score, 200 bootstrap replicates), recorded many times."""
        from web_pages import assessment_document as document  # one recipe for the benchmarks' documents

        return document(n=3000, bootstrap=200)

    def seed(ws: Workspace, systems: int) -> list[dict[str, Any]]:
        """Records for ``systems`` AI systems, and the people who use them (with a token and a session each)."""
        document = assessment_document()
        ws.set_mode("single-user")  # the seed's word counts (approval requests need it); multi-user again at the end
        categories = ("high", "limited", "minimal", "high", "limited")
        stages = (
            "inception",
            "design_and_development",
            "verification_and_validation",
            "deployment",
            "operation_and_monitoring",
        )
        names = [f"system-{i:02d}" for i in range(systems)]
        for i, name in enumerate(names):
            ws.systems.create(
                {
                    "name": name,
                    "purpose": f"Decision support number {i}",
                    "eu_ai_act_category": categories[i % len(categories)],
                    "lifecycle_stage": stages[i % len(stages)],
                    "owner": "owner",
                    **({"annex_iii_area": 1 + i % 8} if categories[i % len(categories)] == "high" else {}),
                }
            )
            ws.datasets.register_version(
                {"dataset": f"data-{i:02d}", "version": "1", "source": "synthetic"}, system=name
            )
            ws.models.register_version(
                name, {"model": "lr", "version": "1", "training_dataset": f"data-{i:02d}@1", "framework": "sklearn"}
            )
            ws.models.register_version(name, {"model": "lr", "version": "2", "parent": "1", "framework": "sklearn"})
            for ref in ("lr@1", "lr@2"):
                ws.assessments.record(name, document, model_version=ref)
            for r in range(3):
                ws.risks.add(
                    name,
                    {
                        "title": f"Risk {r} of {name}",
                        "source": ("model", "data", "deployment")[r],
                        "likelihood": 1 + (i + r) % 5,
                        "impact": 1 + (2 * i + r) % 5,
                        "treatment": ("mitigate", "accept", "transfer")[r],
                    },
                )
            ws.approvals.request(name, "lr@2", "staging")
            ws.controls.set_status(name, "iso42001", "A.6.2.4", implementation="implemented", owner="owner")
            ws.controls.set_status(name, "iso42001", "A.2.2", implementation="in_progress")
            ws.controls.set_status(name, "nist-ai-rmf", "GV-1.1", owner="owner")
            ws.incidents.open(
                name,
                {"title": f"Incident on {name}", "severity": "low", "occurred_at": "2025-03-01T10:30:00+00:00"},
            )
            ws.review.configure(name, text=REVIEW_CONFIG)
        people: list[dict[str, Any]] = []
        roles = [("admin", "admin"), ("auditor", "auditor")] + [(f"member-{k}", "member") for k in range(8)]
        for index, (user, role) in enumerate(roles):
            ws.access.add_user(user, PASSWORD, role=role)
            visible = names
            if role == "member":  # owner of two systems, viewer of three more
                visible = [names[(2 * index + k) % systems] for k in range(5)]
                for k, system in enumerate(visible):
                    ws.access.grant(user, system, "owner" if k < 2 else "viewer")
            token = ws.access.create_token(user, "load", scope="read")[0]
            cookie = ws.access.start_session(ws.access.from_token(token))[0]
            owned = visible[:2] if role == "member" else visible if role == "admin" else []
            ingest = ws.access.create_token(user, "service", scope="ingest")[0] if owned else None
            people.append({"name": user, "token": token, "cookie": cookie, "systems": visible,
                           "audit": role != "member", "owned": owned, "ingest": ingest})  # fmt: skip
        ws.set_mode("multi-user")
        return people

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def get(url: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)

    def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
            try:
                if get(url, {}) == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer at {url}")

    def warm_up(base: str, people: list[dict[str, Any]]) -> None:
        for person in people[:3]:
            cookie = {"Cookie": f"assay_session={person['cookie']}"}
            token = {"Authorization": f"Bearer {person['token']}"}
            system = person["systems"][0]
            for path in ("/", "/index.json", f"/systems/{system}"):
                get(base + path, cookie)
            for tail in ("", "/risks", "/models", "/assessments", "/approvals", "/incidents", "/readiness"):
                get(f"{base}/api/systems/{system}{tail}", token)
            get(base + "/api/systems", token)

    def py_spy_summary(raw: Path, top: int = 20) -> str:
        """Self and inclusive shares of py-spy's samples (collapsed stacks), Assay's functions apart."""
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            samples = int(count)
            total += samples
            frames = []
            for frame in stack.split(";"):  # "function (path/to/file.py:line)"; Assay's paths are "assay/..."
                function, _, where = frame.partition(" (")
                path = where.rsplit(":", 1)[0]
                ours = path.startswith("assay/") and path.endswith(".py")
                frames.append(f"{function} ({path if ours else Path(path).name})")
            own[frames[-1]] += samples
            for frame in set(frames):
                inclusive[frame] += samples
        lines = [f"py-spy: {total} samples of the thread holding the GIL (the server's Python CPU time)"]
        lines.append("  self time, top functions:")
        lines += [f"    {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
        lines.append("  inclusive time, Assay's functions:")
        assay = [(name, n) for name, n in inclusive.most_common() if "(assay/" in name]
        lines += [f"    {n / total:6.1%}  {name}" for name, n in assay[: 2 * top]]
        return "\n".join(lines)

    def summary(stats_csv: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
        with stats_csv.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        total = next(row for row in rows if row["Name"] == "Aggregated")
        return [row for row in rows if row["Name"] != "Aggregated"], total

    # -- --during-job ------------------------------------------------------------------------------------------------

    JOB_SYSTEM = "credit"
    JOB_OPTIONS: dict[str, Any] = {  # the default options but the roles: every metric, FT, the default bootstrap
        "label": "label",
        "facets": [{"column": "sex", "values": ["F"]}, {"column": "age_group", "values": [">60"]}],
        "predicted": "prediction",
    }
    FINISHED = ("succeeded", "failed", "cancelled")

    def job_data(path: Path, rows: int) -> None:
        """``rows`` synthetic people: the label depends on x0..x2, the sex and the age group."""
        rng = np.random.default_rng(0)
        sex = rng.choice(np.array(["F", "M"]), rows, p=[0.4, 0.6])
        age = rng.choice(np.array(["<25", "25-60", ">60"]), rows, p=[0.2, 0.6, 0.2])
        x = rng.normal(size=(rows, 4)).round(4)
        logit = x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] + 0.4 * (sex == "M") - 0.2 * (age == ">60")
        score = (1 / (1 + np.exp(-logit))).round(5)
        frame = pd.DataFrame(
            {
                "label": (rng.random(rows) < score).astype(np.int8),
                "prediction": (score > 0.5).astype(np.int8),
                "score": score,
                "sex": sex,
                "age_group": age,
                **{f"x{i}": x[:, i] for i in range(4)},
            }
        )
        frame.to_parquet(path, index=False)

    def percentiles(values: list[float]) -> dict[str, float]:
        if not values:
            return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
        ms = np.asarray(values) * 1000
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return {"n": len(ms), "p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(ms.max())}

    def drive(
        base: str,
        routes: list[tuple[str, str]],
        headers: dict[str, dict[str, str]],
        clients: int,
        think: float,
        until: Any,
    ) -> tuple[list[tuple[str, float, float]], list[str]]:
        """``clients`` threads cycling through ``routes`` (name, path) until ``until()`` is true: every request's
        (route name, wall-clock start, latency in s), and the errors (anything but a 200)."""
        import threading

        import httpx

        errors: list[str] = []
        timeline: list[tuple[str, float, float]] = []
        lock = threading.Lock()

        def client(offset: int) -> None:
            with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as http:
                step = offset
                while not until():
                    name, path = routes[step % len(routes)]
                    step += 1
                    wall, started = time.time(), time.perf_counter()
                    response = http.get(path, headers=headers[name])
                    elapsed = time.perf_counter() - started
                    with lock:
                        timeline.append((name, wall, elapsed))
                        if response.status_code != 200:
                            errors.append(f"{name}: HTTP {response.status_code} {response.text[:200]}")
                    time.sleep(think)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return timeline, errors

    def by_route(timeline: list[tuple[str, float, float]], start: float = 0.0) -> dict[str, list[float]]:
        """The latencies by route of the requests sent from ``start`` (a wall-clock time) on."""
        latencies: dict[str, list[float]] = {}
        for name, wall, latency in timeline:
            if wall >= start:
                latencies.setdefault(name, []).append(latency)
        return latencies

    def by_stage(timeline: list[tuple[str, float, float]], log: list[dict[str, Any]], end: dt.datetime) -> None:
        """The latencies of the requests sent during each of the job's stages (its log's timestamps)."""
        marks = [(dt.datetime.fromisoformat(entry["at"]).timestamp(), entry["stage"]) for entry in log]
        marks.append((end.timestamp(), "(ended)"))
        print("\nDuring the job, by the job's stage when the request was sent (ms)")
        print(f"  {'stage':<52} {'seconds':>7} {'requests':>8} {'p50':>7} {'p95':>7} {'max':>7}")
        for (start, stage), (stop, _) in itertools.pairwise(marks):
            inside = [latency for _, wall, latency in timeline if start <= wall < stop]
            p = percentiles(inside)
            print(f"  {stage[:52]:<52} {stop - start:>7.1f} {p['n']:>8} {p['p50']:>7.1f} {p['p95']:>7.1f} "
                  f"{p['max']:>7.1f}")  # fmt: skip

    def table(title: str, latencies: dict[str, list[float]]) -> dict[str, float]:
        every = [value for values in latencies.values() for value in values]
        print(f"\n{title}")
        header = f"  {'route':<24} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        print(header)
        print("  " + "-" * (len(header) - 2))
        rows = [*latencies.items(), ("overall", every)]
        for name, values in rows:
            p = percentiles(values)
            print(f"  {name:<24} {p['n']:>8} {p['p50']:>8.1f} {p['p95']:>8.1f} {p['p99']:>8.1f} {p['max']:>8.1f}")
        return percentiles(every)

    def in_process_seconds(data: Path) -> float:
        """``assay.assess`` on the file with the job's options, timed in a child process (imports excluded)."""
        code = (
            "import json, sys, time\n"
            "import assay\n"
            "options = json.loads(sys.argv[2])\n"
            "facets = [{f['column']: f['values']} for f in options.pop('facets')]\n"
            "started = time.perf_counter()\n"
            "assay.assess(sys.argv[1], facets=facets, **options)\n"
            "print(time.perf_counter() - started)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(data), json.dumps(JOB_OPTIONS)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return float(done.stdout.strip().splitlines()[-1])

    def run_during_job(args: argparse.Namespace) -> int:
        import httpx

        if not 1 <= args.clients <= 16:
            raise SystemExit("--clients: give 1 to 16 client threads")
        work = args.workdir or Path(tempfile.mkdtemp(prefix="assay-job-load-"))
        work.mkdir(parents=True, exist_ok=True)
        data = work / f"people-{args.rows}.parquet"
        if not data.exists():
            started = time.perf_counter()
            job_data(data, args.rows)
            print(f"wrote {args.rows:,} rows to {data} ({data.stat().st_size / 2**20:.0f} MiB) "
                  f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        folder = work / "ws"
        if folder.exists():
            shutil.rmtree(folder)
        settings = load_settings(actor="admin", workspace=None)
        with Workspace.init(folder, settings) as ws:
            ws.access.add_user("admin", PASSWORD, role="admin")
            admin = ws.login("admin", PASSWORD)
            admin.systems.create({"name": JOB_SYSTEM, "eu_ai_act_category": "limited", "owner": "admin"})
            token = admin.access.create_token("admin", "load", scope="write")[0]
            cookie = admin.access.start_session(admin.access.from_token(token))[0]
        api = {"Authorization": f"Bearer {token}"}
        page = {"Cookie": f"assay_session={cookie}"}

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "server.log"
        command = [str(BIN / "assay"), "-w", str(folder), "serve", "--host", "127.0.0.1", "--port", str(port)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}  # the default settings
        environment.update(item.split("=", 1) for item in args.server_env)
        with log.open("wb") as log_file:
            server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=environment)
        try:
            wait_for(base + "/api/health", server, log)
            given = ", ".join(args.server_env) or "the default settings (ASSAY_WORKERS=1)"
            print(f"server: {' '.join(command)} (pid {server.pid}), {given}")
            with httpx.Client(base_url=base, timeout=120) as http:
                with data.open("rb") as handle:
                    uploaded = http.post("/api/artifacts", headers=api, files={"file": (data.name, handle)})
                uploaded.raise_for_status()
                body = {"dataset": "people", "version": "1", "system": JOB_SYSTEM,
                        "artifact_sha256": uploaded.json()["sha256"], "file_name": data.name}  # fmt: skip
                registered = http.post("/api/datasets", json=body, headers=api)
                registered.raise_for_status()
                print(f"registered people@1: {registered.json()['row_count']:,} rows")
                for path in ("/api/health", "/api/systems", f"/systems/{JOB_SYSTEM}"):  # warm up
                    http.get(path, headers=page if path.startswith("/systems") else api).raise_for_status()

                process = psutil.Process(server.pid)
                cpu_before = process.cpu_times()
                load_before = os.getloadavg()
                posted = time.perf_counter()
                run = {**JOB_OPTIONS, "dataset_version": "people@1"}
                answer = http.post(f"/api/systems/{JOB_SYSTEM}/assessments/run", json=run, headers=api)
                post_ms = (time.perf_counter() - posted) * 1000
                if answer.status_code != 202:
                    print(f"the run was refused: HTTP {answer.status_code} {answer.text}")
                    return 2
                job_id = answer.json()["id"]
                print(f"POST /api/systems/{JOB_SYSTEM}/assessments/run: 202 in {post_ms:.0f} ms, job {job_id}")
                routes = [
                    ("GET /api/health", "/api/health"),
                    ("GET /api/systems", "/api/systems"),
                    ("GET /api/jobs/{id}", f"/api/jobs/{job_id}"),
                    ("GET /systems/{system}", f"/systems/{JOB_SYSTEM}"),
                ]
                headers = {name: page if name.startswith("GET /systems/") else api for name, _ in routes}
                state: dict[str, Any] = {}

                def job_ended() -> bool:
                    return state.get("status") in FINISHED

                import threading

                def watch() -> None:  # the benchmark's own poll (not counted): when the job ends
                    with httpx.Client(base_url=base, timeout=120) as watcher:
                        while not job_ended():
                            state.update(watcher.get(f"/api/jobs/{job_id}", headers=api).json())
                            time.sleep(0.25)

                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
                timeline, errors = drive(base, routes, headers, args.clients, args.think, job_ended)
                watcher.join()
                wall = time.perf_counter() - posted
                cpu_after = process.cpu_times()
                load_after = os.getloadavg()
                kids = process.children(recursive=True)
                children = sum(c.cpu_times().user + c.cpu_times().system for c in kids)
                memory = [(process.memory_info().rss, "server")] + [
                    (c.memory_info().rss, f"child {c.pid}") for c in kids
                ]

                ends = time.perf_counter() + args.baseline_seconds
                quiet, baseline_errors = drive(
                    base, routes, headers, args.clients, args.think, lambda: time.perf_counter() >= ends
                )
        finally:
            server.terminate()
            server.wait(timeout=60)

        started_at = dt.datetime.fromisoformat(state["started_at"])
        finished_at = dt.datetime.fromisoformat(state["finished_at"])
        job_seconds = (finished_at - started_at).total_seconds()
        server_cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        print()
        print(f"Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python "
              f"{platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip
        print(f"Load average (1 min): {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end of the job")
        print(f"Clients: {args.clients} threads, {args.think:g} s between requests; "
              f"baseline {args.baseline_seconds:g} s")  # fmt: skip
        print(
            f"Job {job_id}: {state['status']}{' (' + state['error'] + ')' if state.get('error') else ''}, "
            f"ran {job_seconds:.1f} s (queued to seen ended: {wall:.1f} s) by worker {state.get('worker')}"
        )
        print(f"Server CPU during the job: {server_cpu:.1f} s in the server process, {children:.1f} s in its children "
              f"(still alive at the end)")  # fmt: skip
        print(
            "Resident memory at the end of the job: " + ", ".join(f"{who} {rss / 2**20:.0f} MiB" for rss, who in memory)
        )
        queued = len([1 for _, wall, _ in timeline if wall < started_at.timestamp()])
        with_job = table(
            f"While the job ran (ms; the {queued} requests sent while it was queued are left out)",
            by_route(timeline, started_at.timestamp()),
        )
        by_stage(timeline, state.get("log", []), finished_at)
        without = table("Baseline, no job running (ms)", by_route(quiet))
        ratio = with_job["p95"] / without["p95"]
        print(f"\np95 during the job {with_job['p95']:.1f} ms, without a job {without['p95']:.1f} ms (x{ratio:.1f}); "
              f"p50 {with_job['p50']:.1f} vs {without['p50']:.1f} ms")  # fmt: skip
        for problem in (errors + baseline_errors)[:10]:
            print(f"error: {problem}")
        if args.in_process:
            alone = in_process_seconds(data)
            print(f"The same assessment in process (assay.assess on the file, no server): {alone:.1f} s; "
                  f"the job took {job_seconds:.1f} s (x{job_seconds / alone:.2f})")  # fmt: skip
        met = with_job["p95"] < TARGET_P95_MS and not errors and state["status"] == "succeeded"
        print(f"Target p95 < {TARGET_P95_MS:.0f} ms while the job runs, no errors, job succeeded: "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
        print(f"\noutputs in {work}")
        return 0 if met else 1

    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--users", type=int, default=50)
        parser.add_argument("--run-time", type=int, default=60, help="seconds")
        parser.add_argument("--wait", default="0.5-1.5", help="think time in seconds, LOW-HIGH or 0 (closed loop)")
        parser.add_argument("--systems", type=int, default=20)
        parser.add_argument(
            "--only", choices=["pages", "api", "review"], default=None,
            help="only the pages, only the API reads, or only the services' review routing call",
        )  # fmt: skip
        parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: the workspace's SQLite)")
        parser.add_argument("--profile", action="store_true", help="sample the server with py-spy during the run")
        parser.add_argument("--workdir", type=Path, default=None, help="keep the workspace and outputs here")
        parser.add_argument(
            "--postgres", action="store_true", help="start a throwaway PostgreSQL (the test suite's helper) and use it"
        )
        job = parser.add_argument_group("--during-job: latencies while a bias assessment job runs")
        job.add_argument("--during-job", action="store_true", help="measure the server while a job runs")
        job.add_argument("--rows", type=int, default=1_000_000, help="rows of the assessed dataset")
        job.add_argument("--clients", type=int, default=2, help="client threads (1-4)")
        job.add_argument("--think", type=float, default=0.05, help="seconds each client waits between requests")
        job.add_argument("--baseline-seconds", type=float, default=20.0, help="how long to measure with no job")
        job.add_argument(
            "--server-env",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a setting for the server (repeatable; default: none, every ASSAY_ variable is removed)",
        )
        job.add_argument(
            "--no-in-process", dest="in_process", action="store_false", help="skip the in-process assay.assess"
        )
        args = parser.parse_args(argv)
        if args.during_job:
            return run_during_job(args)
        if not args.postgres:
            return run(args)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from _postgres import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            args.database_url = server.create_database()
            return run(args)
        finally:
            server.stop()

    def run(args: argparse.Namespace) -> int:
        low, _, high = args.wait.partition("-")
        wait = (float(low), float(high or low))

        work = args.workdir or Path(tempfile.mkdtemp(prefix="assay-load-"))
        work.mkdir(parents=True, exist_ok=True)
        folder = work / "ws"
        if folder.exists():
            shutil.rmtree(folder)
        started = time.perf_counter()
        settings = load_settings(actor="seed", workspace=None)
        with Workspace.init(folder, settings, database_url=args.database_url) as ws:
            people = seed(ws, args.systems)
            events = len(ws.audit.log())
        print(f"seeded {args.systems} systems, {len(people)} people, {events} audit events "
              f"in {time.perf_counter() - started:.1f} s; workspace {folder}")  # fmt: skip
        plan = work / "plan.json"
        if args.only == "review":
            people = [person for person in people if person["owned"]]
        plan.write_text(json.dumps({"people": people, "wait": wait, "only": args.only}))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "server.log"
        command = [str(BIN / "assay"), "-w", str(folder)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as log_file:
            server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        spy: subprocess.Popen[bytes] | None = None
        try:
            wait_for(base + "/api/health", server, log)
            warm_up(base, people)
            print(f"server: {' '.join(command)} (pid {server.pid})")
            prefix = work / "locust"
            locust = [
                str(BIN / "locust"), "-f", str(Path(__file__).resolve()), "--headless", "--host", base,
                "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", f"{args.run_time}s",
                "--reset-stats", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5",
            ]  # fmt: skip
            print("locust: " + " ".join(locust[1:]))
            server_process = psutil.Process(server.pid)
            cpu_before = server_process.cpu_times()
            load_before = os.getloadavg()
            if args.profile:
                spy = subprocess.Popen(
                    [str(BIN / "py-spy"), "record", "--pid", str(server.pid), "--rate", "200", "--nonblocking", "--gil",
                     "--format", "raw", "--output", str(work / "profile.txt"), "--duration", str(args.run_time + 5)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                )  # fmt: skip
            run_start = time.perf_counter()
            done = subprocess.run(
                locust, env={**os.environ, "ASSAY_LOAD_PLAN": str(plan)}, capture_output=True, text=True, check=False
            )
            elapsed = time.perf_counter() - run_start
            cpu_after = server_process.cpu_times()
            load_after = os.getloadavg()
            children = os.times()
        finally:
            if spy is not None:
                spy.wait(timeout=120)
            server.terminate()
            server.wait(timeout=30)
        if not (prefix.parent / f"{prefix.name}_stats.csv").exists():
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            return 2

        rows, total = summary(prefix.parent / f"{prefix.name}_stats.csv")
        server_cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        print()
        print(f"Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python "
              f"{platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip
        print(f"Load average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} after")
        print(f"Database: {'PostgreSQL' if args.database_url else 'SQLite (the workspace default)'}; "
              f"{args.users} users, think time {args.wait} s, {args.run_time} s (wall {elapsed:.0f} s)")  # fmt: skip
        print(f"CPU used: server {server_cpu:.1f} s ({server_cpu / args.run_time:.0%} of one core), "
              f"locust and the other children {children.children_user + children.children_system:.1f} s")  # fmt: skip
        print()
        header = (
            f"{'endpoint':<34} {'requests':>8} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7} {'req/s':>7}"
        )
        print(header)
        print("-" * len(header))
        for row in [*sorted(rows, key=lambda r: -int(r["Request Count"])), total]:
            print(
                f"{row['Name']:<34} {int(row['Request Count']):>8} {int(row['Failure Count']):>5} "
                f"{row['50%']:>6} {row['95%']:>6} {row['99%']:>6} {float(row['Max Response Time']):>7.0f} "
                f"{float(row['Requests/s']):>7.1f}"
            )
        requests, failures = int(total["Request Count"]), int(total["Failure Count"])
        p95 = float(total["95%"])
        error_rate = failures / requests if requests else 1.0
        print()
        print(f"Overall: {requests} requests, {float(total['Requests/s']):.1f} req/s, p50 {total['50%']} ms, "
              f"p95 {total['95%']} ms, p99 {total['99%']} ms, error rate {error_rate:.2%}")  # fmt: skip
        target = TARGET_REVIEW_P95_MS if args.only == "review" else TARGET_P95_MS
        met = p95 < target and failures == 0
        print(f"Target p95 < {target:.0f} ms with no errors: {'met' if met else 'MISSED'}")
        if args.only == "review":
            with Workspace.open(folder, settings) as ws:
                held = sum(ws.review.queue(name, status=None, limit=1).total for name in {
                    s for person in people for s in person["owned"]})  # fmt: skip
            print(f"Held for review during the run: {held} of {requests} predictions ({held / max(requests, 1):.1%})")
        failures_csv = prefix.parent / f"{prefix.name}_failures.csv"
        if failures and failures_csv.exists():
            print(failures_csv.read_text()[:2000])
        if spy is not None and (work / "profile.txt").exists():
            print()
            print(py_spy_summary(work / "profile.txt"))
        print(f"\noutputs in {work}")
        return 0 if met else 1

    sys.exit(main())
