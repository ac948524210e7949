"""`assay monitor ...` on a real workspace: create with checks and options from flags, run a batch's file (exit 0
when it passes, 1 on a violation, 2 on bad input), list runs, pause, resume, delete."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.cli import main
from assay.services.runs import Target
from assay.services.workspace import Workspace


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _data(path: Path, seed: int, missing: float = 0.0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 500), "job": rng.choice(["a", "b"], 500)})
    frame.loc[rng.random(500) < missing, "age"] = np.nan
    frame.to_csv(path, index=False)
    return path


def test_monitor_commands(workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    train = _data(tmp_path / "train.csv", 1)
    workspace.systems.create({"name": "credit"})
    workspace.datasets.register_version({"dataset": "train", "version": "1"}, system="credit", file=train, copy=True)
    workspace.models.register_version("credit", {"model": "m", "version": "1"})
    baseline = workspace.runs.run("baseline", Target("credit", "train@1"), {}).recorded.id
    code, _, err = run(workspace, capsys, "monitor", "create", "credit", "batch", "--model", "m@1",
                       "--check", "duplicates", "--set", "duplicates.nope=1", "--source", "given")  # fmt: skip
    assert code == 2 and "nope" in err
    code, out, err = run(workspace, capsys, "monitor", "create", "credit", "batch", "--model", "m@1",
                         "--check", f"validate:{baseline}", "--check", "duplicates", "--set",
                         "duplicates.max_share=0.5", "--source", "given", "--window", "1h")  # fmt: skip
    assert code == 0, err
    assert out == "monitor batch created on credit for m@1\n"
    code, out, _ = run(workspace, capsys, "monitor", "show", "credit", "batch", "--json")
    shown = json.loads(out)
    assert shown["window"] == 3600 and shown["checks"][1]["options"]["max_share"] == 0.5
    code, out, _ = run(
        workspace, capsys, "monitor", "run", "credit", "batch", "--data", str(_data(tmp_path / "a.csv", 2))
    )
    assert code == 0 and ": ok" in out and "validate: pass" in out
    code, out, _ = run(workspace, capsys, "monitor", "run", "credit", "batch", "--data", str(tmp_path / "a.csv"))
    assert code == 0 and "(already judged)" in out
    bad = _data(tmp_path / "b.csv", 3, missing=0.5)
    code, out, _ = run(
        workspace, capsys, "monitor", "run", "credit", "batch", "--data", str(bad), "--end", "2020-01-01T00:00Z"
    )
    assert code == 1 and "violations" in out and "completeness_check age" in out
    code, _, err = run(workspace, capsys, "monitor", "run", "credit", "batch", "--data", str(bad), "--end", "yesterday")
    assert code == 2 and "--end 'yesterday' is not an ISO 8601 time" in err
    code, out, _ = run(workspace, capsys, "monitor", "runs", "credit", "batch", "--json")
    assert [r["status"] for r in json.loads(out)] == ["ok", "violations"]
    assert run(workspace, capsys, "monitor", "pause", "credit", "batch")[:2] == (0, "monitor batch paused\n")
    code, _, err = run(workspace, capsys, "monitor", "run", "credit", "batch", "--data", str(bad))
    assert code == 2 and "paused" in err
    assert run(workspace, capsys, "monitor", "resume", "credit", "batch")[0] == 0
    code, out, _ = run(workspace, capsys, "monitor", "list", "credit")
    assert code == 0 and "batch" in out and "validate" in out
    assert run(workspace, capsys, "monitor", "delete", "credit", "batch")[:2] == (0, "monitor batch deleted\n")
