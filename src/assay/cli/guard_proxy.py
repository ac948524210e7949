"""``assay guard proxy``: serve the guarding proxy (OpenAI-compatible) in front of a model server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import open_workspace
from assay.errors import InvalidInput

__all__ = ["register"]


def guard_proxy(
    ctx: typer.Context,
    upstream: Annotated[
        str,
        typer.Option(
            help="The model server's OpenAI-compatible base URL, as an application would give it "
            "(e.g. http://127.0.0.1:11434/v1 for Ollama, http://127.0.0.1:8000/v1 for vLLM).",
        ),
    ],
    policy: Annotated[
        str | None, typer.Option(help="A guardrail policy of the workspace (its decisions are recorded).")
    ] = None,
    version: Annotated[int | None, typer.Option(help="The policy's version (default: the latest).")] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(help="A guardrail policy YAML file instead (assay.guardrail/1; its decisions are not recorded)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="The environment variable holding the upstream's API key (sent instead of the applications' "
            "Authorization header, which is forwarded otherwise).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each part of the upstream's answer.")] = 120.0,
    max_body_mb: Annotated[float, typer.Option(help="The largest request body accepted (MiB).")] = 4.0,
    max_messages: Annotated[int, typer.Option(help="The most messages in one chat request.")] = 1000,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (uvicorn's access log; the decisions are recorded either way).")
    ] = False,
) -> None:
    """Serve the guarding proxy: an OpenAI-compatible endpoint guarding a model server's prompts and responses.

    POST /v1/chat/completions (streaming included) applies the guardrail policy to the prompt before the upstream
    and to the response after (a stream sentence by sentence), adds the disclosure the policy requires and marks
    the response; other /v1/ paths pass on. Applications change only their base URL.

    It does not authenticate applications: keep it on loopback (the default) or behind the network's access
    control."""
    import uvicorn

    from assay.genai.policy import parse_guard_policy
    from assay.server.proxy import ProxyLimits, create_proxy_app
    from assay.services.genai.guard import file_guardrail

    if (policy is None) == (policy_file is None):
        raise InvalidInput("give a workspace policy (--policy NAME) or a policy file (--policy-file PATH), one of them")
    if timeout <= 0 or max_body_mb <= 0 or max_messages < 1:
        raise InvalidInput("--timeout and --max-body-mb must be positive and --max-messages at least 1")
    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise InvalidInput(f"--api-key-env {api_key_env}: the environment variable {api_key_env} is not set")
    record = flush = None
    if policy_file is not None:
        if version is not None:
            raise InvalidInput("--version picks a version of a workspace policy (--policy), not of a file")
        try:
            text = policy_file.read_text("utf-8")
        except OSError as exc:
            raise InvalidInput(f"--policy-file {policy_file}: {exc.strerror or exc}") from None
        guardrail = file_guardrail(parse_guard_policy(text, str(policy_file)))
        typer.echo("note: the decisions are not recorded (a policy file is not one of the workspace's)", err=True)
    else:
        assert policy is not None
        genai: Any = open_workspace(ctx).genai
        service: Any = getattr(genai, "guard", None)
        if service is None:
            raise InvalidInput(
                f"--policy {policy}: this installation has no guardrail policies in the workspace; give --policy-file"
            )
        guardrail = service.guardrail(policy, version)
        record, flush = service.record, service.flush
    limits = ProxyLimits(max_body_bytes=int(max_body_mb * 2**20), max_messages=max_messages, timeout=timeout)
    app = create_proxy_app(guardrail, upstream, record=record, api_key=api_key, limits=limits, flush=flush)
    label = guardrail.policy.name + ("" if guardrail.version is None else f" version {guardrail.version}")
    typer.echo(f"Guarding proxy on http://{host}:{port}/v1 -> {app.state.proxy.shown} (policy {label})")
    # the app's shutdown writes the buffered decisions: uvicorn re-raises SIGTERM/SIGINT once it has stopped
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)


def register(app: typer.Typer) -> None:
    app.command("proxy")(guard_proxy)
