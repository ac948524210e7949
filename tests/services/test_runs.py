"""The run lifecycle (services.runs): every compute kind run the same way on registered inputs, as a job too.

On SQLite and PostgreSQL: a run records its document with its inputs' fingerprints and files; a target that is
wrong is refused before anything is read or written; a cancelled run records nothing; a schedule of a compute
kind checks its options with the kind's model; the numbers equal the library's on the same file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import assay
from assay.errors import Cancelled, InvalidInput, NotFound
from assay.services.jobs import run_next
from assay.services.runs import Target
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 600
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
            "p": rng.integers(0, 2, n),
            "x1": rng.normal(size=n),
        }
    )
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def ws(workspace: Workspace, data: Path) -> Workspace:
    workspace.systems.create({"name": "credit"})
    workspace.datasets.register_version({"dataset": "scores", "version": "1"}, system="credit", file=data, copy=True)
    return workspace


OPTIONS: dict[str, Any] = {"label": "y", "facets": ["sex"], "predicted": "p", "bootstrap": 20, "seed": 3}


def test_a_run_records_the_document_with_its_inputs_and_files(ws: Workspace, data: Path) -> None:
    stages: list[str] = []
    done = ws.runs.run("bias", Target("credit", "scores@1"), OPTIONS, progress=stages.append)
    recorded = ws.assessments.get("credit", done.recorded.id)
    assert recorded.kind == "assay.assessment" and set(recorded.attachments or {}) == {
        "assessment.json",
        "analysis.json",
        "report.html",
    }
    sha = ws.datasets.get_version("scores@1").artifact_sha256
    assert recorded.document["inputs"] == {"data": {"ref": "scores@1", "sha256": sha}}
    direct = assay.assess(data, label="y", facets=["sex"], predicted="p", bootstrap=20, seed=3).to_dict()
    assert recorded.document["facets"] == direct["facets"]  # the same numbers as the library on the file
    assert stages[0] == "opening the inputs" and stages[-1] == "recording"
    check = ws.runs.run("duplicates", Target("credit", "scores@1"), {"columns": ["sex", "y"]})
    assert check.recorded.document["check"] == "duplicates" and check.document["status"] in ("pass", "fail")


@pytest.mark.parametrize(
    ("kind", "target", "options", "error", "text"),
    [
        ("bias", Target("credit", "nope@1"), OPTIONS, NotFound, "nope"),
        ("bias", Target("elsewhere", "scores@1"), OPTIONS, NotFound, "elsewhere"),
        ("bias", Target("credit", "scores@1"), {**OPTIONS, "facets": ["race"]}, InvalidInput, "column 'race'"),
        ("bias", Target("credit", "scores@1"), {**OPTIONS, "bootstrap": -1}, InvalidInput, "bootstrap must be"),
        ("bias", Target("credit", "scores@1", score_with_model=True), OPTIONS, InvalidInput, "needs a model_version"),
        ("explanations", Target("credit", "scores@1"), {"label": "y"}, InvalidInput, "needs a model_version"),
        ("leakage", Target("credit", "scores@1"), {}, InvalidInput, "needs reference_version"),
        ("validate", Target("credit", "scores@1", baseline_id=1), {}, NotFound, "assessment"),
        ("duplicates", Target("credit", "scores@1", model_version="m@1"), {}, InvalidInput, "takes no model_version"),
        ("magic", Target("credit", "scores@1"), {}, InvalidInput, "unknown compute kind 'magic'"),
    ],
)
def test_a_wrong_target_or_option_is_refused_before_anything_is_written(
    ws: Workspace, kind: str, target: Target, options: dict[str, Any], error: type[Exception], text: str
) -> None:
    events = len(ws.audit.log())
    with pytest.raises(error, match=text):
        ws.runs.run(kind, target, options)
    assert len(ws.audit.log()) == events and ws.assessments.list("credit") == []


def test_a_cancelled_run_records_nothing(ws: Workspace) -> None:
    asked: list[str] = []

    def cancelled() -> bool:
        return len(asked) >= 2  # stop at the third stage

    with pytest.raises(Cancelled, match="cancelled while"):
        ws.runs.run("bias", Target("credit", "scores@1"), OPTIONS, progress=asked.append, cancelled=cancelled)
    assert ws.assessments.list("credit") == []


def test_a_compute_kind_is_a_job_and_can_be_scheduled(ws: Workspace) -> None:
    params = {"target": {"dataset_version": "scores@1"}, "options": OPTIONS}
    job = ws.jobs.submit("bias", params, system="credit")
    assert job.params["options"]["confidence"] == 0.95  # the options are stored with every default filled in
    assert run_next(ws, threading.Event()) == job.id
    done = ws.jobs.get(job.id)
    assert done.status == "succeeded", done.error
    assert ws.assessments.get("credit", done.result["assessment_id"]).kind == "assay.assessment"
    assert ws.audit.log(EventFilter(action="job.succeed"))[-1].actor == ws.actor
    failing = ws.jobs.submit("bias", {**params, "options": {**OPTIONS, "facets": ["race"]}}, system="credit")
    run_next(ws, threading.Event())
    failed = ws.jobs.get(failing.id)
    assert failed.status == "failed" and failed.error is not None and "column 'race'" in failed.error
    with pytest.raises(InvalidInput, match="bootstrap must be at most"):
        ws.schedules.add("credit", "bias", {**params, "options": {**OPTIONS, "bootstrap": 10**6}}, cron="0 3 * * *",
                         timezone="UTC")  # fmt: skip
    with pytest.raises(InvalidInput, match=r"params\.target needs dataset_version"):
        ws.schedules.add("credit", "bias", {"target": {}, "options": OPTIONS}, cron="0 3 * * *", timezone="UTC")
    nightly = ws.schedules.add("credit", "bias", params, cron="0 3 * * *", timezone="Europe/Paris")
    assert nightly.kind == "bias" and nightly.params["options"]["facets"] == ["sex"]
