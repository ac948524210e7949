"""``assay gate``, ``assay waiver``, ``assay card`` and ``assay docs``: decisions and documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assay.cli._shell import JsonOption, console, open_workspace, parse_date, print_json, remote, table
from assay.errors import InvalidInput
from assay.services.cards import CARD_FORMATS

__all__ = ["register"]

waiver_app = typer.Typer(help="Waivers: let one policy rule fail for a while, with a reason.", no_args_is_help=True)

_STYLE = {"passed": "green", "failed": "bold red", "waived": "yellow"}


def gate(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    model_version: Annotated[str, typer.Argument(help="Model version, MODEL@VERSION.")],
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Policy file (YAML), to try one. Default: the policy in force for the system (assay policy set), "
            "else Assay's for its EU AI Act category: the one approvals are judged by."
        ),
    ] = None,
    stage: Annotated[str | None, typer.Option(help="Stage to judge for (default: the policy's stage).")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here (for CI).")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary here (for a PR comment).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a policy for a model version; exit 0 when it passes, 1 when a rule fails, 2 on bad input.

    The decision is recorded (a gate run and its audit event)."""
    from assay.reports.gate import render_gate_junit, render_gate_markdown

    decision = open_workspace(ctx).gates.evaluate(system, model_version, policy_file=policy, stage=stage)
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(render_gate_junit(decision), encoding="utf-8")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render_gate_markdown(decision), encoding="utf-8")
    if as_json:
        print_json(decision)
    else:
        out = Table(title=f"Gate {decision['policy']['name']}: {system} / {decision['ref']} → {decision['stage']}")
        for column in ("rule", "kind", "result", "detail"):
            out.add_column(column)
        for result in decision["results"]:
            status = result["status"]
            detail = result["message"]
            if status == "waived" and result["waiver"]:
                detail += f" (waived by {result['waiver']['waived_by']} until {result['waiver']['expires']})"
            out.add_row(result["rule"], result["kind"], f"[{_STYLE[status]}]{status}[/]", detail)
        console().print(out)
        counts = decision["counts"]
        verdict = "[green]PASSED[/]" if decision["passed"] else "[bold red]FAILED[/]"
        console().print(
            f"{verdict}: {counts['passed']} passed, {counts['failed']} failed, {counts['waived']} waived "
            f"(gate run {decision['id']}, recorded in the audit ledger)"
        )
    if not decision["passed"]:
        raise typer.Exit(1)


@waiver_app.command("add")
def waiver_add(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    rule: Annotated[str, typer.Argument(help="The policy rule id to waive.")],
    reason: Annotated[str, typer.Option(help="Why the rule may fail for now.")],
    expires: Annotated[str, typer.Option(help="Last day the waiver holds (YYYY-MM-DD, within a year).")],
    model_version: Annotated[str | None, typer.Option(help="Only for this model version (MODEL@VERSION).")] = None,
) -> None:
    """Waive one rule of a policy for a system (or one model version) until a date; audited."""
    day = parse_date(expires, "--expires")
    assert day is not None
    server = remote(ctx)
    if server is not None:
        waiver = server.waive(system, rule, reason=reason, expires=day, model_version=model_version)
    else:
        waiver = (
            open_workspace(ctx)
            .gates.waive(system, rule, reason=reason, expires=day, model_version=model_version)
            .state()
        )
    typer.echo(
        f"waiver {waiver['id']}: rule {waiver['rule']} of {system} waived by {waiver['waived_by']} until "
        f"{waiver['expires']}"
    )


@waiver_app.command("revoke")
def waiver_revoke(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    waiver_id: Annotated[int, typer.Argument(help="The waiver's id (assay waiver list).")],
    reason: Annotated[str, typer.Option(help="Why the waiver ends now.")],
) -> None:
    """End an active waiver now, with a reason: the rule counts as failing again; audited."""
    server = remote(ctx)
    if server is not None:
        waiver = server.revoke_waiver(system, waiver_id, reason=reason)
    else:
        waiver = open_workspace(ctx).gates.revoke_waiver(system, waiver_id, reason=reason)
    typer.echo(f"waiver {waiver['id']}: rule {waiver['rule']} of {system} revoked")


