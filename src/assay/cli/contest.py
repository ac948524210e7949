"""``assay contest ...``: contested decisions (see docs/contested-decisions.md): open a case by inference id, list,
show (the decision, its factors and what would change it), decide (upheld or overturned, with the rationale; needs
the overseer or owner role), withdraw, and print the letter to the person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

contest_app = typer.Typer(
    help="Contested decisions: open by inference id, list, show, decide (with the letter), withdraw.",
    no_args_is_help=True,
)

_COLUMNS = ["id", "inference_id", "status", "outcome", "decision", "requester", "due_at", "created_at"]


def _value(text: str) -> Any:
    """A decision value as typed: JSON when it parses (``1``, ``true``, ``{"prediction": 1}``), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _features(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"--features {str(path)!r}: cannot read a JSON object from it ({exc})") from None
    if not isinstance(loaded, dict):
        raise InvalidInput(f"--features {str(path)!r}: give a JSON object of the input values by column name")
    return loaded


def _row(case: Any, as_json: bool = False) -> dict[str, Any]:
    """The case's record; for a table, its decision as one JSON text."""
    row: dict[str, Any] = case.state()
    if not as_json:
        row["decision"] = json.dumps(case.decision, sort_keys=True)
    return row


def _plain(case: Any) -> dict[str, Any]:
    """The case as a person reads it: the decision, its factors, what would change it, the outcome."""
    explanation = case.explanation or {}
    counterfactual = case.counterfactual or {}
    out: dict[str, Any] = {
        "case": case.id, "inference id": case.inference_id, "status": case.status,
        "decision": json.dumps(case.decision, sort_keys=True), "requester": case.requester or "",
        "grounds": case.grounds or "", "due": case.due_at.isoformat(timespec="seconds") if case.due_at else "",
    }  # fmt: skip
    if "error" in explanation:
        out["explanation"] = f"not available: {explanation['error']}"
    elif explanation:
        out["summary"] = explanation.get("summary", "")
        out["factors"] = "\n".join(f["sentence"] for f in explanation.get("factors", []))
        out["what would change it"] = counterfactual.get("sentence") or counterfactual.get("reason") or ""
    else:
        out["explanation"] = "not yet prepared (the explain-decisions job is queued: run `assay worker`)"
    if case.status == "decided":
        out["outcome"] = case.outcome
        if case.new_decision is not None:
            out["new decision"] = json.dumps(case.new_decision, sort_keys=True)
        out["rationale"], out["decided by"] = case.rationale, case.reviewer
    return out


@contest_app.command("open")
def open_case(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    inference_id: Annotated[str, typer.Argument(help="The inference id of the decision contested.")],
    model_version: Annotated[
        str | None,
        typer.Option(
            "--model-version", help="The model version that decided, MODEL@VERSION (default: any).", show_default=False
        ),
    ] = None,
    requester: Annotated[str, typer.Option("--requester", help="Who contests: a reference, not personal data.")] = "",
    grounds: Annotated[str, typer.Option("--grounds", help="Why the person contests the decision.")] = "",
    decision: Annotated[
        str | None,
        typer.Option(
            "--decision",
            help="The decision (JSON or text), when it is neither queued nor captured.",
            show_default=False,
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            "--features", help="A JSON file of the decision's input values, with --decision.", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a case on a decision, found by its inference id in the review queue or the capture (or as given)."""
    case = open_workspace(ctx).contests.open(
        system, inference_id, model_version=model_version, requester=requester, grounds=grounds,
        decision=None if decision is None else _value(decision), features=_features(features),
    )  # fmt: skip
    print_record(_row(case, as_json), title=f"contested case {case.id} of {system}", as_json=as_json)


@contest_app.command("list")
def list_cases(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    status: Annotated[
        str | None, typer.Option("--status", help="open, decided or withdrawn.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The contested cases of a system, newest first."""
    cases = open_workspace(ctx).contests.list(system, status=status)
    table([_row(c, as_json) for c in cases], _COLUMNS, title=f"Contested cases of {system}", as_json=as_json)


@contest_app.command("show")
def show(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    case_id: Annotated[int, typer.Argument(help="The case id.")],
    as_json: JsonOption = False,
) -> None:
    """One case in plain language: the decision, its main factors, what would change it, the outcome."""
    case = open_workspace(ctx).contests.get(system, case_id)
    if as_json:
        print_json(case.state())
        return
    print_record(_plain(case), title=f"Contested case {case_id} of {system}")


@contest_app.command("decide")
def decide(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    case_id: Annotated[int, typer.Argument(help="The case id.")],
    outcome: Annotated[str, typer.Option("--outcome", help="upheld or overturned.", show_default=False)],
    rationale: Annotated[
        str, typer.Option("--rationale", help="Why, in words the person understands.", show_default=False)
    ],
    new_decision: Annotated[
        str | None,
        typer.Option("--new-decision", help="The decision that replaces it (with overturned).", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Decide a case (an overseer or the owner; not a reviewer); the letter to the person is recorded with it."""
    case = open_workspace(ctx).contests.decide(
        system, case_id, outcome=outcome, rationale=rationale,
        new_decision=None if new_decision is None else _value(new_decision),
    )  # fmt: skip
    print_record(_row(case, as_json), title=f"contested case {case.id} of {system}", as_json=as_json)


@contest_app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    case_id: Annotated[int, typer.Argument(help="The case id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Withdraw an open case (the person no longer contests the decision)."""
    case = open_workspace(ctx).contests.withdraw(system, case_id, reason=reason)
    print_record(_row(case, as_json), title=f"contested case {case.id} of {system}", as_json=as_json)


@contest_app.command("letter")
def letter(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    case_id: Annotated[int, typer.Argument(help="The case id.")],
) -> None:
    """Print the letter to the person, recorded when the case was decided."""
    typer.echo(open_workspace(ctx).contests.letter(system, case_id), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(contest_app, name="contest")
