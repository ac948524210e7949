"""The Typer application, its global options, error handling and exit codes.

Exit codes: 0 done; 2 the request cannot be done as given (bad input, unknown name, conflict with stored state,
not allowed); 1 a failed check (e.g. the audit ledger does not verify) or an internal error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from assay._version import __version__
from assay.cli._lazy import LazyCommand, LazyGroup
from assay.cli._shell import Options
from assay.errors import AssayError, Conflict, InvalidInput, NotFound, PermissionDenied

__all__ = ["COMMANDS", "app", "main"]

_WORKSPACE, _REGISTRY, _RISKS, _CONTROLS = (
    "assay.cli.workspace",
    "assay.cli.registry",
    "assay.cli.risks",
    "assay.cli.controls",
)
_GATES, _SERVER = "assay.cli.gates", "assay.cli.server"

# Every top-level command: the module whose ``register(app)`` adds it, and its one-line help (the first paragraph of
# its own help), so that ``assay --help`` imports none of the modules. A new command module adds its commands here;
# tests/test_cli_startup.py checks that this table matches what the modules register, help included.
COMMANDS: dict[str, LazyCommand] = {
    # commands, in the order of ``assay --help``
    "assess": LazyCommand(
        "assay.cli.app",
        "Measure bias: Clarify's pre- and post-training metrics with intervals, per-group performance.",
        register="_register_assess",
    ),
    "init": LazyCommand(
        _WORKSPACE,
        "Create a workspace: .assay/ with the database (migrated), the artifact store and the ledger's signing key.",
    ),
    "soa": LazyCommand(
        _CONTROLS, "The Statement of Applicability of a system (ISO/IEC 42001 6.1.3, the 38 Annex A controls)."
    ),
    "readiness": LazyCommand(
        _CONTROLS, "Share of applicable controls implemented with current evidence, and the gaps, per system."
    ),
    "gate": LazyCommand(
        _GATES, "Evaluate a policy for a model version; exit 0 when it passes, 1 when a rule fails, 2 on bad input."
    ),
    "card": LazyCommand(
        _GATES,
        "Build the model card of a model version from the store (md, html, pdf, json; SageMaker and Hugging Face).",
    ),
    "docs": LazyCommand(
        _GATES, "Technical documentation along the EU AI Act Annex IV headings, filled from the store; gaps marked."
    ),
    "explain": LazyCommand(
        "assay.cli.explain",
        "Explain a model: SHAP importance (global, per facet group, for chosen rows) and partial dependence.",
    ),
    "mitigate": LazyCommand(
        "assay.cli.mitigate",
        "Mitigate bias: reweighing, exponentiated gradient, threshold optimisation or reject-option classification.",
    ),
    "anonymise": LazyCommand(
        "assay.cli.privacy",
        "Anonymise a dataset and measure what privacy and utility it leaves.",
    ),
    "run": LazyCommand(
        "assay.cli.run",
        "Run any compute kind on your own files, its options by name (`assay run duplicates d.csv --set columns=a,b`).",
    ),
    "serve": LazyCommand(
        _SERVER, "Serve the web application and the REST API (/api/docs) on the workspace's database."
    ),
    # groups
    "workspace": LazyCommand(_WORKSPACE, "The workspace's settings."),
    "db": LazyCommand(_WORKSPACE, "The governance database's schema (Alembic migrations)."),
    "system": LazyCommand(_REGISTRY, "AI systems: create, list, show, update."),
    "model": LazyCommand(_REGISTRY, "Models and their versions."),
    "dataset": LazyCommand(
        _REGISTRY, "Datasets and their versions, each dataset owned by an AI system and shared with others."
    ),
    "assessment": LazyCommand(_REGISTRY, "Assessments recorded against a system."),
    "risk": LazyCommand(_RISKS, "Risks of an AI system: add, list, show, update, close."),
    "impact": LazyCommand(
        _RISKS, "AI system impact assessments (ISO/IEC 42005 headings): create, list, show, update, finalise."
    ),
    "control": LazyCommand(
        _CONTROLS, "Control status per system: applicable or excluded (with a justification), implementation, owner."
    ),
    "evidence": LazyCommand(
        _CONTROLS, "Evidence for a system's controls: assessments, files, URLs; revoked when withdrawn."
    ),
    "approval": LazyCommand(
        "assay.cli.approvals", "Approvals: request to move a model version to a stage; approvers decide."
    ),
    "aims": LazyCommand(
        "assay.cli.aims",
        "The organisation's AI management system (ISO/IEC 42001 clauses 4-10): scope, policies, roles, objectives, "
        "competence, internal audits, nonconformities, management reviews.",
    ),
    "guard": LazyCommand(
        "assay.cli.guard",
        "Guardrails for generative AI: policies, the filter over text or JSON Lines, decisions, protected corpora, "
        "the guarding proxy (OpenAI-compatible).",
    ),
    "eval": LazyCommand(
        "assay.cli.eval",
        "Evaluate generative models: a test set in JSON Lines against an OpenAI-compatible endpoint, scores per "
        "slice with intervals; compare two versions with a paired test.",
    ),
    "licences": LazyCommand(
        "assay.cli.licences",
        "Licences and provenance: the licences Assay knows; the check of a system's models and data (as risks).",
    ),
    "incident": LazyCommand(
        "assay.cli.incidents",
        "Incidents of an AI system: open, list, show, update, move through their states; corrective actions.",
    ),
    "alert": LazyCommand(
        "assay.cli.alerts",
        "Alerts of the monitors: list, show, acknowledge, resolve (the monitors open and resolve them).",
    ),
    "feedback": LazyCommand(
        "assay.cli.feedback",
        "End users' feedback on a system's outputs: submit, import a file, list, summarise with intervals.",
    ),
    "retraining": LazyCommand(
        "assay.cli.alerts", "Retraining requests (opened by an alert or a person): list, show, request, close."
    ),
    "policy": LazyCommand(
        _GATES, "The gate policy a system must pass before a stage (default: Assay's for its EU AI Act category)."
    ),
    "waiver": LazyCommand(_GATES, "Waivers: let one policy rule fail for a while, with a reason."),
    "audit": LazyCommand("assay.cli.audit", "The audit ledger: verify, export, list, checkpoint."),
    "check": LazyCommand(
        "assay.cli.checks",
        "Data checks: Model Monitor baseline and validation, duplicates, leakage, label issues, representativeness, "
        "personal data.",
    ),
    "worker": LazyCommand(
        "assay.cli.jobs",
        "Run queued jobs and due schedules until Ctrl-C or SIGTERM (several workers may share one PostgreSQL "
        "database).",
    ),
    "job": LazyCommand("assay.cli.jobs", "Background jobs: list, show, cancel."),
    "capture": LazyCommand(
        "assay.cli.capture", "Capture of inference records and labels: configure, show, ingest, labels, purge."
    ),
    "schedule": LazyCommand("assay.cli.jobs", "Scheduled jobs (cron or interval, in an explicit time zone)."),
    "monitor": LazyCommand(
        "assay.cli.monitor",
        "Monitors of deployed models: drift, data quality, model quality, bias and attribution drift per window.",
    ),
    "review": LazyCommand(
        "assay.cli.review", "The review queue (human-in-the-loop): routing rules, items, claims, decisions, labels."
    ),
    "oversight": LazyCommand(
        "assay.cli.oversight",
        "Human oversight: override rates, reviewer agreement, time to decision; recorded as evidence.",
    ),
    "contest": LazyCommand(
        "assay.cli.contest",
        "Contested decisions: open by inference id, list, show, decide (with the letter), withdraw.",
    ),
    "user": LazyCommand(_SERVER, "Local users of the server and their roles."),
    "token": LazyCommand(_SERVER, "Personal API tokens (for the API and CI)."),
}


def _register_assess(app: typer.Typer) -> None:
    from assay.cli.assess import assess

    app.command("assess", no_args_is_help=True)(assess)


class _Root(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="assay",
    cls=_Root,
    help="Assay: measure, mitigate, document and govern AI systems, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    workspace_dir: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: ASSAY_WORKSPACE, else the current folder or the nearest parent with "
            ".assay/).",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Governance database URL (default: ASSAY_DATABASE_URL, else the workspace's SQLite).",
            show_default=False,
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            help="Who is acting, as the audit ledger records it, taken on trust (default: ASSAY_ACTOR, else your "
            "user). Approvals, waivers, revocations and role changes need --user instead, unless the workspace is "
            "single-user.",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Act as this user, authenticated by their password (ASSAY_PASSWORD, else asked for): the same "
            "users and roles as the server (default: ASSAY_USER).",
            envvar="ASSAY_USER",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="Act through this Assay server (URL) with the API token in ASSAY_TOKEN, under its permission table: "
            "for the approval commands, waiver add and revoke, evidence revoke and policy set (default: ASSAY_SERVER).",
            envvar="ASSAY_SERVER",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Assay: measure, mitigate, document and govern AI systems, offline."""
    ctx.obj = Options(workspace=workspace_dir, database_url=database_url, actor=actor, user=user, server=server)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input exits 2 with one line naming the problem, an internal error exits 1."""
    try:
        returned = app(args=argv, standalone_mode=False)
        if isinstance(returned, int) and not isinstance(returned, bool):
            return returned  # click returns the code of typer.Exit(code) when not in standalone mode
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except TyperException as exc:  # usage errors from the command-line parser: a bad or missing option
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        usage = any(cls.__name__ == "UsageError" for cls in type(exc).__mro__)
        return 2 if usage else int(getattr(exc, "exit_code", 1))
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except (InvalidInput, NotFound, Conflict, PermissionDenied) as exc:  # the request cannot be done as given
        typer.echo(f"error: {exc}", err=True)
        return 2
    except AssayError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    except Exception as exc:  # a bug: say so in one line, keep the traceback behind ASSAY_DEBUG
        import os

        if os.environ.get("ASSAY_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set ASSAY_DEBUG=1 for the traceback)", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