@waiver_app.command("list")
def waiver_list(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="The AI system.")], as_json: JsonOption = False
) -> None:
    """List the waivers of a system (active, expired or revoked)."""
    rows = open_workspace(ctx).gates.waivers(system)
    table(
        rows, ["id", "rule", "waived_by", "expires", "state", "reason"], title=f"Waivers of {system}", as_json=as_json
    )


def card(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    model_version: Annotated[str, typer.Argument(help="Model version, MODEL@VERSION.")],
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", help=f"Output format, repeatable: {', '.join(CARD_FORMATS)} (default html)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder to write model-card.<format> to.")] = Path("model-card"),
) -> None:
    """Build the model card of a model version from the store (md, html, pdf, json; SageMaker and Hugging Face)."""
    paths = open_workspace(ctx).cards.write(system, model_version, out, tuple(fmt or ["html"]))
    for name, path in paths.items():
        typer.echo(f"{name}: {path}")


def docs(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    fmt: Annotated[str, typer.Option("--format", help="md or html.")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
) -> None:
    """Technical documentation along the EU AI Act Annex IV headings, filled from the store; gaps marked."""
    if fmt not in ("md", "html"):
        raise InvalidInput(f"--format must be md or html, not {fmt!r}")
    from assay.reports.techdocs import render_techdocs_html, render_techdocs_markdown

    document = open_workspace(ctx).techdocs.build(system)
    text = render_techdocs_markdown(document) if fmt == "md" else render_techdocs_html(document)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"technical documentation: {out} ({document['gaps']} gaps marked)")


policy_app = typer.Typer(
    help="The gate policy a system must pass before a stage (default: Assay's for its EU AI Act category).",
    no_args_is_help=True,
)


@policy_app.command("set")
def policy_set(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    file: Annotated[Path, typer.Argument(help="Policy file (YAML, schema assay.policy/1).")],
) -> None:
    """Store a policy for a system: it guards its stage from now on (approvals to that stage are judged by it and
    ask for its number of approvals). Older versions are kept; audited."""
    server = remote(ctx)
    if server is not None:
        if not file.is_file():
            raise InvalidInput(f"policy file {file} does not exist")
        stored = server.set_policy(system, text=file.read_text(encoding="utf-8"))
    else:
        stored = open_workspace(ctx).gates.set_policy(system, path=file)
    typer.echo(f"policy {stored['name']} (sha256 {stored['sha256'][:12]}) guards {stored['stage']} of {system}")


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    stage: Annotated[str, typer.Option(help="The stage it guards.")] = "production",
) -> None:
    """Print the policy in force for a system and stage (YAML as stored, or the default's fields)."""
    workspace = open_workspace(ctx)
    stored = [p for p in workspace.gates.policies(system) if p["stage"] == stage]
    if stored:
        typer.echo(stored[-1]["text"].rstrip())
        return
    policy, digest = workspace.gates.policy_for(system, stage=stage)
    typer.echo(f"# Assay's default policy (sha256 {digest[:12]}); guards {policy.stage}")
    typer.echo(policy.model_dump_json(by_alias=True, indent=2))


@policy_app.command("list")
def policy_list(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="The AI system.")], as_json: JsonOption = False
) -> None:
    """List the stored policy versions of a system (the newest per stage is in force)."""
    rows = [{k: v for k, v in p.items() if k != "text"} for p in open_workspace(ctx).gates.policies(system)]
    table(
        rows,
        ["id", "stage", "name", "sha256", "created_by", "created_at"],
        title=f"Policies of {system}",
        as_json=as_json,
    )


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
    app.add_typer(policy_app, name="policy")
    app.add_typer(waiver_app, name="waiver")
    app.command("card")(card)
    app.command("docs")(docs)
