"""`assay job ...`, `assay schedule ...` and `assay worker --once` on a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from assay.cli import main
from assay.services import jobs
from assay.services.jobs import JobContext
from assay.services.workspace import Workspace


def _count(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.progress(0.5, "counting")
    return {"count": len(params)}


@pytest.fixture(autouse=True)
def handler() -> Iterator[None]:
    jobs.register_handler("t.count", _count)
    yield
    jobs.unregister_handler("t.count")


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_job_commands_and_the_worker(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    job = workspace.jobs.submit("t.count", {"a": 1, "b": 2}, system="credit")
    code, out, _ = run(workspace, capsys, "job", "list")
    assert code == 0 and "t.count" in out and "queued" in out and "Jobs (1 of 1)" in out
    assert run(workspace, capsys, "worker", "--once")[:2] == (0, "1 job(s) run\n")
    code, out, _ = run(workspace, capsys, "job", "show", str(job.id), "--json")
    shown = json.loads(out)
    assert code == 0 and (shown["status"], shown["result"], shown["stage"]) == ("succeeded", {"count": 2}, "counting")
    code, out, _ = run(workspace, capsys, "job", "show", str(job.id))
    assert code == 0 and "succeeded" in out and "counting" in out
    code, _, err = run(workspace, capsys, "job", "cancel", str(job.id))
    assert code == 2 and err == f"error: job {job.id} has already succeeded: nothing to cancel\n"
    queued = workspace.jobs.submit("t.count", {}, system="credit")
    assert run(workspace, capsys, "job", "cancel", str(queued.id))[:2] == (0, f"job {queued.id} cancelled\n")
    code, out, _ = run(workspace, capsys, "job", "list", "--status", "cancelled", "--json")
    assert code == 0 and [j["id"] for j in json.loads(out)] == [queued.id]
    code, _, err = run(workspace, capsys, "job", "list", "--status", "done")
    assert code == 2 and "job status 'done' is not one of" in err
    assert run(workspace, capsys, "job", "show", "999")[0] == 2


def test_schedule_commands(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    add = ("schedule", "add", "credit", "t.count")
    code, out, err = run(workspace, capsys, *add, "--cron", "30 2 * * mon-fri", "--timezone", "America/New_York")
    assert code == 0 and out.startswith("schedule 1 added on credit: t.count, next run "), err
    code, _, err = run(workspace, capsys, *add, "--cron", "30 2 * *", "--timezone", "UTC")
    assert code == 2 and err.startswith("error: cron '30 2 * *': Wrong number of fields")
    code, _, err = run(workspace, capsys, *add, "--every", "3600", "--timezone", "UTC", "--params", "[1]")
    assert code == 2 and "--params must be a JSON object" in err
    code, _, err = run(workspace, capsys, *add, "--every", "3600")
    assert code == 2 and "--timezone" in err  # required
    assert run(workspace, capsys, *add, "--every", "3600", "--timezone", "UTC", "--missed", "skip")[0] == 0
    code, out, _ = run(workspace, capsys, "schedule", "list", "credit", "--json")
    listed = json.loads(out)
    assert [(s["id"], s["missed"], s["timezone"]) for s in listed] == [
        (1, "coalesce", "America/New_York"), (2, "skip", "UTC")
    ]  # fmt: skip
    assert run(workspace, capsys, "schedule", "pause", "credit", "1")[:2] == (0, "schedule 1 paused\n")
    assert run(workspace, capsys, "schedule", "resume", "credit", "1")[:2] == (0, "schedule 1 resumed\n")
    assert run(workspace, capsys, "schedule", "delete", "credit", "2")[:2] == (0, "schedule 2 deleted\n")
    code, _, err = run(workspace, capsys, "schedule", "delete", "credit", "2")
    assert code == 2 and err == "error: system 'credit' has no schedule with id 2\n"
    assert workspace.audit.verify().ok
