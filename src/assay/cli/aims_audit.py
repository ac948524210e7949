"""``assay aims audit|finding|nc|review``: internal audits (ISO/IEC 42001 9.2), nonconformities and corrective
action (10.2), management reviews (9.3). Thin shells over ``workspace.aims.audits``, ``.nonconformities`` and
``.reviews``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, print_record, table
from assay.governance.aims import (
    FINDING_KINDS,
    NONCONFORMITY_SOURCES,
    NONCONFORMITY_STATUSES,
    REVIEW_INPUTS,
    one_of,
)

__all__ = ["register"]

audit_app = typer.Typer(
    help="Internal audits (9.2): plan, start, complete, cancel; the programme.", no_args_is_help=True
)
finding_app = typer.Typer(
    help="Findings of an internal audit: major or minor nonconformity (opens a nonconformity), observation, "
    "opportunity.",
    no_args_is_help=True,
)
nc_app = typer.Typer(
    help="Nonconformities and corrective action (10.2): open, update, actions, verification, effectiveness, close.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="Management reviews (9.3): open (inputs assembled from the store), decisions, actions, minutes, close.",
    no_args_is_help=True,
)

_AuditId = Annotated[int, typer.Argument(help="The audit's id.")]
_NcId = Annotated[int, typer.Argument(help="The nonconformity's id.")]
_ReviewId = Annotated[int, typer.Argument(help="The review's id.")]
_ActionId = Annotated[int, typer.Argument(help="The corrective action's id.")]
_Date = Annotated[str | None, typer.Option(help="A date, YYYY-MM-DD.", show_default=False)]
_Many = Annotated[list[str] | None, typer.Option(show_default=False)]
_AUDIT_COLUMNS = ["id", "programme", "title", "auditor", "area", "planned_on", "status", "findings_total"]
_FINDING_COLUMNS = ["id", "audit_id", "kind", "title", "controls", "records", "nonconformity_id"]
_NC_COLUMNS = ["id", "source", "source_ref", "system", "title", "severity", "status", "owner", "due_date"]
_ACTION_COLUMNS = ["id", "description", "owner", "due_date", "status", "overdue", "completed_at"]
_REVIEW_COLUMNS = ["id", "title", "held_on", "status", "attendees", "closed_at"]


# -- audits --------------------------------------------------------------------------------------------------------


@audit_app.command("plan")
def audit_plan(
    ctx: typer.Context,
    programme: Annotated[str, typer.Argument(help="The audit programme, e.g. 2027.")],
    title: Annotated[str, typer.Option(help="What is audited.")],
    auditor: Annotated[str, typer.Option(help="A user holding internal-auditor, independent of the area.")],
    system: Annotated[
        list[str] | None, typer.Option(help="An AI system in scope (repeat).", show_default=False)
    ] = None,
    clause: Annotated[
        list[str] | None, typer.Option(help="An ISO/IEC 42001 clause in scope, e.g. 9.2 (repeat).", show_default=False)
    ] = None,
    unit: Annotated[list[str] | None, typer.Option(help="A unit in scope (repeat).", show_default=False)] = None,
    criterion: Annotated[
        list[str] | None,
        typer.Option(help="An audit criterion, FRAMEWORK:CONTROL, e.g. iso42001:A.6.2.4 (repeat).", show_default=False),
    ] = None,
    area: Annotated[str, typer.Option(help="The area audited (an auditor may not audit their own).")] = "",
    planned_on: _Date = None,
    as_json: JsonOption = False,
) -> None:
    """Plan an internal audit (a manager of the management system)."""
    scope = {"systems": system or [], "clauses": clause or [], "units": unit or []}
    audit = open_workspace(ctx).aims.audits.plan(
        programme, title, auditor=auditor, scope=scope, criteria=criterion or [], area=area, planned_on=planned_on
    )
    print_record(audit.state(), title=f"internal audit {audit.id}", as_json=as_json)


@audit_app.command("start")
def audit_start(ctx: typer.Context, audit_id: _AuditId, as_json: JsonOption = False) -> None:
    """Start a planned audit (the auditor's independence is checked again)."""
    audit = open_workspace(ctx).aims.audits.start(audit_id)
    print_record(audit.state(), title=f"internal audit {audit.id}", as_json=as_json)


@audit_app.command("complete")
def audit_complete(
    ctx: typer.Context,
    audit_id: _AuditId,
    conclusion: Annotated[str, typer.Option(help="The audit's conclusion.")],
    as_json: JsonOption = False,
) -> None:
    """Complete an audit in progress (its auditor or a manager); it no longer changes."""
    audit = open_workspace(ctx).aims.audits.complete(audit_id, conclusion)
    print_record(audit.state(), title=f"internal audit {audit.id}", as_json=as_json)


@audit_app.command("cancel")
def audit_cancel(
    ctx: typer.Context,
    audit_id: _AuditId,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Cancel a planned or running audit."""
    audit = open_workspace(ctx).aims.audits.cancel(audit_id, reason=reason)
    print_record(audit.state(), title=f"internal audit {audit.id}", as_json=as_json)


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    programme: Annotated[str | None, typer.Argument(help="Only this programme.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """The audit programme: each audit with its status and its findings counted by kind."""
    rows = open_workspace(ctx).aims.audits.programme(programme)
    for row in rows:
        row.update(row["findings"])
    columns = _AUDIT_COLUMNS[:-1] + list(FINDING_KINDS)
    table(rows, columns, title=f"Audit programme {programme or '(all)'}", as_json=as_json)


@audit_app.command("show")
def audit_show(ctx: typer.Context, audit_id: _AuditId, as_json: JsonOption = False) -> None:
    """An audit with its findings."""
    detail = open_workspace(ctx).aims.audits.detail(audit_id)
    if as_json:
        print_json(detail)
        return
    print_record({k: v for k, v in detail.items() if k != "findings"}, title=f"internal audit {audit_id}")
    table(detail["findings"], _FINDING_COLUMNS, title="Findings")


# -- findings ------------------------------------------------------------------------------------------------------


@finding_app.command("add")
def finding_add(
    ctx: typer.Context,
    audit_id: _AuditId,
    kind: Annotated[str, typer.Argument(help=f"{', '.join(FINDING_KINDS)}.")],
    title: Annotated[str, typer.Option(help="The finding in a line.")],
    description: Annotated[str, typer.Option(help="What was seen, where.")] = "",
    control: Annotated[
        list[str] | None, typer.Option(help="A control concerned, FRAMEWORK:CONTROL (repeat).", show_default=False)
    ] = None,
    record: Annotated[
        list[str] | None,
        typer.Option(help="A record concerned, TYPE:ID, e.g. risk:3 or system:NAME (repeat).", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a finding of an audit in progress; a major or minor nonconformity opens a nonconformity."""
    finding = open_workspace(ctx).aims.audits.add_finding(
        audit_id, kind, title, description=description, controls=control or [], records=record or []
    )
    print_record(finding.state(), title=f"finding {finding.id} of audit {audit_id}", as_json=as_json)


@finding_app.command("list")
def finding_list(
    ctx: typer.Context,
    audit_id: Annotated[int | None, typer.Argument(help="Only this audit's.", show_default=False)] = None,
    kind: Annotated[str | None, typer.Option(help=f"Only this kind: {', '.join(FINDING_KINDS)}.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Findings of one audit or of every audit."""
    rows = [f.state() for f in open_workspace(ctx).aims.audits.findings(audit_id, kind=kind)]
    table(rows, _FINDING_COLUMNS, title="Findings", as_json=as_json)


# -- nonconformities -----------------------------------------------------------------------------------------------


@nc_app.command("open")
def nc_open(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help=f"{', '.join(NONCONFORMITY_SOURCES)}.")],
    source_ref: Annotated[str, typer.Argument(help="The source: incident:ID, gate:ID, alert:ID, a ticket, ...")],
    title: Annotated[str, typer.Option(help="The nonconformity in a line.")],
    description: Annotated[str, typer.Option(help="What does not conform, to what.")] = "",
    severity: Annotated[str, typer.Option(help="major or minor.")] = "minor",
    system: Annotated[str | None, typer.Option(help="The AI system concerned.", show_default=False)] = None,
    owner: Annotated[str | None, typer.Option(help="Who handles it (a user).", show_default=False)] = None,
    due_date: _Date = None,
    as_json: JsonOption = False,
) -> None:
    """Open a nonconformity (a manager, or the owner of the AI system concerned)."""
    nc = open_workspace(ctx).aims.nonconformities.open(
        source, source_ref, title, description=description, severity=severity, system=system, owner=owner,
        due_date=due_date,
    )  # fmt: skip
    print_record(nc.state(), title=f"nonconformity {nc.id}", as_json=as_json)


@nc_app.command("list")
def nc_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(NONCONFORMITY_STATUSES)}.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Nonconformities with their actions counted (open, done, overdue)."""
    if status is not None:
        one_of("status", status, NONCONFORMITY_STATUSES)
    rows = [r for r in open_workspace(ctx).aims.nonconformities.summary() if status in (None, r["status"])]
    for row in rows:
        row.update({f"actions_{k}": v for k, v in row["actions"].items()})
    columns = [*_NC_COLUMNS, "actions_open", "actions_done", "actions_overdue"]
    table(rows, columns, title="Nonconformities", as_json=as_json)


@nc_app.command("show")
def nc_show(ctx: typer.Context, nc_id: _NcId, as_json: JsonOption = False) -> None:
    """A nonconformity with its corrective actions."""
    detail = open_workspace(ctx).aims.nonconformities.detail(nc_id)
    if as_json:
        print_json(detail)
        return
    print_record({k: v for k, v in detail.items() if k != "actions"}, title=f"nonconformity {nc_id}")
    table(detail["actions"], _ACTION_COLUMNS, title="Corrective actions")


@nc_app.command("update")
def nc_update(
    ctx: typer.Context,
    nc_id: _NcId,
    correction: Annotated[str | None, typer.Option(help="What was done at once.", show_default=False)] = None,
    root_cause: Annotated[str | None, typer.Option(help="Why it happened.", show_default=False)] = None,
    description: Annotated[str | None, typer.Option(show_default=False)] = None,
    severity: Annotated[str | None, typer.Option(help="major or minor.", show_default=False)] = None,
    owner: Annotated[str | None, typer.Option(show_default=False)] = None,
    due_date: _Date = None,
    as_json: JsonOption = False,
) -> None:
    """Record the correction and the root cause, or change an open nonconformity."""
    nc = open_workspace(ctx).aims.nonconformities.update(
        nc_id, correction=correction, root_cause=root_cause, description=description, severity=severity,
        owner=owner, due_date=due_date,
    )  # fmt: skip
    print_record(nc.state(), title=f"nonconformity {nc.id}", as_json=as_json)


@nc_app.command("action")
def nc_action(
    ctx: typer.Context,
    nc_id: _NcId,
    description: Annotated[str, typer.Argument(help="The corrective action.")],
    owner: Annotated[str | None, typer.Option(help="Who does it (a user).", show_default=False)] = None,
    due_date: _Date = None,
    as_json: JsonOption = False,
) -> None:
    """Add a corrective action to an open nonconformity."""
    action = open_workspace(ctx).aims.nonconformities.add_action(nc_id, description, owner=owner, due_date=due_date)
    print_record(action.state(), title=f"corrective action {action.id}", as_json=as_json)


@nc_app.command("done")
def nc_done(
    ctx: typer.Context,
    action_id: _ActionId,
    note: Annotated[str, typer.Option(help="Kept in the audit log.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Mark a corrective action done."""
    action = open_workspace(ctx).aims.nonconformities.complete_action(action_id, note=note)
    print_record(action.state(), title=f"corrective action {action.id}", as_json=as_json)


@nc_app.command("verify")
def nc_verify(ctx: typer.Context, nc_id: _NcId, as_json: JsonOption = False) -> None:
    """Move a nonconformity to verification (root cause recorded, every action done)."""
    nc = open_workspace(ctx).aims.nonconformities.verify(nc_id)
    print_record(nc.state(), title=f"nonconformity {nc.id}", as_json=as_json)


@nc_app.command("effectiveness")
def nc_effectiveness(
    ctx: typer.Context,
    nc_id: _NcId,
    review: Annotated[str, typer.Argument(help="What the effectiveness review found.")],
    effective: Annotated[
        bool, typer.Option("--effective/--not-effective", help="Not effective reopens it (a new action is needed).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Record the effectiveness review (by someone who owns none of its actions)."""
    nc = open_workspace(ctx).aims.nonconformities.review_effectiveness(nc_id, review, effective=effective)
    print_record(nc.state(), title=f"nonconformity {nc.id}", as_json=as_json)


@nc_app.command("close")
def nc_close(
    ctx: typer.Context,
    nc_id: _NcId,
    note: Annotated[str, typer.Option(help="Kept in the audit log.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Close a nonconformity found effective."""
    nc = open_workspace(ctx).aims.nonconformities.close(nc_id, note=note)
    print_record(nc.state(), title=f"nonconformity {nc.id}", as_json=as_json)


# -- management reviews --------------------------------------------------------------------------------------------


def _summary(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per input: its counts (lists shown as their totals)."""
    rows = []
    for key in REVIEW_INPUTS:
        parts = []
        for name, value in inputs.get(key, {}).items():
            if isinstance(value, dict) and "total" in value:
                parts.append(f"{name} {value['total']}")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                parts.append(f"{name} {value}")
            elif isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):
                parts.append(f"{name} " + " ".join(f"{k}={v}" for k, v in value.items()))
        rows.append({"input": key, "summary": "; ".join(parts)})
    return rows


@review_app.command("open")
def review_open(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="The review's title.")],
    held_on: Annotated[str, typer.Option(help="When it is held, YYYY-MM-DD.")],
    attendee: Annotated[list[str], typer.Option(help="A user who attends (repeat).")],
    as_json: JsonOption = False,
) -> None:
    """Open a management review: its inputs are assembled from the store now."""
    review = open_workspace(ctx).aims.reviews.open(title, held_on, attendee)
    if as_json:
        print_json(review.state())
        return
    print_record({k: v for k, v in review.state().items() if k != "inputs"}, title=f"management review {review.id}")
    table(_summary(review.inputs), ["input", "summary"], title="Inputs")


@review_app.command("list")
def review_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Management reviews, newest first."""
    table([r.state() for r in open_workspace(ctx).aims.reviews.list()], _REVIEW_COLUMNS, title="Reviews",
          as_json=as_json)  # fmt: skip


@review_app.command("show")
def review_show(ctx: typer.Context, review_id: _ReviewId, as_json: JsonOption = False) -> None:
    """A review with its inputs, decisions and actions."""
    detail = open_workspace(ctx).aims.reviews.detail(review_id)
    if as_json:
        print_json(detail)
        return
    print_record({k: v for k, v in detail.items() if k not in ("inputs", "actions")}, title=f"review {review_id}")
    table(_summary(detail["inputs"]), ["input", "summary"], title="Inputs")
    table(detail["actions"], _ACTION_COLUMNS, title="Actions")


@review_app.command("refresh")
def review_refresh(ctx: typer.Context, review_id: _ReviewId, as_json: JsonOption = False) -> None:
    """Assemble a draft review's inputs again."""
    review = open_workspace(ctx).aims.reviews.refresh_inputs(review_id)
    if as_json:
        print_json(review.state())
        return
    table(_summary(review.inputs), ["input", "summary"], title=f"Inputs of review {review_id}")


@review_app.command("decide")
def review_decide(
    ctx: typer.Context,
    review_id: _ReviewId,
    decision: Annotated[str, typer.Argument(help="The decision.")],
    as_json: JsonOption = False,
) -> None:
    """Record a decision of a draft review."""
    review = open_workspace(ctx).aims.reviews.add_decision(review_id, decision)
    table([{"decision": d} for d in review.decisions], ["decision"], title=f"Decisions of review {review_id}",
          as_json=as_json)  # fmt: skip


@review_app.command("action")
def review_action(
    ctx: typer.Context,
    review_id: _ReviewId,
    description: Annotated[str, typer.Argument(help="The action decided.")],
    owner: Annotated[str, typer.Option(help="Who does it (a user).")],
    due_date: _Date = None,
    as_json: JsonOption = False,
) -> None:
    """Record an action decided by a draft review."""
    action = open_workspace(ctx).aims.reviews.add_action(review_id, description, owner=owner, due_date=due_date)
    print_record(action.state(), title=f"action {action.id}", as_json=as_json)


@review_app.command("done")
def review_done(
    ctx: typer.Context,
    action_id: _ActionId,
    note: Annotated[str, typer.Option(help="Kept in the audit log.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Mark an action of a review done (also after the review closed)."""
    action = open_workspace(ctx).aims.reviews.complete_action(action_id, note=note)
    print_record(action.state(), title=f"action {action.id}", as_json=as_json)


@review_app.command("minutes")
def review_minutes(
    ctx: typer.Context,
    review_id: _ReviewId,
    minutes: Annotated[str, typer.Argument(help="The minutes (replace any earlier).")],
) -> None:
    """Record the minutes of a draft review."""
    open_workspace(ctx).aims.reviews.set_minutes(review_id, minutes)
    typer.echo(f"minutes of review {review_id} recorded")


@review_app.command("close")
def review_close(ctx: typer.Context, review_id: _ReviewId, as_json: JsonOption = False) -> None:
    """Close a review (it has its minutes); it is frozen from then on."""
    review = open_workspace(ctx).aims.reviews.close(review_id)
    print_record({k: v for k, v in review.state().items() if k != "inputs"}, title=f"review {review.id}",
                 as_json=as_json)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(finding_app, name="finding")
    app.add_typer(nc_app, name="nc")
    app.add_typer(review_app, name="review")
