"""`assay system/model/dataset` licence and provenance options, `assay licences`, `assay guard corpus`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.cli import main
from assay.services.workspace import Workspace

TEXT = (
    "Every reply from the support desk must first restate the customer's question in plain words, then give the "
    "answer, then say what the customer can do next if the answer does not solve the problem."
)


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_licence_options_the_warning_and_the_check(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(workspace, capsys, "system", "create", "bot", "--commercial", "--owner", "dana", "--json")
    assert code == 0 and json.loads(out)["commercial"] is True
    code, out, err = run(
        workspace, capsys, "dataset", "register", "tickets@1", "--system", "bot", "--licence", "cc-by-nc-4.0",
        "--terms", "internal", "--json",
    )  # fmt: skip
    assert code == 0 and (json.loads(out)["licence"], json.loads(out)["terms"]) == ("CC-BY-NC-4.0", "internal")
    assert err == ""
    code, out, err = run(
        workspace, capsys, "model", "register", "bot", "chat@1", "--licence", "a licence from the vendor",
        "--foundation-model", "some-llm", "--training-data", "tickets@1", "--source", "vendor portal", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["foundation_model"] == "some-llm"
    assert "warning: licence 'a licence from the vendor' is not a licence Assay knows" in err

    code, out, _ = run(workspace, capsys, "licences", "check", "bot", "--dry-run", "--json")
    assert code == 1 and len(json.loads(out)["findings"]) == 3
    assert workspace.risks.list("bot") == []  # a dry run leaves the register alone
    code, out, _ = run(workspace, capsys, "licences", "check", "bot")
    assert code == 1 and "3 created" in out and "non-commercial" in out

    run(workspace, capsys, "model", "update", "bot", "chat@1", "--licence", "Apache-2.0", "--provider", "Vendor")
    run(workspace, capsys, "system", "update", "bot", "--not-commercial")
    code, out, _ = run(workspace, capsys, "licences", "check", "bot", "--json")
    assert code == 0 and len(json.loads(out)["risks"]["closed"]) == 3
    code, out, _ = run(workspace, capsys, "licences", "list", "--json")
    assert code == 0 and "CC-BY-NC-4.0" in {row["id"] for row in json.loads(out)}


def test_guard_corpus_add_list_match(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "desk.md").write_text(TEXT, encoding="utf-8")
    code, out, _ = run(workspace, capsys, "guard", "corpus", "add", "desk", str(folder), "--description", "rules")
    assert code == 0 and "version 1" in out
    code, out, _ = run(workspace, capsys, "guard", "corpus", "list", "--json")
    assert code == 0 and [(c["name"], c["version"], c["documents"]) for c in json.loads(out)] == [("desk", 1, 1)]
    response = tmp_path / "response.txt"
    response.write_text("Sure. " + " ".join(TEXT.split()[:20]) + " Hope that helps.", encoding="utf-8")
    code, out, _ = run(workspace, capsys, "guard", "corpus", "match", "desk", "--file", str(response), "--json")
    found = json.loads(out)
    assert code == 0 and found["longest_words"] == 20 and found["spans"][0]["document"] == "desk.md"
    assert found["spans"][0]["quote"] == "Every reply from the support…"
    code, out, _ = run(workspace, capsys, "guard", "corpus", "match", "desk", "--file", str(response))
    assert code == 0 and "Verbatim spans" in out
    code, _, err = run(workspace, capsys, "guard", "corpus", "add", "desk", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(workspace, capsys, "guard", "corpus", "match", "nothing", "--file", str(response))
    assert code != 0 and "no protected corpus 'nothing'" in err
