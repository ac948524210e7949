"""``assay control``, ``assay evidence``, ``assay soa`` and ``assay readiness``: control status per system, its
evidence, the Statement of Applicability (ISO/IEC 42001 6.1.3) and readiness against a framework."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from assay.cli._shell import JsonOption, console, open_workspace, parse_date, print_json, print_record, remote, table
from assay.errors import InvalidInput
from assay.governance.catalogues import list_frameworks
from assay.governance.records import IMPLEMENTATION_STATUSES
from assay.reports.soa import SOA_FORMATS, render_soa

__all__ = ["readiness", "register", "soa"]

control_app = typer.Typer(
    help="Control status per system: applicable or excluded (with a justification), implementation, owner.",
    no_args_is_help=True,
)
evidence_app = typer.Typer(
    help="Evidence for a system's controls: assessments, files, URLs; revoked when withdrawn.", no_args_is_help=True
)

_FRAMEWORKS = ", ".join(f.id for f in list_frameworks())
_System = Annotated[str, typer.Argument(help="The AI system.")]
_Framework = Annotated[str, typer.Argument(help=f"Framework: {_FRAMEWORKS}.")]
_ControlId = Annotated[
    str, typer.Argument(help="Control id as the catalogue writes it, e.g. A.6.2.4, 'MEASURE 2.11', 'Art. 10.ob1'.")
]
_FrameworkOption = Annotated[str | None, typer.Option(help=f"Only this framework: {_FRAMEWORKS}.", show_default=False)]
_STATUS_COLUMNS = ["framework", "control_id", "applicable", "justification", "implementation", "owner", "updated_at"]
_EVIDENCE_COLUMNS = ["id", "framework", "control_id", "kind", "description", "valid_until", "state", "via"]


@control_app.command("set")
def control_set(
    ctx: typer.Context,
    system: _System,
    framework: _Framework,
    control_id: _ControlId,
    applicable: Annotated[
        bool | None,
        typer.Option(
            "--applicable/--excluded", help="Applicable, or excluded (needs --justification).", show_default=False
        ),
    ] = None,
    justification: Annotated[
        str | None, typer.Option(help="Why it is included or excluded (ISO/IEC 42001 6.1.3).", show_default=False)
    ] = None,
    status: Annotated[
        str | None, typer.Option(help=f"Implementation: {', '.join(IMPLEMENTATION_STATUSES)}.", show_default=False)
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns the control.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Set whether a control applies to a system, how far it is implemented and who owns it."""
    controls = open_workspace(ctx).controls
    row = controls.set_status(
        system,
        framework,
        control_id,
        applicable=applicable,
        justification=justification,
        implementation=status,
        owner=owner,
    )
    print_record(row.state(), title=f"{row.framework}:{row.control_id} for {system}", as_json=as_json)
    if not row.applicable:
        current = [
            e.id for e in controls.list_evidence(system, row.framework, row.control_id) if e.current and not e.via
        ]
        if current and not as_json:
            typer.echo(f"note: the control is excluded but has current evidence ({', '.join(map(str, current))})")


@control_app.command("list")
def control_list(
    ctx: typer.Context, system: _System, framework: _FrameworkOption = None, as_json: JsonOption = False
) -> None:
    """List the recorded control statuses of a system (a control without one is applicable, not started)."""
    rows = [r.state() for r in open_workspace(ctx).controls.statuses(system, framework)]
    table(rows, _STATUS_COLUMNS, title=f"Control status of {system}", as_json=as_json)


