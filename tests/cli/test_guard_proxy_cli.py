"""``assay guard proxy``: the proxy served as users start it (a real process in front of a real OpenAI-compatible
server), and its bad input refused in one line with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from assay.cli import main
from assay.config import load_settings
from assay.services.workspace import Workspace
from tests.support.openai_server import OpenAIServer, free_port

DISCLOSURE = "This answer was written by an AI system."
POLICY = f"""schema: assay.guardrail/1
name: cli-proxy
disclosure: {{required: true, text: "{DISCLOSURE}"}}
"""


def test_the_proxy_serves_as_a_process(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, "utf-8")
    port = free_port()
    log = tmp_path / "proxy.log"
    with OpenAIServer({"Hello": "Hi there."}) as upstream, log.open("wb") as out:
        command = [sys.executable, "-m", "assay", "-w", str(tmp_path / "ws"), "guard", "proxy", "--upstream",
                   upstream.url, "--policy-file", str(policy), "--port", str(port),
                   "--api-key-env", "UPSTREAM_KEY"]  # fmt: skip
        env = {**os.environ, "UPSTREAM_KEY": "sk-local", "NO_COLOR": "1"}
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base, process, log)
            assert httpx.get(f"{base}/assay/guardrail").json()["policy"] == "cli-proxy"
            answer = httpx.post(f"{base}/v1/chat/completions",
                                json={"model": "m", "messages": [{"role": "user", "content": "Hello"}]})  # fmt: skip
            assert answer.status_code == 200, answer.text
            assert answer.json()["choices"][0]["message"]["content"] == f"Hi there.\n\n{DISCLOSURE}"
            assert answer.headers["x-assay-guardrail"] == "cli-proxy; input=NONE; output=NONE"
            assert upstream.requests[-1].headers["authorization"] == "Bearer sk-local"
        finally:
            process.terminate()
            process.wait(timeout=30)
    text = log.read_text()
    assert f"Guarding proxy on http://127.0.0.1:{port}/v1 -> {upstream.url} (policy cli-proxy)" in text
    assert "the decisions are not recorded" in text


def test_bad_options_exit_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, "utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: assay.guardrail/1\nname: b\ndisclosure: {required: maybe}\n", "utf-8")
    base = ["-w", str(tmp_path / "ws"), "guard", "proxy", "--upstream", "http://127.0.0.1:9/v1"]
    for extra, message in [
        ([], "give a workspace policy (--policy NAME) or a policy file (--policy-file PATH)"),
        (["--policy", "p", "--policy-file", str(policy)], "one of them"),
        (["--policy-file", str(tmp_path / "none.yaml")], "none.yaml: No such file or directory"),
        (["--policy-file", str(bad)], "disclosure.required"),
        (["--policy-file", str(policy), "--api-key-env", "ASSAY_NO_SUCH_VAR"], "ASSAY_NO_SUCH_VAR is not set"),
        (["--policy-file", str(policy), "--version", "2"], "--version picks a version of a workspace policy"),
        (["--policy-file", str(policy), "--max-messages", "0"], "--max-messages at least 1"),
    ]:
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, (extra, err)
    assert main(["-w", str(tmp_path / "ws"), "guard", "proxy", "--upstream", "localhost:8000",
                 "--policy-file", str(policy)]) == 2  # fmt: skip
    assert "upstream must be an http:// or https:// URL" in capsys.readouterr().err


def test_a_workspace_policy_is_served_with_its_systems_disclosure_and_recorded(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws", load_settings(actor="alice", workspace=None))  # the CLI's own SQLite
    service: Any = getattr(workspace.genai, "guard", None)
    if service is None:
        pytest.skip("the workspace's guard service (ws.genai.guard) is not on this branch yet")
    workspace.systems.create({"name": "helpdesk", "eu_ai_act_category": "limited", "generative": True,
                              "disclosure": "Answers come from an AI model."})  # fmt: skip
    service.add_policy("schema: assay.guardrail/1\nname: desk\ndisclosure: {required: true}\n", system="helpdesk")
    port = free_port()
    log = tmp_path / "proxy.log"
    with OpenAIServer({"Hello": "Hi there."}) as upstream, log.open("wb") as out:
        command = [sys.executable, "-m", "assay", "-w", str(workspace.root), "guard", "proxy", "--upstream",
                   upstream.url, "--policy", "desk", "--port", str(port)]  # fmt: skip
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
        try:
            _wait_for(f"http://127.0.0.1:{port}", process, log)
            answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                                json={"messages": [{"role": "user", "content": "Hello"}]})  # fmt: skip
            assert answer.json()["choices"][0]["message"]["content"] == "Hi there.\n\nAnswers come from an AI model."
            assert answer.json()["assay"]["version"] == 1
        finally:
            process.terminate()
            process.wait(timeout=30)
    decisions = list(service.decisions(policy="desk", channel="proxy"))
    workspace.close()
    assert sorted(d["source"] for d in decisions) == ["INPUT", "OUTPUT"], log.read_text()


def _wait_for(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/assay/guardrail")
            return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
