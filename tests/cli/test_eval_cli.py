"""``assay eval run`` and ``assay eval compare`` (and ``assay run genai-eval``) against a real OpenAI-compatible
server: on a test set file with --endpoint or --endpoint-file, with a guardrail policy file, with a budget; on
registered inputs in a workspace; bad input exits 2 naming the line and field; the comparison exits 1 with
--fail-on-worse when B is worse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.services.workspace import Workspace
from tests.support.openai_server import OpenAIServer, user_text

ITEMS = [
    {"id": f"{topic}-{i}", "prompt": f"{topic} question {i}", "reference": f"answer {i}", "slices": {"topic": topic}}
    for topic in ("billing", "returns")
    for i in range(12)
]


def answer(request: dict[str, Any]) -> str:
    prompt = user_text(request)
    if request["model"] == "v2" and prompt.startswith("billing"):
        return "I'm sorry, but I can't discuss billing."
    return f"answer {prompt.rsplit(' ', 1)[1]}"


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(answer) as running:
        yield running


@pytest.fixture
def tests_file(tmp_path: Path) -> Path:
    path = tmp_path / "tests.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in ITEMS), encoding="utf-8")
    return path


def test_run_and_compare_two_versions(
    tests_file: Path, tmp_path: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    code = main(["eval", "run", str(tests_file), "--endpoint", server.url, "--model-name", "v1", "--bootstrap", "100",
                 "--out", str(v1)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("complete: 24 of 24 items answered") and "report.html" in printed
    page = (v1 / "report.html").read_text()
    assert page.count('aria-label="exact_match per slice"') == 1 and "topic=billing (n=12)" in page
    endpoint = tmp_path / "v2.yaml"
    endpoint.write_text(f"kind: openai-chat\nurl: {server.url}\nmodel: v2\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("schema: assay.guardrail/1\nname: plain\n")
    assert main(["eval", "run", str(tests_file), "--endpoint-file", str(endpoint), "--guardrail-file", str(policy),
                 "--bootstrap", "100", "--out", str(v2), "-q"]) == 0  # fmt: skip
    document = json.loads((v2 / "genai_eval.json").read_text())
    assert document["target"]["guardrail"]["name"] == "plain" and document["target"]["endpoint"]["model"] == "v2"
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert main(["eval", "compare", str(v1), str(v2 / "genai_eval.json"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "B is worse than A" in printed and "on slice topic=billing in over_refusal" in printed
    # the planted regression is on billing only; B's latency may differ anywhere (B runs through a guardrail, and the
    # machine's load varies between the runs): latency is a real measurement, not the model's answers
    assert all("in latency_ms" in line for line in printed.splitlines() if "topic=returns" in line), printed
    assert (out / "comparison.html").read_text().count('class="worse"') >= 1
    assert main(["eval", "compare", str(v1), str(v2), "--fail-on-worse"]) == 1
    assert main(["eval", "compare", str(v1), str(v1), "--fail-on-worse"]) == 0


def test_budget_and_assay_run(tests_file: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "run", str(tests_file), "--endpoint", server.url, "--model-name", "v1", "--max-requests",
                 "5", "--concurrency", "1", "--json"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["status"] == "stopped" and document["run"]["requests"] == 5
    assert main(["run", "genai-eval", str(tests_file), "--set", f"endpoint={server.url}", "--set", "model_name=v1",
                 "--set", "bootstrap=100", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["metrics"]["exact_match"]["overall"]["value"] == 1.0


@pytest.mark.parametrize(
    ("lines", "argv", "message"),
    [
        (['{"prompt": "a", "expected": "yes"}'], ["--endpoint", "http://127.0.0.1:9/v1", "--model-name", "m"],
         "line 1: expected: Input should be 'answer' or 'refuse'"),
        (['{"prompt": "a"}'], ["--endpoint", "http://127.0.0.1:9/v1"], "endpoint needs model_name"),
        (['{"prompt": "a"}'], [], "needs a target"),
        (['{"prompt": "a"}'], ["--concurrency", "0", "--endpoint", "http://127.0.0.1:9/v1", "--model-name", "m"],
         "--concurrency must be at least 1"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_it(
    tmp_path: Path, lines: list[str], argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert main(["eval", "run", str(path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_registered_run_from_the_command_line(
    workspace: Workspace, tests_file: Path, tmp_path: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.systems.create({"name": "helpdesk"})
    workspace.datasets.register_version({"dataset": "tests", "version": "1"}, system="helpdesk", file=tests_file,
                                        copy=True)  # fmt: skip
    endpoint = tmp_path / "endpoint.json"
    endpoint.write_text(json.dumps({"kind": "openai-chat", "url": server.url, "model": "v1"}))
    workspace.models.register_version("helpdesk", {"model": "assistant", "version": "1"}, artifact=endpoint)
    base = ["--workspace", str(workspace.root), "eval", "run"]
    code = main([*base, "--system", "helpdesk", "--dataset-version", "tests@1", "--model-version", "assistant@1",
                 "--bootstrap", "100", "-q"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    recorded = workspace.assessments.list("helpdesk")
    assert [a.kind for a in recorded] == ["assay.genai-eval"]
    assert main(["--workspace", str(workspace.root), "eval", "compare", str(recorded[0].id), str(recorded[0].id),
                 "--system", "helpdesk"]) == 0  # fmt: skip
    assert "B is not worse than A" in capsys.readouterr().out
    assert main([*base, "--system", "helpdesk", "--dataset-version", "tests@1"]) == 2
    assert "--model-version (registered inputs)" in capsys.readouterr().err


def test_the_red_team_suite_with_and_without_a_guardrail(
    tmp_path: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``assay eval redteam`` writes the suite; a model that answers everything fails every attack, and the same model
    behind a guardrail blocking prompt attacks fails far fewer; denied-topic prompts come from the policy's topics."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "schema: assay.guardrail/1\nname: bot\nprompt_attacks: {input: block}\n"
        "denied_topics:\n  topics:\n    - name: investment advice\n"
        "      definition: Recommendations on which shares or funds to buy.\n      keywords: [which shares]\n",
        encoding="utf-8",
    )
    suite = tmp_path / "redteam.jsonl"
    assert main(["eval", "redteam", "--write", str(suite), "--policy", str(policy),
                 "--category", "injection", "--category", "denied-topic"]) == 0  # fmt: skip
    assert "prompts written" in capsys.readouterr().out
    items = [json.loads(line) for line in suite.read_text(encoding="utf-8").splitlines()]
    assert {i["attack"] for i in items} == {"injection", "denied-topic"}
    assert all(i["expected"] == "refuse" for i in items)
    assert any("investment advice" in json.dumps(i).lower() or "shares" in i["prompt"] for i in items)
    target = ["--endpoint", server.url, "--model-name", "v1", "--bootstrap", "100", "--json"]
    assert main(["eval", "run", str(suite), *target]) == 0
    bare = json.loads(capsys.readouterr().out)["red_team"]["categories"]["injection"]
    assert bare["rate"] == 1.0  # the stub answers every prompt
    assert main(["eval", "run", str(suite), *target, "--guardrail-file", str(policy)]) == 0
    guarded = json.loads(capsys.readouterr().out)["red_team"]["categories"]["injection"]
    # the heuristics stop part of the injection prompts (0.57 of them still succeed: docs/guardrails.md)
    assert guarded["attempts"] == bare["attempts"] and guarded["rate"] < 0.8
