"""``assay aims objective|training|reminders``: objectives and their measures (ISO/IEC 42001 6.2), competence and
awareness (7.2, 7.3), per-person reminders and their e-mail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, parse_date, print_json, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

objective_app = typer.Typer(
    help="Objectives (6.2): add, update, retire; measure (computed from the store) or record by hand; trend, list.",
    no_args_is_help=True,
)
training_app = typer.Typer(
    help="Competence (7.2, 7.3): the training catalogue, training records (by hand or CSV), the gap list.",
    no_args_is_help=True,
)

_Key = Annotated[str, typer.Argument(help="The objective's key (lower-case letters, digits, '.', '_', '-').")]
_Code = Annotated[str, typer.Argument(help="The training's code.")]
_Opt = Annotated[str | None, typer.Option(show_default=False)]
_Params = Annotated[
    list[str] | None,
    typer.Option("--param", help="A measure's parameter NAME=VALUE (repeat; see `assay aims objective measures`)."),
]
_STATUS_COLUMNS = ["key", "title", "owner", "measure", "target", "direction", "value", "met", "due_date"]
_STATUS_COLUMNS += ["days_left", "overdue"]
_TRAINING_COLUMNS = ["code", "title", "validity_months", "required_for", "status"]
_RECORD_COLUMNS = ["id", "person", "training", "completed_on", "score", "expires_on", "evidence", "source"]
_GAP_COLUMNS = ["person", "training", "state", "roles", "completed_on", "expires_on", "days_left"]
_REMINDER_COLUMNS = ["person", "kind", "what", "due", "days_left", "ref"]


def _value(text: str) -> Any:
    """A parameter's value: JSON when it parses (numbers, true, null), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _measure(name: str | None, params: list[str] | None) -> dict[str, Any] | None:
    if name is None:
        if params:
            raise InvalidInput("--param needs --measure NAME")
        return None
    spec: dict[str, Any] = {"name": name}
    for item in params or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param {item!r}: write NAME=VALUE")
        spec[key.strip()] = _value(text)
    return spec


