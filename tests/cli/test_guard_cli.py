"""``assay guard``: policies, the filter over text and JSON Lines (one Bedrock-shaped result per line, the exit code
chosen by --fail-on-block), decisions, stats, the block-rate check and verification, on a real workspace."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from assay.cli import main
from assay.services.workspace import Workspace
from tests.support.guard import WORDS, use_words_check


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def ws(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    if workspace.store.engine.dialect.name != "sqlite":
        pytest.skip("the command line opens the workspace's own database")
    use_words_check(monkeypatch)
    workspace.systems.create({"name": "helpdesk", "eu_ai_act_category": "minimal"})
    return workspace


def test_policy_commands(ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(WORDS, encoding="utf-8")
    code, out, err = run(ws, capsys, "guard", "policy", "add", str(policy), "--system", "helpdesk")
    assert code == 0 and out == "guardrail policy support-bot version 1 (system helpdesk): words\n", err
    code, out, _ = run(ws, capsys, "guard", "policy", "add", str(policy), "--json")
    assert code == 0 and json.loads(out)["version"] == 1  # the same text: no new version
    code, out, _ = run(ws, capsys, "guard", "policy", "list", "--json")
    assert [(p["name"], p["version"], p["system"]) for p in json.loads(out)] == [("support-bot", 1, "helpdesk")]
    code, out, _ = run(ws, capsys, "guard", "policy", "show", "support-bot", "--version", "1")
    assert code == 0 and "project falcon" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: assay.guardrail/1\nname: x\nwords: {phrases: [a], input: mask}\n", encoding="utf-8")
    for args, message in ((("add", str(bad)), "words.input"), (("add", str(tmp_path / "none.yaml")), "no such file"),
                          (("show", "nope"), "no guardrail policy named 'nope'")):  # fmt: skip
        code, _, err = run(ws, capsys, "guard", "policy", *args)
        assert code == 2 and message in err, err


def test_the_filter_over_text_and_json_lines(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    monkeypatch.setattr("sys.stdin", io.StringIO("Tell me about Project Falcon.\nThanks."))
    code, out, err = run(ws, capsys, "guard", "apply", "--policy", "support-bot")
    [result] = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert result["action"] == "GUARDRAIL_INTERVENED" and result["source"] == "INPUT"
    assert result["outputs"] == [{"text": "Sorry, I cannot help with that request."}]
    assert result["policy"] == {"name": "support-bot", "version": 1, "sections": ["words"]}
    assert result["guardrailCoverage"]["textCharacters"]["guarded"] == 37
    lines = tmp_path / "answers.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in (
        {"text": "Our product ships in May.", "id": "a1"},
        {"content": ["first block", "about project falcon"], "sources": ["May"], "query": "When?"},
        {"text": "fine", "conversation": "c-1"},
    )) + "\n\n", encoding="utf-8")  # fmt: skip
    code, out, err = run(ws, capsys, "guard", "apply", "--policy", "support-bot", "--source", "output", str(lines),
                         "--fail-on-block", "3")  # fmt: skip
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 3, err
    assert [(r["line"], r["action"], r["source"]) for r in results] == [
        (1, "NONE", "OUTPUT"),
        (2, "GUARDRAIL_INTERVENED", "OUTPUT"),
        (3, "NONE", "OUTPUT"),
    ]
    assert results[0]["id"] == "a1" and results[0]["outputs"] == [{"text": "Our product ships in May."}]
    code, out, _ = run(ws, capsys, "guard", "decisions", "--channel", "cli", "--json")
    decisions = json.loads(out)
    assert len(decisions) == 4 and decisions[0]["conversation"] == "c-1"
    code, out, _ = run(ws, capsys, "guard", "stats", "--json")
    assert (json.loads(out)["decisions"], json.loads(out)["blocked"]) == (4, 2)
    code, out, _ = run(ws, capsys, "guard", "stats")
    assert code == 0 and "Guardrail decisions: 4 in all" in out
    code, out, _ = run(ws, capsys, "guard", "decisions", "--outcome", "blocked")
    assert code == 0 and "Guardrail decisions (2)" in out
    bad = tmp_path / "bad.jsonl"
    for content, message in (("{\"text\": 1}", "line 1: give text or content"), ("[1]", "line 1 is not a JSON object"),
                             ("{\"text\": \"x\", \"sources\": \"s\"}", "line 1: sources must be a list"),
                             ("nope", "line 1 is not JSON")):  # fmt: skip
        bad.write_text(content, encoding="utf-8")
        code, _, err = run(ws, capsys, "guard", "apply", "--policy", "support-bot", str(bad))
        assert code == 2 and message in err, err
    for args, message in ((("--policy", "nope", str(lines)), "no guardrail policy named 'nope'"),
                          ((str(lines),), "give the guardrail policy"),
                          (("--policy", "support-bot", "--source", "side", str(lines)), "source 'side' is not one of"),
                          (("--policy", "support-bot", "--fail-on-block", "300", str(lines)), "between 1 and 125"),
                          (("--policy", "support-bot", str(tmp_path / "none.txt")), "no such file")):  # fmt: skip
        code, _, err = run(ws, capsys, "guard", "apply", *args)
        assert code == 2 and message in err, err


def test_block_rate_and_verify_commands(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.genai.guard.add_policy(WORDS, system="helpdesk")
    for i in range(60):
        ws.genai.guard.apply("support-bot", "input", "project falcon" if i % 2 else "hello")
    ws.genai.guard.flush()
    code, out, _ = run(ws, capsys, "guard", "block-rate", "--policy", "support-bot", "--max-rate", "0.2")
    assert code == 1 and "support-bot: fail: 30 of 60 blocked (0.500)" in out and "above the ceiling 0.2" in out
    code, out, _ = run(ws, capsys, "guard", "block-rate", "--policy", "support-bot", "--max-rate", "0.6", "--json")
    assert code == 0 and json.loads(out)["status"] == "pass"
    code, _, err = run(ws, capsys, "guard", "block-rate", "--policy", "support-bot")
    assert code == 2 and "give max_rate" in err
    code, out, _ = run(ws, capsys, "guard", "verify")
    assert code == 0 and out == "guardrail decisions verify: 60 decisions in 1 sealed batches\n"
    with ws.store.engine.begin() as connection:
        connection.execute(text("UPDATE guard_decisions SET outcome = 'none' WHERE id = 2"))
    code, _, err = run(ws, capsys, "guard", "verify")
    assert code == 1 and "edited 2" in err
