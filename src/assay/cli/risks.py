"""``assay risk`` (the risk register, ISO/IEC 23894 style) and ``assay impact`` (ISO/IEC 42005 impact
assessments)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, parse_date, print_record, table
from assay.errors import InvalidInput
from assay.governance.records import IMPACT_HEADINGS, IMPACT_STATUSES, RISK_STATUSES, TREATMENTS
from assay.governance.risk import LEVELS

__all__ = ["register"]

risk_app = typer.Typer(help="Risks of an AI system: add, list, show, update, close.", no_args_is_help=True)
impact_app = typer.Typer(
    help="AI system impact assessments (ISO/IEC 42005 headings): create, list, show, update, finalise.",
    no_args_is_help=True,
)

_System = Annotated[str, typer.Argument(help="The AI system.")]
_RiskId = Annotated[int, typer.Argument(help="The risk's id.")]
_AssessmentId = Annotated[int, typer.Argument(help="The impact assessment's id.")]
_Rating = Annotated[int | None, typer.Option(help="1 (lowest) to 5 (highest).", show_default=False)]
_Treatment = Annotated[str | None, typer.Option(help=f"Risk treatment: {', '.join(TREATMENTS)}.", show_default=False)]
_Controls = Annotated[
    list[str] | None,
    typer.Option(
        "--control",
        help="A linked control as FRAMEWORK:CONTROL, e.g. iso42001:A.6.2.4, 'nist-ai-rmf:MEASURE 2.11', "
        "'eu-ai-act:Art. 9'. Repeatable.",
        show_default=False,
    ),
]
_Affected = Annotated[list[str] | None, typer.Option(help="A group affected by the risk. Repeatable.")]
_Text = Annotated[str | None, typer.Option(show_default=False)]
_Sections = Annotated[
    list[str] | None,
    typer.Option(
        "--section",
        help=f"HEADING=TEXT, headings: {', '.join(IMPACT_HEADINGS)}. Repeatable.",
        show_default=False,
    ),
]
_RISK_COLUMNS = ["id", "title", "source", "likelihood", "impact", "score", "level", "treatment", "residual_level"]
_RISK_COLUMNS += ["owner", "review_date", "status"]


def risk_record(risk: Any) -> dict[str, Any]:
    from assay.services.risks import risk_record as record

    return record(risk)


def _risk_fields(**given: Any) -> dict[str, Any]:
    renames = {"control": "controls"}
    return {renames.get(key, key): value for key, value in given.items() if value is not None}


@risk_app.command("add")
def risk_add(
    ctx: typer.Context,
    system: _System,
    title: Annotated[str, typer.Option(help="Short title of the risk.")],
    source: Annotated[str, typer.Option(help="Risk source, e.g. data, model, human oversight.")],
    likelihood: Annotated[int, typer.Option(help="Likelihood, 1 (rare) to 5 (almost certain).")],
    impact: Annotated[int, typer.Option(help="Impact, 1 (negligible) to 5 (severe).")],
    treatment: Annotated[str, typer.Option(help=f"Risk treatment: {', '.join(TREATMENTS)}.")],
    control: _Controls = None,
    affected: _Affected = None,
    owner: Annotated[str | None, typer.Option(help="Risk owner.")] = None,
    residual_likelihood: _Rating = None,
    residual_impact: _Rating = None,
    review_date: Annotated[str | None, typer.Option(help="Next review, YYYY-MM-DD.")] = None,
    description: _Text = None,
    as_json: JsonOption = False,
) -> None:
    """Add a risk to a system's register; its level is likelihood × impact."""
    fields = _risk_fields(
        title=title, source=source, likelihood=likelihood, impact=impact, treatment=treatment, control=control,
        affected=affected, owner=owner, residual_likelihood=residual_likelihood, residual_impact=residual_impact,
        review_date=parse_date(review_date, "--review-date"), description=description,
    )  # fmt: skip
    risk = open_workspace(ctx).risks.add(system, fields)
    print_record(risk_record(risk), title=f"risk {risk.id} of {system}", as_json=as_json)


