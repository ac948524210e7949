"""``assay aims objective|training|reminders`` on a real single-user workspace: objectives measured and trended,
trainings recorded and imported from CSV (a bad row named, nothing imported), the gap list, reminders listed and
e-mailed; bad input exits 2 naming the option or the row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.cli import main
from assay.config import load_settings
from assay.governance.aims_perf import add_months
from assay.services.workspace import Workspace
from tests.support.receivers import smtp_server

TODAY = dt.date.today()


@pytest.fixture
def solo(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.init(tmp_path / "ws", load_settings(actor="alice", workspace=None), single_user=True) as ws:
        for name in ("alice", "bob"):
            ws.access.add_user(name, "a password long enough", role="admin" if name == "alice" else "member")
        ws.systems.create({"name": "hr", "eu_ai_act_category": "high", "annex_iii_area": 4})
        ws.access.grant("bob", "hr", "owner")
        yield ws


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_objectives(solo: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(solo, capsys, "aims", "objective", "add", "bias-fresh", "--title", "recent bias assessments",
                       "--owner", "alice", "--target", "1", "--unit", "share", "--due", str(TODAY),
                       "--measure", "assessed-share", "--param", "days=30")  # fmt: skip
    assert code == 0, err
    code, out, err = run(solo, capsys, "aims", "objective", "measure", "--all", "--json")
    assert code == 0 and json.loads(out)[0]["value"] == 0.0, err
    solo.assessments.record("hr", {"schema": "assay.assessment", "spec": {}, "data": {}})
    assert run(solo, capsys, "aims", "objective", "measure", "bias-fresh")[0] == 0
    code, out, _ = run(solo, capsys, "aims", "objective", "trend", "bias-fresh")
    assert code == 0 and "Trend of bias-fresh: up, improving" in out
    code, out, _ = run(solo, capsys, "aims", "objective", "list", "--json")
    (row,) = json.loads(out)
    assert row["value"] == 1.0 and row["met"] is True and row["measure"] == "assessed-share"
    assert run(solo, capsys, "aims", "objective", "add", "survey", "--title", "survey", "--owner", "bob")[0] == 0
    code, out, _ = run(solo, capsys, "aims", "objective", "record", "survey", "4.5", "--note", "2026 survey", "--json")
    assert code == 0 and json.loads(out)["details"] == {"note": "2026 survey"}
    code, out, _ = run(solo, capsys, "aims", "objective", "update", "survey", "--target", "4", "--json")
    assert json.loads(out)["target"] == 4.0
    code, out, _ = run(solo, capsys, "aims", "objective", "measures")
    assert code == 0 and "training-coverage" in out and "days=90" in out
    assert run(solo, capsys, "aims", "objective", "retire", "survey", "--reason", "done")[0] == 0
    for args, message in (
        (("add", "x", "--title", "t", "--owner", "alice", "--measure", "nope"), "unknown measure 'nope'"),
        (("add", "x", "--title", "t", "--owner", "alice", "--target", "high"), "--target 'high' is not a number"),
        (("add", "x", "--title", "t", "--owner", "alice", "--param", "days=3"), "--param needs --measure NAME"),
        (("add", "x", "--title", "t", "--owner", "alice", "--due", "soon"), "--due 'soon': write a date"),
        (("measure",), "name one objective or give --all"),
        (("trend", "gone"), "no objective 'gone'"),
    ):
        code, _, err = run(solo, capsys, "aims", "objective", *args)
        assert code == 2 and message in err, (args, err)


def test_trainings_and_reminders(solo: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(solo, capsys, "aims", "training", "add", "ai-basics", "--title", "AI basics",
                       "--validity-months", "12", "--required-for", "owner,internal-auditor")  # fmt: skip
    assert code == 0, err
    code, out, _ = run(solo, capsys, "aims", "training", "gaps", "--json")
    assert [(g["person"], g["state"]) for g in json.loads(out)] == [("bob", "missing")]
    csv = tmp_path / "records.csv"
    csv.write_text(f"person,training,completed_on\nbob,ai-basics,{TODAY}\nbob,ai-basic,{TODAY}\n", "utf-8")
    code, _, err = run(solo, capsys, "aims", "training", "import", str(csv))
    assert code == 2 and "row 3, column training: no training 'ai-basic'" in err
    csv.write_text(f"person,training,completed_on,score\nbob,ai-basics,{TODAY},95\n", "utf-8")
    code, out, err = run(solo, capsys, "aims", "training", "import", str(csv), "--json")
    assert code == 0 and json.loads(out)["recorded"] == 1, err
    code, out, _ = run(solo, capsys, "aims", "training", "records", "--person", "bob", "--json")
    assert json.loads(out)[0]["expires_on"] == add_months(TODAY, 12).isoformat()
    code, out, _ = run(solo, capsys, "aims", "training", "gaps", "--within", "400")
    assert code == 0 and "expiring" in out
    code, _, err = run(solo, capsys, "aims", "training", "record", "bob", "ai-basics", "--completed-on", "someday")
    assert code == 2 and "--completed-on 'someday': write a date" in err
    code, out, _ = run(solo, capsys, "aims", "training", "list")
    assert code == 0 and "ai-basics" in out
    assert run(solo, capsys, "aims", "training", "retire", "ai-basics")[0] == 0

    solo.aims.objectives.add({"key": "survey", "title": "staff survey", "owner": "bob", "due_date": TODAY})
    code, out, _ = run(solo, capsys, "aims", "reminders", "--person", "bob", "--json")
    (bob,) = json.loads(out)
    assert [i["ref"] for i in bob["items"]] == ["objective:survey"]
    code, out, _ = run(solo, capsys, "aims", "reminders", "--person", "*")
    assert code == 0 and "objective:survey" in out and "reach objective survey" in out
    code, _, err = run(solo, capsys, "aims", "reminders", "--send")
    assert code == 2 and "ASSAY_SMTP_HOST is not set" in err
    code, _, err = run(solo, capsys, "aims", "reminders", "--domain", "example.org")
    assert code == 2 and "--address and --domain go with --send" in err
    with smtp_server() as box, pytest.MonkeyPatch.context() as env:
        for key, value in {"ASSAY_SMTP_HOST": "127.0.0.1", "ASSAY_SMTP_PORT": str(box.port),
                           "ASSAY_SMTP_STARTTLS": "false"}.items():  # fmt: skip
            env.setenv(key, value)
        code, out, err = run(solo, capsys, "aims", "reminders", "--send", "--address", "bob=bob@corp.example.org")
        assert code == 0 and "bob@corp.example.org" in out, err
        assert [recipients for _, recipients, _ in box.mail] == [["bob@corp.example.org"]]
        code, _, err = run(solo, capsys, "aims", "reminders", "--send", "--address", "bob")
        assert code == 2 and "--address 'bob': write NAME=EMAIL" in err