@evidence_app.command("add")
def evidence_add(
    ctx: typer.Context,
    system: _System,
    framework: _Framework,
    control_id: _ControlId,
    file: Annotated[
        Path | None, typer.Option(help="A file: copied into the artifact store.", show_default=False)
    ] = None,
    url: Annotated[str | None, typer.Option(help="An http(s) URL.", show_default=False)] = None,
    assessment: Annotated[
        int | None, typer.Option(help="The id of an assessment recorded for the system.", show_default=False)
    ] = None,
    description: Annotated[str, typer.Option(help="What the evidence shows.")] = "",
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today).", show_default=False)] = None,
    valid_until: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM-DD (default: valid-from plus the workspace's evidence_valid_days).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Attach evidence (exactly one of --file, --url, --assessment) to a system's control."""
    given = [
        name for name, value in (("--file", file), ("--url", url), ("--assessment", assessment)) if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of --file, --url or --assessment" + (f" (got {', '.join(given)})" if given else "")
        )
    kind = {"--file": "file", "--url": "url", "--assessment": "assessment"}[given[0]]
    view = open_workspace(ctx).controls.add_evidence(
        system,
        framework,
        control_id,
        kind=kind,
        assessment_id=assessment,
        file=file,
        url=url,
        description=description,
        valid_from=parse_date(valid_from, "--valid-from"),
        valid_until=parse_date(valid_until, "--valid-until"),
    )
    print_record(view.to_dict(), title=f"evidence {view.id} for {view.ref}", as_json=as_json)


@evidence_app.command("list")
def evidence_list(
    ctx: typer.Context,
    system: _System,
    framework: _FrameworkOption = None,
    control: Annotated[
        str | None,
        typer.Option(
            help="Only this control (with --framework); adds the evidence that counts for it.", show_default=False
        ),
    ] = None,
    hide_revoked: Annotated[
        bool, typer.Option("--hide-revoked", help="Leave out revoked evidence (listed by default).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the evidence of a system, with its state today (current, expired, not yet valid, revoked)."""
    views = open_workspace(ctx).controls.list_evidence(system, framework, control, include_revoked=not hide_revoked)
    table([v.to_dict() for v in views], _EVIDENCE_COLUMNS, title=f"Evidence of {system}", as_json=as_json)


@evidence_app.command("revoke")
def evidence_revoke(
    ctx: typer.Context,
    system: _System,
    evidence_id: Annotated[int, typer.Argument(help="The evidence id (`assay evidence list SYSTEM`).")],
    reason: Annotated[str, typer.Option(help="Why the evidence is withdrawn (required; kept in the ledger).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke (withdraw) a piece of evidence: it stays listed as revoked and no longer counts anywhere."""
    server = remote(ctx)
    if server is not None:
        record = server.revoke_evidence(system, evidence_id, reason=reason)
    else:
        record = open_workspace(ctx).controls.revoke_evidence(system, evidence_id, reason=reason).to_dict()
    print_record(
        record,
        title=f"evidence {record['id']} for {record['framework']}:{record['control_id']} revoked",
        as_json=as_json,
    )


def soa(
    ctx: typer.Context,
    system: _System,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(SOA_FORMATS)}.")] = "md",
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of printing.", show_default=False)
    ] = None,
) -> None:
    """The Statement of Applicability of a system (ISO/IEC 42001 6.1.3, the 38 Annex A controls)."""
    if fmt not in SOA_FORMATS:
        raise InvalidInput(f"--format {fmt!r} is not one of {', '.join(SOA_FORMATS)}")
    text = render_soa(open_workspace(ctx).controls.soa(system), fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.is_dir():
        raise InvalidInput(f"--out {str(out)!r} is a folder; give a file")
    out.write_text(text, encoding="utf-8", newline="")
    typer.echo(f"wrote {out}")


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def readiness(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="The AI system (default: every system).")] = None,
    framework: Annotated[str, typer.Option(help=f"Framework: {_FRAMEWORKS}.")] = "iso42001",
    as_json: JsonOption = False,
) -> None:
    """Share of applicable controls implemented with current evidence, and the gaps, per system."""
    document = open_workspace(ctx).controls.readiness(system, framework)
    if as_json:
        print_json(document)
        return
    out = console()
    overview = Table(title=f"Readiness against {document['framework']['name']} (as of {document['as_of']})")
    for column in ("system", "counted", "applicable", "excluded", "implemented", "current evidence", "ready", "share"):
        overview.add_column(column, justify="left" if column == "system" else "right")
    overview.add_column("gaps", justify="right")
    for result in document["systems"]:
        overview.add_row(
            result["system"]["name"],
            str(result["entries"]),
            str(result["applicable"]),
            str(result["excluded"]),
            str(result["implemented"]),
            str(result["with_current_evidence"]),
            str(result["ready"]),
            _percent(result["share"]),
            str(len(result["gaps"])),
        )
    out.print(overview)
    out.print(f"counted: {document['counted']}", soft_wrap=True)
    for result in document["systems"]:
        if result.get("not_applicable"):
            out.print(f"{result['system']['name']}: not applicable: {result['not_applicable']}", soft_wrap=True)
    for result in document["systems"]:
        if not result["gaps"]:
            continue
        grouped: dict[tuple[Any, str], list[dict[str, Any]]] = {}
        for gap in result["gaps"]:
            grouped.setdefault((gap["control"], gap["title"]), []).append(gap)
        gaps = Table(title=f"Gaps of {result['system']['name']}")
        for column in ("control", "title", "gap", "detail"):
            gaps.add_column(column, overflow="fold")
        for (control, title), items in grouped.items():
            gaps.add_row(
                control or "-",
                title,
                ", ".join(g["kind"] for g in items),
                "; ".join(g["detail"] for g in items),
            )
        out.print(gaps)


def register(app: typer.Typer) -> None:
    """Add ``control``, ``evidence``, ``soa`` and ``readiness`` to the root app."""
    app.add_typer(control_app, name="control")
    app.add_typer(evidence_app, name="evidence")
    app.command("soa")(soa)
    app.command("readiness")(readiness)
