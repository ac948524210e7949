"""Monitors (services.monitors): created with every check validated, run per fixed window (idempotent), recorded
with their checks' documents as evidence, paused, resumed, deleted, scheduled, run as jobs; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.errors import Conflict, InvalidInput, NotFound
from assay.services.jobs import run_next
from assay.services.monitors import window_at
from assay.services.runs import Target
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from assay.store.models import utcnow


def _frame(seed: int, n: int = 800, *, missing: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "job": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "y": rng.integers(0, 2, n),
        }
    )
    if missing:
        frame.loc[rng.random(n) < missing, "age"] = np.nan
    return frame


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    train = tmp_path / "train.csv"
    _frame(1).to_csv(train, index=False)
    workspace.systems.create({"name": "credit"})
    workspace.datasets.register_version({"dataset": "train", "version": "1"}, system="credit", file=train, copy=True)
    workspace.models.register_version("credit", {"model": "m", "version": "1"})
    return workspace


@pytest.fixture
def baseline(ws: Workspace) -> int:
    return ws.runs.run("baseline", Target("credit", "train@1"), {}).recorded.id


def _csv(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _spec(baseline: int, **more: Any) -> dict[str, Any]:
    return {
        "name": "daily",
        "model_version": "m@1",
        "checks": [{"kind": "validate", "baseline_id": baseline}, {"kind": "duplicates", "options": {}}],
        "source": {"type": "given"},
        "window": "1d",
        **more,
    }


def test_a_window_is_judged_once_and_recorded_with_its_checks(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    view = ws.monitors.create("credit", _spec(baseline))
    assert view.model_version == "m@1" and [c["kind"] for c in view.checks] == ["validate", "duplicates"]
    same = _csv(tmp_path, "same.csv", _frame(2))
    done = ws.monitors.run("credit", "daily", data=same)
    start, end = window_at(utcnow(), 86400)
    assert (done.window_start, done.window_end) == (start, end) and done.status == "ok" and done.rows == 800
    assert not done.existing and [r["status"] for r in done.results] == ["pass", "pass"]
    recorded = ws.assessments.get("credit", done.results[0]["assessment_id"])
    assert recorded.document["check"] == "validate"
    assert recorded.document["monitor"] == {
        "name": "daily", "window_start": start.isoformat(), "window_end": end.isoformat(),
    }  # fmt: skip
    assert recorded.document["inputs"]["baseline"]["assessment"] == baseline
    assert any(m["name"] == "completeness" and m["subject"] == "age" for m in done.results[0]["metrics"])
    again = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "other.csv", _frame(3, missing=0.5)))
    assert again.existing and again.id == done.id and again.status == "ok"  # idempotent per window
    assert len(ws.monitors.runs("credit", "daily")) == 1
    events = ws.audit.log(EventFilter(object_type="monitor_runs"))
    assert [e.action for e in events] == ["monitor.run"]


def test_a_violation_is_found_in_an_earlier_window(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    ws.monitors.create("credit", _spec(baseline))
    _, end = window_at(utcnow(), 86400)
    earlier = end - dt.timedelta(days=3)
    bad = _csv(tmp_path, "bad.csv", _frame(4, missing=0.4))
    done = ws.monitors.run("credit", "daily", data=bad, end=earlier)
    assert done.window_end == earlier and done.status == "violations"
    validate = done.results[0]
    assert validate["status"] == "fail"
    assert any(v["check_type"] == "completeness_check" and v["subject"] == "age" for v in validate["violations"])
    listed = ws.monitors.runs("credit", "daily")
    assert [r.id for r in listed] == [done.id] and listed.total == 1


def test_a_check_that_cannot_run_fails_the_run_and_the_window_runs_again(
    ws: Workspace, baseline: int, tmp_path: Path
) -> None:
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "duplicates", "options": {"columns": ["job"]}}]))
    without = _csv(tmp_path, "nojob.csv", _frame(5).drop(columns=["job"]))
    failed = ws.monitors.run("credit", "daily", data=without)
    assert failed.status == "failed" and "job" in (failed.error or "")
    assert failed.results[0]["status"] == "error" and failed.results[0]["assessment_id"] is None
    fixed = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "ok.csv", _frame(6)))
    assert fixed.id == failed.id and fixed.status in ("ok", "violations") and not fixed.existing


def test_an_empty_window_has_no_data(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    ws.monitors.create("credit", _spec(baseline))
    empty = _csv(tmp_path, "empty.csv", _frame(7).iloc[:0])
    done = ws.monitors.run("credit", "daily", data=empty)
    assert done.status == "no_data" and done.results == [] and done.rows == 0


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"checks": [{"kind": "nope"}]}, "checks[0].kind: unknown compute kind 'nope'"),
        ({"checks": [{"kind": "baseline"}]}, "cannot be monitored"),
        ({"checks": [{"kind": "validate"}]}, "checks[0]: the validate check needs baseline_id"),
        ({"checks": [{"kind": "duplicates", "baseline_id": 1}]}, "takes no baseline_id"),
        ({"checks": [{"kind": "duplicates", "options": {"columns": 3}}]}, "checks[0].options"),
        ({"checks": [{"kind": "leakage"}]}, "needs inputs a monitor's window does not give"),
        ({"window": "2x"}, "window"),
        ({"window": 10}, "window"),
        ({"model_version": "m@9"}, "no version '9'"),
        ({"cron": "0 * * * *", "interval": "1h"}, "not both"),
        ({"source": {"type": "files"}}, "needs a folder"),
    ],
)
def test_a_monitor_that_could_not_run_is_refused(
    ws: Workspace, baseline: int, change: dict[str, Any], text: str
) -> None:
    with pytest.raises((InvalidInput, NotFound)) as error:
        ws.monitors.create("credit", _spec(baseline) | change)
    assert text in str(error.value)
    assert ws.monitors.list("credit") == []


def test_a_baseline_of_another_kind_is_refused(ws: Workspace, baseline: int) -> None:
    other = ws.runs.run("duplicates", Target("credit", "train@1"), {}).recorded.id
    with pytest.raises(InvalidInput, match="not a baseline check"):
        ws.monitors.create("credit", _spec(other))


def test_pause_resume_delete_with_the_schedule(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    view = ws.monitors.create("credit", _spec(baseline, cron="0 2 * * *", timezone="Europe/Paris"))
    assert view.schedule is not None and view.schedule["cron"] == "0 2 * * *" and not view.schedule["paused"]
    with pytest.raises(Conflict, match="already has a monitor named 'daily'"):
        ws.monitors.create("credit", _spec(baseline))
    paused = ws.monitors.pause("credit", "daily")
    assert paused.paused and paused.schedule is not None and paused.schedule["paused"]
    with pytest.raises(Conflict, match="paused"):
        ws.monitors.run("credit", "daily", data=_csv(tmp_path, "d.csv", _frame(8)))
    resumed = ws.monitors.resume("credit", "daily")
    assert not resumed.paused and resumed.schedule is not None and not resumed.schedule["paused"]
    ws.monitors.delete("credit", "daily")
    with pytest.raises(NotFound, match="no monitor named 'daily'"):
        ws.monitors.get("credit", "daily")
    schedules, _ = ws.schedules.list("credit")
    assert schedules == []
    actions = [e.action for e in ws.audit.log(EventFilter(object_type="monitors"))]
    assert actions == ["monitor.create", "monitor.pause", "monitor.resume", "monitor.delete"]
    ws.monitors.create("credit", _spec(baseline))  # the name is free again


def test_the_window_end_must_be_a_window_boundary_in_the_past(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    ws.monitors.create("credit", _spec(baseline))
    data = _csv(tmp_path, "d.csv", _frame(9))
    _, end = window_at(utcnow(), 86400)
    with pytest.raises(InvalidInput, match="is not the end of a window"):
        ws.monitors.run("credit", "daily", data=data, end=end - dt.timedelta(hours=5))
    with pytest.raises(InvalidInput, match="in the future"):
        ws.monitors.run("credit", "daily", data=data, end=end + dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="--data"):
        ws.monitors.run("credit", "daily")


def test_a_monitor_job_runs_the_latest_window(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    folder = tmp_path / "capture"
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "duplicates"}]))
    with pytest.raises(InvalidInput, match="params"):
        ws.jobs.submit("monitor", {"monitor": "daily", "other": 1}, system="credit")
    job = ws.jobs.submit("monitor", {"monitor": "daily"}, system="credit")
    run_next(ws)
    done = ws.jobs.get(job.id)
    assert done.status == "failed" and "--data" in (done.error or "")  # a monitor of given data needs its data
    assert not folder.exists()


def test_a_monitors_checks_are_evidence_of_monitoring(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    ws.monitors.create("credit", _spec(baseline))
    done = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "d.csv", _frame(10)))
    linked = ws.controls.list_evidence("credit", "iso42001", "A.6.2.6")
    assert {item.assessment_id for item in linked if item.via is None} == {r["assessment_id"] for r in done.results}


def test_a_model_monitor_baseline_is_imported_and_monitored(ws: Workspace, tmp_path: Path) -> None:

    made = ws.runs.run("baseline", Target("credit", "train@1"), {}, out=tmp_path / "made")  # as SageMaker's files
    folder = tmp_path / "sagemaker"
    folder.mkdir()
    for name in ("statistics.json", "constraints.json"):
        (folder / name).write_bytes(made.paths[name].read_bytes())
    imported = ws.checks.import_baseline("credit", folder)
    assert imported.document["check"] == "baseline" and set(imported.attachments or {}) >= {
        "statistics.json", "constraints.json",
    }  # fmt: skip
    assert imported.document["data"]["engine"] == "imported" and imported.document["data"]["rows"] == 800
    ws.monitors.create("credit", _spec(imported.id, checks=[{"kind": "validate", "baseline_id": imported.id}]))
    done = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "bad.csv", _frame(11, missing=0.5)))
    assert done.status == "violations"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "constraints.json").write_text('{"version": 0, "features": []}')
    (broken / "statistics.json").write_text('{"version": 0, "features": [{"name": "x"}]}')
    with pytest.raises(InvalidInput, match=r"features\[0\] \(x\): needs numerical_statistics"):
        ws.checks.import_baseline("credit", broken)


def test_a_violation_opens_an_alert_that_a_passing_window_resolves(
    ws: Workspace, baseline: int, tmp_path: Path
) -> None:
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "validate", "baseline_id": baseline}],
                                       alerting={"incident": {"severity": "high"}}))  # fmt: skip
    _, end = window_at(utcnow(), 86400)
    bad = _csv(tmp_path, "bad.csv", _frame(12, missing=0.5))
    first = ws.monitors.run("credit", "daily", data=bad, end=end - dt.timedelta(days=2))
    second = ws.monitors.run("credit", "daily", data=bad, end=end - dt.timedelta(days=1))
    assert first.status == second.status == "violations"
    alerts = ws.alerts.list("credit", status="open")
    assert len(alerts) == 1 and alerts[0].subject == "age" and alerts[0].occurrences == 2
    assert alerts[0].incident_id is not None and ws.incidents.get("credit", alerts[0].incident_id)
    passed = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "good.csv", _frame(13)), end=end)
    assert passed.status == "ok"
    assert ws.alerts.list("credit", status="open") == [] and len(ws.alerts.list("credit", status="resolved")) == 1


def _capture(ws: Workspace, start: dt.datetime, frame: pd.DataFrame, batch: str) -> None:
    records = [
        {"inference_id": f"{batch}-{i}", "t": (start + dt.timedelta(seconds=i)).isoformat(), **row}
        for i, row in enumerate(frame.to_dict(orient="records"))
    ]
    ws.capture.ingest("credit", "m@1", records, batch)


def _captured(ws: Workspace, baseline: int, engine: str = "duckdb") -> tuple[dt.datetime, dt.datetime]:
    fields = [{"name": "age", "type": "float", "required": False}, {"name": "job", "type": "string"},
              {"name": "y", "type": "integer"}, {"name": "t", "type": "timestamp"}]  # fmt: skip
    ws.capture.configure("credit", "m@1", fields=fields, time_column="t")
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "validate", "baseline_id": baseline}],
                                       source={"type": "capture", "engine": engine}))  # fmt: skip
    _, end = window_at(utcnow(), 86400)
    return end - dt.timedelta(days=2), end - dt.timedelta(days=1)


def test_a_monitor_reads_its_windows_from_captured_records(ws: Workspace, baseline: int) -> None:
    first, second = _captured(ws, baseline)
    _capture(ws, first - dt.timedelta(days=1), _frame(14, 400), "a")  # the window before
    _capture(ws, first, _frame(15, 400, missing=0.5), "b")  # in [first, second): half the ages missing
    done = ws.monitors.run("credit", "daily", end=second)
    assert done.rows == 400 and done.status == "violations"
    violations = done.results[0]["violations"]
    assert {v["check_type"] for v in violations} == {"completeness_check"}  # no extra column: id and times dropped
    recorded = ws.assessments.get("credit", done.results[0]["assessment_id"])
    assert (
        recorded.document["inputs"]["data"]["files"] == 1 and len(recorded.document["inputs"]["data"]["sha256"]) == 64
    )
    earlier = ws.monitors.run("credit", "daily", end=first)
    assert earlier.rows == 400 and earlier.status == "ok"
    empty = ws.monitors.run("credit", "daily", end=first - dt.timedelta(days=1))
    assert empty.status == "no_data"


@pytest.mark.spark
def test_the_same_verdicts_on_spark(ws: Workspace, baseline: int, spark: Any) -> None:
    first, second = _captured(ws, baseline, engine="spark")
    _capture(ws, first, _frame(16, 400, missing=0.5), "s")
    done = ws.monitors.run("credit", "daily", end=second)
    ws.monitors.delete("credit", "daily")
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "validate", "baseline_id": baseline}],
                                       source={"type": "capture"}))  # fmt: skip
    duck = ws.monitors.run("credit", "daily", end=second)
    assert done.rows == duck.rows == 400
    assert [(r["kind"], r["status"], r["violations"]) for r in done.results] == [
        (r["kind"], r["status"], r["violations"]) for r in duck.results
    ]


def test_a_monitor_reads_dated_folders_of_files(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    _, end = window_at(utcnow(), 86400)
    day = end - dt.timedelta(days=1)
    folder = tmp_path / "landing" / f"day={day.date().isoformat()}"
    folder.mkdir(parents=True)
    _frame(17, 300, missing=0.5).to_parquet(folder / "part-0.parquet")
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "validate", "baseline_id": baseline}],
                                       source={"type": "files", "folder": str(tmp_path / "landing")}))  # fmt: skip
    done = ws.monitors.run("credit", "daily", end=end)
    assert done.rows == 300 and done.status == "violations"


def test_a_drift_check_against_the_baseline_sketches(ws: Workspace, baseline: int, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="the drift check needs baseline_id"):
        ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "drift"}]))
    ws.monitors.create("credit", _spec(baseline, checks=[{"kind": "drift", "baseline_id": baseline}]))
    _, end = window_at(utcnow(), 86400)
    clean = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "c.csv", _frame(20)), end=end - dt.timedelta(days=1))
    shifted = _frame(21)
    shifted["age"] += 5.0  # half a standard deviation
    moved = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "s.csv", shifted), end=end)
    assert clean.status == "ok" and moved.status == "violations"
    assert [(v["check_type"], v["subject"]) for v in moved.results[0]["violations"]] == [
        ("baseline_drift_check", "age")
    ]
    assert any(m["subject"] == "age" and m["name"] == "wasserstein" for m in moved.results[0]["metrics"])


def test_a_bias_drift_check_judges_the_windows_own_predictions(ws: Workspace, tmp_path: Path) -> None:
    """The model version has no file: a check whose model is optional (bias drift) judges the captured predictions
    and never loads (or re-scores with) the model."""
    train = _frame(1).assign(p=lambda f: f["y"])
    ws.datasets.register_version({"dataset": "scored", "version": "1"}, system="credit",
                                 file=_csv(tmp_path, "scored.csv", train), copy=True)  # fmt: skip
    options = {"label": "y", "facets": ["job"], "predicted": "p"}
    bias = ws.runs.run("bias", Target("credit", "scored@1"), options).recorded.id
    ws.monitors.create("credit", _spec(bias, checks=[{"kind": "bias-drift", "options": options, "baseline_id": bias}]))
    done = ws.monitors.run("credit", "daily", data=_csv(tmp_path, "w.csv", _frame(30).assign(p=lambda f: f["y"])))
    assert done.results[0]["status"] in ("pass", "warn") and done.results[0].get("error") is None
