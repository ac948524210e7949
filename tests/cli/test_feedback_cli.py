"""``assay feedback``: submit, import, list and summary on a real workspace; bad input exits 2 naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.cli import main
from assay.services.workspace import Workspace


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_feedback_commands(workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if workspace.store.engine.dialect.name != "sqlite":
        pytest.skip("the command line opens the workspace's own database")
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    workspace.models.register_version("credit", {"model": "gbm", "version": "3"})
    code, _, err = run(workspace, capsys, "feedback", "submit", "credit", "--rating", "0", "--scale", "2",
                       "--comment", "wrong, call +44 20 7946 0958", "--model-version", "gbm@3",
                       "--attribute", "channel=app", "--category", "wrong")  # fmt: skip
    assert code == 0, err
    code, out, _ = run(workspace, capsys, "feedback", "list", "credit", "--json")
    [stored] = json.loads(out)
    assert stored["comment"] == "wrong, call <PHONE_NUMBER>" and stored["source"] == "client"
    assert stored["attributes"] == {"channel": "app"}
    survey = tmp_path / "survey.jsonl"
    records = [{"rating": r, "scale": 2, "model_version": "gbm@3", "attributes": {"channel": "web"}} for r in (1, 1, 0)]
    survey.write_text("\n".join(json.dumps(record) for record in records), "utf-8")
    code, out, err = run(workspace, capsys, "feedback", "import", "credit", str(survey))
    assert code == 0 and "3 feedback records of credit imported" in out, err
    code, out, _ = run(workspace, capsys, "feedback", "summary", "credit", "--by", "channel", "--json")
    summary = json.loads(out)
    assert summary["feedback"] == 4 and {s["value"] for s in summary["slices"]} == {"app", "web"}
    assert summary["overall"]["scales"][0]["positive"]["count"] == 2
    code, out, _ = run(workspace, capsys, "feedback", "summary", "credit", "--by", "channel", "--every", "week")
    assert code == 0 and "Per channel" in out and "Per week" in out
    code, out, _ = run(workspace, capsys, "feedback", "list", "credit", "--since", "2020-01-01")
    assert code == 0 and "Feedback of credit (4)" in out
    for args, message in ((("submit", "credit", "--rating", "7"), "rating: 7 is outside scale 5"),
                          (("submit", "credit", "--rating", "5", "--attribute", "novalue"), "write KEY=VALUE"),
                          (("list", "credit", "--since", "yesterday"), "--since 'yesterday' is not an ISO 8601"),
                          (("import", "credit", str(tmp_path / "none.csv")), "no such file")):  # fmt: skip
        code, _, err = run(workspace, capsys, "feedback", *args)
        assert code == 2 and message in err, (args, err)
