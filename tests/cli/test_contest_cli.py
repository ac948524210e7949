"""``assay contest``: an unknown inference id exits 2 naming it; a case opened with the operator's decision and
features, explained by a worker's job, shown in plain language, decided, and its letter printed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from assay.cli import main
from assay.services.decisions import queue_explanations
from assay.services.jobs import run_next
from assay.services.workspace import Workspace
from tests.support.contests import SETTINGS, configure_explanations, credit_system, negatives, row

pytestmark = pytest.mark.realdata


def test_open_show_decide_and_print_the_letter(
    workspace: Workspace,
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # the table's sentences on one line each
    credit_system(workspace, shared_data, tmp_path / "files")
    configure_explanations(workspace, "credit", SETTINGS)
    root = ["--workspace", str(workspace.root)]
    assert main([*root, "contest", "open", "credit", "inf-9"]) == 2
    err = capsys.readouterr().err
    assert "'inf-9'" in err and "--decision" in err
    features = tmp_path / "features.json"
    features.write_text(json.dumps(row(negatives(shared_data, 1), 0)), encoding="utf-8")
    code = main([*root, "contest", "open", "credit", "inf-9", "--decision", "0", "--features", str(features),
                 "--requester", "ref-1", "--json"])  # fmt: skip
    assert code == 0
    case = json.loads(capsys.readouterr().out)
    assert case["decision"] == {"prediction": 0} and case["status"] == "open"
    assert queue_explanations(workspace, "credit") is None  # opening the case queued the job
    while run_next(workspace, threading.Event()) is not None:
        pass
    assert main([*root, "contest", "show", "credit", str(case["id"])]) == 0
    shown = capsys.readouterr().out
    assert "the chance of approval the most" in shown and "the outcome would have been approval" in shown
    assert main([*root, "contest", "decide", "credit", str(case["id"]), "--outcome", "overturned",
                 "--rationale", "New payslips."]) == 2  # fmt: skip
    assert "new decision" in capsys.readouterr().err
    assert main([*root, "contest", "decide", "credit", str(case["id"]), "--outcome", "overturned",
                 "--new-decision", "1", "--rationale", "New payslips."]) == 0  # fmt: skip
    capsys.readouterr()
    assert main([*root, "contest", "letter", "credit", str(case["id"])]) == 0
    letter = capsys.readouterr().out
    assert "The new decision is: 1." in letter and "New payslips." in letter and "ref-1" in letter
    assert main([*root, "contest", "list", "credit", "--json"]) == 0
    assert [c["outcome"] for c in json.loads(capsys.readouterr().out)] == ["overturned"]
    assert main([*root, "contest", "show", "credit", "42"]) == 2
    assert "no contested case 42" in capsys.readouterr().err