@risk_app.command("list")
def risk_list(
    ctx: typer.Context,
    system: _System,
    status: Annotated[
        str | None, typer.Option(help=f"Only risks with this status: {', '.join(RISK_STATUSES)}.")
    ] = None,
    level: Annotated[str | None, typer.Option(help=f"Only risks of this level: {', '.join(LEVELS)}.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the risks of a system."""
    rows = [risk_record(r) for r in open_workspace(ctx).risks.list(system, status=status, level=level)]
    table(rows, _RISK_COLUMNS, title=f"Risks of {system}", as_json=as_json)


@risk_app.command("show")
def risk_show(ctx: typer.Context, system: _System, risk_id: _RiskId, as_json: JsonOption = False) -> None:
    """Show a risk."""
    risk = open_workspace(ctx).risks.get(system, risk_id)
    print_record(risk_record(risk), title=f"risk {risk.id} of {system}", as_json=as_json)


@risk_app.command("update")
def risk_update(
    ctx: typer.Context,
    system: _System,
    risk_id: _RiskId,
    title: _Text = None,
    source: _Text = None,
    description: _Text = None,
    likelihood: _Rating = None,
    impact: _Rating = None,
    treatment: _Treatment = None,
    control: Annotated[
        list[str] | None,
        typer.Option("--control", help="Linked controls, FRAMEWORK:CONTROL (replaces the list).", show_default=False),
    ] = None,
    affected: Annotated[list[str] | None, typer.Option(help="Groups affected (replaces the list).")] = None,
    owner: _Text = None,
    residual_likelihood: _Rating = None,
    residual_impact: _Rating = None,
    clear_residual: Annotated[bool, typer.Option("--clear-residual", help="Remove the residual rating.")] = False,
    review_date: Annotated[str | None, typer.Option(help="Next review, YYYY-MM-DD.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change fields of an open risk (the level is recomputed; each change is audited)."""
    if clear_residual and (residual_likelihood is not None or residual_impact is not None):
        raise InvalidInput("give --clear-residual or residual ratings, not both")
    fields = _risk_fields(
        title=title, source=source, description=description, likelihood=likelihood, impact=impact,
        treatment=treatment, control=control, affected=affected, owner=owner,
        residual_likelihood=residual_likelihood, residual_impact=residual_impact,
        review_date=parse_date(review_date, "--review-date"),
    )  # fmt: skip
    if clear_residual:
        fields |= {"residual_likelihood": None, "residual_impact": None}
    risk = open_workspace(ctx).risks.update(system, risk_id, fields)
    print_record(risk_record(risk), title=f"risk {risk.id} of {system}", as_json=as_json)


@risk_app.command("close")
def risk_close(
    ctx: typer.Context,
    system: _System,
    risk_id: _RiskId,
    reason: Annotated[str, typer.Option(help="Why it is closed.")] = "",
) -> None:
    """Close a risk (it stays in the register)."""
    risk = open_workspace(ctx).risks.close(system, risk_id, reason=reason)
    typer.echo(f"risk {risk.id} of {system} is now {risk.status}")


@risk_app.command("reopen")
def risk_reopen(
    ctx: typer.Context,
    system: _System,
    risk_id: _RiskId,
    reason: Annotated[str, typer.Option(help="Why it is opened again.")] = "",
) -> None:
    """Open a closed risk again."""
    risk = open_workspace(ctx).risks.reopen(system, risk_id, reason=reason)
    typer.echo(f"risk {risk.id} of {system} is now {risk.status}")


def _sections(values: list[str] | None) -> dict[str, str] | None:
    if values is None:
        return None
    sections: dict[str, str] = {}
    for value in values:
        heading, sep, text = value.partition("=")
        if not sep or not heading.strip():
            raise InvalidInput(f"--section {value!r}: write HEADING=TEXT (headings: {', '.join(IMPACT_HEADINGS)})")
        sections[heading.strip()] = text
    return sections


def _assessment_record(record: dict[str, Any]) -> dict[str, Any]:
    """The assessment's fields, then one row per heading (its text, or '-')."""
    sections = record.pop("sections")
    return {**record, **{title: sections.get(key) for key, title in IMPACT_HEADINGS.items()}}


@impact_app.command("create")
def impact_create(
    ctx: typer.Context,
    system: _System,
    title: Annotated[str, typer.Option(help="Title of the assessment.")],
    section: _Sections = None,
    assessor: Annotated[str | None, typer.Option(help="Who assesses (default: the acting user).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a draft impact assessment."""
    fields = {"title": title, "sections": _sections(section), "assessor": assessor}
    assessment = open_workspace(ctx).impact_assessments.create(
        system, {key: value for key, value in fields.items() if value is not None}
    )
    record = assessment.state() if as_json else _assessment_record(assessment.state())
    print_record(record, title=f"impact assessment {assessment.id} of {system}", as_json=as_json)


@impact_app.command("list")
def impact_list(
    ctx: typer.Context,
    system: _System,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(IMPACT_STATUSES)}.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the impact assessments of a system."""
    rows = []
    for assessment in open_workspace(ctx).impact_assessments.list(system, status=status):
        record = assessment.state()
        record["headings"] = f"{len(record['sections'])}/{len(IMPACT_HEADINGS)}"
        rows.append(record)
    columns = ["id", "title", "status", "assessor", "headings", "updated_at"]
    table(rows, columns, title=f"Impact assessments of {system}", as_json=as_json)


@impact_app.command("show")
def impact_show(ctx: typer.Context, system: _System, assessment_id: _AssessmentId, as_json: JsonOption = False) -> None:
    """Show an impact assessment, heading by heading."""
    record = open_workspace(ctx).impact_assessments.get(system, assessment_id).state()
    print_record(
        record if as_json else _assessment_record(record),
        title=f"impact assessment {assessment_id} of {system}",
        as_json=as_json,
    )


@impact_app.command("update")
def impact_update(
    ctx: typer.Context,
    system: _System,
    assessment_id: _AssessmentId,
    title: _Text = None,
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section",
            help="HEADING=TEXT: replaces that heading's text (an empty TEXT clears it). Repeatable.",
            show_default=False,
        ),
    ] = None,
    assessor: _Text = None,
    as_json: JsonOption = False,
) -> None:
    """Change a draft impact assessment (a final one cannot change: create a new one)."""
    fields = {"title": title, "sections": _sections(section), "assessor": assessor}
    assessment = open_workspace(ctx).impact_assessments.update(
        system, assessment_id, {key: value for key, value in fields.items() if value is not None}
    )
    record = assessment.state() if as_json else _assessment_record(assessment.state())
    print_record(record, title=f"impact assessment {assessment.id} of {system}", as_json=as_json)


@impact_app.command("finalise")
def impact_finalise(ctx: typer.Context, system: _System, assessment_id: _AssessmentId) -> None:
    """Make a draft final (every heading needs text)."""
    assessment = open_workspace(ctx).impact_assessments.finalise(system, assessment_id)
    typer.echo(f"impact assessment {assessment.id} of {system} is now {assessment.status}")


def register(app: typer.Typer) -> None:
    """Add ``assay risk`` and ``assay impact`` to the root app."""
    app.add_typer(risk_app, name="risk")
    app.add_typer(impact_app, name="impact")
