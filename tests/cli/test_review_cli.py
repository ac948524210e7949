"""`assay review ...` and `assay model pause|resume` on a real workspace: configure (errors name the key), route one
prediction (exit 0 proceed, 1 review), submit a file, the queue, claim, decide, labels as CSV, the kill switch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from assay.cli import main
from assay.services.workspace import Workspace

CONFIG = "sla: 2h\nrules:\n  - name: uncertain\n    score_between: [0.4, 0.6]\n  - name: audit\n    sample: 0.01\n"


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_review_commands(workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    workspace.set_mode("single-user")  # decisions and the kill switch take --actor's word only in a single-user one
    workspace.systems.create({"name": "credit"})
    workspace.models.register_version("credit", {"model": "m", "version": "1"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    score_between: [0.9, 0.1]\n", encoding="utf-8")
    code, _, err = run(workspace, capsys, "review", "configure", "credit", str(bad))
    assert code == 2 and "rules[0].score_between" in err
    good = tmp_path / "review.yaml"
    good.write_text(CONFIG, encoding="utf-8")
    code, out, err = run(workspace, capsys, "review", "configure", "credit", str(good))
    assert code == 0, err
    assert out.startswith("credit: review configuration version 1 is in force")
    code, out, _ = run(workspace, capsys, "review", "route", "credit", "m@1", "--id", "r1", "--prediction", "1",
                       "--score", "0.9")  # fmt: skip
    assert code == 0 and json.loads(out)["status"] == "proceed"
    code, out, _ = run(workspace, capsys, "review", "route", "credit", "m@1", "--id", "r2", "--prediction", "1",
                       "--score", "0.5", "--feature", "age=41")  # fmt: skip
    held = json.loads(out)
    assert code == 1 and held["status"] == "review" and held["reasons"] == ["uncertain"]
    data = tmp_path / "batch.csv"
    pd.DataFrame({"inference_id": ["b1", "b2"], "prediction": [0, 1], "score": [0.45, 0.99], "age": [30, 50]}).to_csv(
        data, index=False
    )
    code, out, _ = run(workspace, capsys, "review", "submit", "credit", "m@1", str(data), "--score-column", "score")
    assert code == 0 and out.startswith("2 records: 1 held for review, 1 proceed")
    code, out, _ = run(workspace, capsys, "review", "queue", "credit", "--json")
    assert code == 0 and json.loads(out)["total"] == 2
    item = held["item_id"]
    code, out, _ = run(workspace, capsys, "review", "claim", "credit", str(item))
    assert code == 0 and "claimed by alice" in out
    code, _, err = run(workspace, capsys, "review", "decide", "credit", str(item), "change", "--outcome", "0")
    assert code == 2 and "reason" in err
    code, out, _ = run(workspace, capsys, "review", "decide", "credit", str(item), "change", "--outcome", "0",
                       "--reason", "documents checked")  # fmt: skip
    assert code == 0 and out == "review item 1 is decided: 0 takes effect\n"
    code, out, _ = run(workspace, capsys, "review", "labels", "credit")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["inference_id"], r["label"], r["overridden"]) for r in rows] == [("r2", "0", "True")]
    code, out, _ = run(workspace, capsys, "model", "pause", "credit", "m@1", "--reason", "drift",
                       "--fallback", "manual desk")  # fmt: skip
    assert code == 0 and "paused by alice" in out
    code, out, _ = run(workspace, capsys, "review", "route", "credit", "m@1", "--id", "r3", "--prediction", "1",
                       "--score", "0.9")  # fmt: skip
    assert code == 1 and json.loads(out)["fallback"] == "manual desk"
    code, out, _ = run(workspace, capsys, "model", "resume", "credit", "m@1", "--reason", "ok")
    assert code == 0 and "runs again" in out
    code, out, _ = run(workspace, capsys, "model", "pauses", "credit", "--json")
    assert [p["resumed_by"] for p in json.loads(out)] == ["alice"]
    code, out, _ = run(workspace, capsys, "review", "switch", "credit", "--off", "--reason", "pilot over")
    assert code == 0 and "is off (version 2)" in out