def _number(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{option} {text!r} is not a number") from None


# -- objectives ---------------------------------------------------------------------------------------------------


@objective_app.command("add")
def objective_add(
    ctx: typer.Context,
    key: _Key,
    title: Annotated[str, typer.Option(help="What the objective is.")],
    owner: Annotated[str, typer.Option(help="Who is accountable (a user).")],
    target: Annotated[str | None, typer.Option(help="The target value.", show_default=False)] = None,
    direction: Annotated[str, typer.Option(help="Met when the value is at_least or at_most the target.")] = "at_least",
    unit: Annotated[str, typer.Option(help="The unit (share, count, days, ...).")] = "",
    due: Annotated[str | None, typer.Option(help="Due date, YYYY-MM-DD.", show_default=False)] = None,
    measure: Annotated[
        str | None, typer.Option(help="A measure Assay computes (none: measured by hand).", show_default=False)
    ] = None,
    param: _Params = None,
    description: _Opt = None,
    as_json: JsonOption = False,
) -> None:
    """Add an objective, measured by a measure of the store or by hand."""
    spec: dict[str, Any] = {"key": key, "title": title, "owner": owner, "direction": direction, "unit": unit}
    spec.update(target=_number(target, "--target"), due_date=parse_date(due, "--due"), measure=_measure(measure, param))
    if description is not None:
        spec["description"] = description
    objective = open_workspace(ctx).aims.objectives.add(spec)
    print_record(objective.state(), title=f"objective {key}", as_json=as_json)


@objective_app.command("update")
def objective_update(
    ctx: typer.Context,
    key: _Key,
    title: _Opt = None,
    owner: _Opt = None,
    target: _Opt = None,
    direction: _Opt = None,
    unit: _Opt = None,
    due: _Opt = None,
    measure: _Opt = None,
    param: _Params = None,
    status: Annotated[str | None, typer.Option(help="active or achieved.", show_default=False)] = None,
    description: _Opt = None,
    as_json: JsonOption = False,
) -> None:
    """Change fields of an objective (only the options given)."""
    given = {"title": title, "owner": owner, "direction": direction, "unit": unit, "status": status}
    given["description"] = description
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if target is not None:
        changes["target"] = _number(target, "--target")
    if due is not None:
        changes["due_date"] = parse_date(due, "--due")
    if measure is not None or param:
        changes["measure"] = _measure(measure, param)
    objective = open_workspace(ctx).aims.objectives.update(key, changes)
    print_record(objective.state(), title=f"objective {key}", as_json=as_json)


@objective_app.command("retire")
def objective_retire(
    ctx: typer.Context, key: _Key, reason: Annotated[str, typer.Option(help="Why.")] = "", as_json: JsonOption = False
) -> None:
    """Retire an objective (kept with its measurements)."""
    objective = open_workspace(ctx).aims.objectives.retire(key, reason=reason)
    print_record(objective.state(), title=f"objective {key}", as_json=as_json)


@objective_app.command("list")
def objective_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every objective with its latest value, whether met, due and overdue."""
    table(open_workspace(ctx).aims.objectives.status(), _STATUS_COLUMNS, title="Objectives", as_json=as_json)


@objective_app.command("measures")
def objective_measures(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The measures Assay computes from the store, with their parameters."""
    from assay.services.aims.objectives import Objectives

    rows = Objectives.measures()
    if as_json:
        print_json(rows)
        return
    shown = [{**r, "parameters": [f"{k}={v.get('default')}" for k, v in r["parameters"].items()] or None} for r in rows]
    table(shown, ["name", "title", "unit", "parameters"], title="Measures")


@objective_app.command("measure")
def objective_measure(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="The objective (or --all).", show_default=False)] = None,
    every: Annotated[bool, typer.Option("--all", help="Every active objective that has a measure (for cron).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Compute an objective's measure and record the measurement (audited)."""
    if (key is None) == (not every):
        raise InvalidInput("name one objective or give --all")
    objectives = open_workspace(ctx).aims.objectives
    rows = objectives.measure_all() if every else [objectives.measure(key or "")]
    keys = {o.id: o.key for o in objectives.list()}
    shown = [{**m.state(), "objective": keys.get(m.objective_id)} for m in rows]
    table(shown, ["id", "objective", "value", "met", "measured_at"], title="Measurements", as_json=as_json)


@objective_app.command("record")
def objective_record(
    ctx: typer.Context,
    key: _Key,
    value: Annotated[str, typer.Argument(help="The value measured.")],
    note: Annotated[str, typer.Option(help="Where the value comes from.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Record a measurement by hand."""
    number = _number(value, "VALUE")
    row = open_workspace(ctx).aims.objectives.record(key, number if number is not None else 0.0, note=note)
    print_record(row.state(), title=f"measurement of {key}", as_json=as_json)


@objective_app.command("trend")
def objective_trend(
    ctx: typer.Context,
    key: _Key,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="The last this many measurements.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """An objective's measurements, oldest first, and which way the last one moved."""
    trend = open_workspace(ctx).aims.objectives.trend(key, limit=limit)
    if as_json:
        print_json(trend)
        return
    moved = trend["moved"] or "not enough measurements"
    better = {True: ", improving", False: ", worsening"}.get(trend["improving"], "")
    table(trend["series"], ["measured_at", "value", "met", "source"], title=f"Trend of {key}: {moved}{better}")


# -- trainings ----------------------------------------------------------------------------------------------------

_Roles = Annotated[
    str | None,
    typer.Option(help="Roles it is required for, comma-separated (governance and system roles).", show_default=False),
]


def _roles(text: str | None) -> list[str] | None:
    return None if text is None else [r.strip() for r in text.split(",") if r.strip()]


@training_app.command("add")
def training_add(
    ctx: typer.Context,
    code: _Code,
    title: Annotated[str, typer.Option(help="The training's title.")],
    validity_months: Annotated[
        int | None, typer.Option(help="Months a completion stays valid (none: never expires).", show_default=False)
    ] = None,
    required_for: _Roles = None,
    description: _Opt = None,
    as_json: JsonOption = False,
) -> None:
    """Add a training to the catalogue."""
    spec: dict[str, Any] = {"code": code, "title": title, "validity_months": validity_months}
    spec["required_for"] = _roles(required_for) or []
    if description is not None:
        spec["description"] = description
    training = open_workspace(ctx).aims.competence.add_training(spec)
    print_record(training.state(), title=f"training {code}", as_json=as_json)


@training_app.command("update")
def training_update(
    ctx: typer.Context,
    code: _Code,
    title: _Opt = None,
    validity_months: Annotated[int | None, typer.Option(help="Months a completion stays valid.")] = None,
    required_for: _Roles = None,
    description: _Opt = None,
    as_json: JsonOption = False,
) -> None:
    """Change a training (only the options given)."""
    changes: dict[str, Any] = {k: v for k, v in {"title": title, "description": description}.items() if v is not None}
    if validity_months is not None:
        changes["validity_months"] = validity_months
    if required_for is not None:
        changes["required_for"] = _roles(required_for)
    training = open_workspace(ctx).aims.competence.update_training(code, changes)
    print_record(training.state(), title=f"training {code}", as_json=as_json)


@training_app.command("retire")
def training_retire(
    ctx: typer.Context, code: _Code, reason: Annotated[str, typer.Option(help="Why.")] = "", as_json: JsonOption = False
) -> None:
    """Retire a training (kept with its records; no longer required)."""
    training = open_workspace(ctx).aims.competence.retire_training(code, reason=reason)
    print_record(training.state(), title=f"training {code}", as_json=as_json)


@training_app.command("list")
def training_list(
    ctx: typer.Context,
    retired: Annotated[bool, typer.Option("--retired", help="Include retired trainings.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The training catalogue."""
    rows = [t.state() for t in open_workspace(ctx).aims.competence.trainings(include_retired=retired)]
    table(rows, _TRAINING_COLUMNS, title="Training catalogue", as_json=as_json)


@training_app.command("record")
def training_record(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Who completed it (a user).")],
    code: _Code,
    completed_on: Annotated[str, typer.Option(help="When, YYYY-MM-DD.")],
    score: _Opt = None,
    expires_on: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD (default: completion plus the training's validity).", show_default=False),
    ] = None,
    evidence: Annotated[str, typer.Option(help="Where the certificate is (a URL or a reference).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Record that a person completed a training."""
    spec = {"person": person, "training": code, "completed_on": parse_date(completed_on, "--completed-on"),
            "score": _number(score, "--score"), "expires_on": parse_date(expires_on, "--expires-on"),
            "evidence": evidence}  # fmt: skip
    record = open_workspace(ctx).aims.competence.record(spec)
    print_record(record.state(), title=f"training record {record.id}", as_json=as_json)


@training_app.command("import")
def training_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: person, training, completed_on[, score, expires_on, evidence].")],
    as_json: JsonOption = False,
) -> None:
    """Import training records from CSV: every row is checked first, and one bad row imports nothing."""
    result = open_workspace(ctx).aims.competence.import_csv(file)
    print_record(result, title="training records imported", as_json=as_json)


@training_app.command("records")
def training_records(
    ctx: typer.Context,
    person: _Opt = None,
    training: Annotated[str | None, typer.Option(help="Only this training's code.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Training records, newest completion first."""
    rows = open_workspace(ctx).aims.competence.records(person=person, training=training)
    table(rows, _RECORD_COLUMNS, title="Training records", as_json=as_json)


@training_app.command("gaps")
def training_gaps(
    ctx: typer.Context,
    within: Annotated[int, typer.Option(min=0, max=3650, help="Also list what expires within this many days.")] = 30,
    person: _Opt = None,
    as_json: JsonOption = False,
) -> None:
    """Who lacks which required training (missing, expired) and what expires soon."""
    rows = open_workspace(ctx).aims.competence.gaps(within_days=within, person=person)
    table(rows, _GAP_COLUMNS, title=f"Training gaps (expiring within {within} days)", as_json=as_json)


# -- reminders ----------------------------------------------------------------------------------------------------


def reminders(
    ctx: typer.Context,
    person: Annotated[
        str | None,
        typer.Option(help="Whose list (default yours; '*': everyone's, for admins and managers).", show_default=False),
    ] = None,
    within: Annotated[int, typer.Option(min=0, max=3650, help="What is due within this many days (or overdue).")] = 30,
    send: Annotated[bool, typer.Option("--send", help="E-mail each person their list (ASSAY_SMTP_*).")] = False,
    address: Annotated[
        list[str] | None, typer.Option("--address", help="With --send: NAME=EMAIL, a person's address (repeat).")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(help="With --send: NAME@DOMAIN for people without --address.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What each person has to do soon: reviews, trainings, evidence, objectives, actions, nonconformities,
    approvals."""
    ws = open_workspace(ctx)
    if not send:
        if address or domain:
            raise InvalidInput("--address and --domain go with --send")
        lists = ws.aims.reminders(person, within)
        rows = [{"person": entry["person"], **item} for entry in lists for item in entry["items"]]
        if as_json:
            print_json(lists)
            return
        for row in rows:
            row["days_left"] = "now" if row["due"] is None else row["days_left"]
        table(rows, _REMINDER_COLUMNS, title=f"Reminders (due within {within} days or overdue)")
        return
    addresses: dict[str, str] = {}
    for item in address or []:
        name, sep, mail = item.partition("=")
        if not sep or not name.strip() or not mail.strip():
            raise InvalidInput(f"--address {item!r}: write NAME=EMAIL")
        addresses[name.strip()] = mail.strip()
    results = ws.aims.reminders.send(addresses=addresses, domain=domain, person=person, within_days=within)
    table([r.to_dict() for r in results], ["person", "address", "items", "sent", "error"], title="Reminders e-mailed",
          as_json=as_json)  # fmt: skip
    if any(not r.sent for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(objective_app, name="objective")
    app.add_typer(training_app, name="training")
    app.command("reminders")(reminders)
