"""``assay guard policy|apply|decisions|stats|block-rate|verify``: guardrail policies in the workspace, the filter over
text or JSON Lines, and the recorded decisions (thin commands over :mod:`assay.services.genai.guard`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

policy_app = typer.Typer(help="Guardrail policies: add a version (YAML), list, show.", no_args_is_help=True)

_Since = Annotated[str | None, typer.Option(help="From this time (ISO 8601, UTC unless given).")]
_Until = Annotated[str | None, typer.Option(help="Before this time (ISO 8601, UTC unless given).")]
_Policy = Annotated[str | None, typer.Option(help="Only this policy (every version).")]
_System = Annotated[str | None, typer.Option(help="Only this AI system.")]
_MAX_LINE = 2_000_000  # characters of one JSON Lines record


def _time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not an ISO 8601 time, e.g. 2026-12-06T00:00:00Z") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _read(path: Path, what: str) -> str:
    if not path.is_file():
        raise InvalidInput(f"{what} {path}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


@policy_app.command("add")
def policy_add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The policy (YAML, schema assay.guardrail/1).")],
    system: Annotated[
        str | None, typer.Option(help="Bind it to this AI system (default: the previous version's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a version of a guardrail policy (the same text again is not a new version)."""
    stored = open_workspace(ctx).genai.guard.add_policy(_read(file, "policy file"), system=system)
    if as_json:
        print_json(stored.to_dict())
        return
    bound = f" (system {stored.system})" if stored.system else " (organisation)"
    sections = ", ".join(stored.policy.sections) or "no checks"
    typer.echo(f"guardrail policy {stored.name} version {stored.version}{bound}: {sections}")


@policy_app.command("list")
def policy_list(ctx: typer.Context, system: _System = None, as_json: JsonOption = False) -> None:
    """The newest version of each policy."""
    rows = [p.to_dict() for p in open_workspace(ctx).genai.guard.policies(system=system)]
    for row in rows:
        row["sections"] = ", ".join(row["sections"])
    table(rows, ["name", "version", "system", "sections", "keep_content", "created_by", "created_at"],
          title="Guardrail policies", as_json=as_json)  # fmt: skip


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The policy's name.")],
    version: Annotated[int | None, typer.Option(help="This version (default: the newest).")] = None,
    as_json: JsonOption = False,
) -> None:
    """A policy version: what it is, and its text."""
    stored = open_workspace(ctx).genai.guard.policy(name, version)
    if as_json:
        print_json(stored.to_dict(text=True))
        return
    record = stored.to_dict()
    record["sections"] = ", ".join(record["sections"]) or "none"
    print_record(record, title=f"Guardrail policy {stored.name}")
    typer.echo(stored.text)


def _items(stream: TextIO, jsonl: bool, sources: list[str], query: str | None) -> Iterator[dict[str, Any]]:
    if not jsonl:
        yield {"content": stream.read(), "sources": sources, "query": query}
        return
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        if len(line) > _MAX_LINE:
            raise InvalidInput(f"line {number}: {len(line)} characters, more than {_MAX_LINE}")
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number} is not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise InvalidInput(f"line {number} is not a JSON object (give text or content)")
        content = record.get("text", record.get("content"))
        if isinstance(content, list) and all(isinstance(block, str) for block in content):
            pass
        elif not isinstance(content, str):
            raise InvalidInput(f"line {number}: give text or content (a string, or a list of strings)")
        given = record.get("sources", sources)
        if not isinstance(given, list) or not all(isinstance(s, str) for s in given):
            raise InvalidInput(f"line {number}: sources must be a list of strings")
        for key in ("query", "conversation", "source"):
            if record.get(key) is not None and not isinstance(record[key], str):
                raise InvalidInput(f"line {number}: {key} must be a string")
        yield {
            "line": number, "content": content, "sources": given, "query": record.get("query", query),
            "conversation": record.get("conversation"), "source": record.get("source"), "id": record.get("id"),
        }  # fmt: skip


def apply(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="Plain text or JSON Lines to guard; - for standard input.")] = "-",
    policy: Annotated[str, typer.Option(help="The guardrail policy.")] = "",
    source: Annotated[str, typer.Option(help="input (prompts) or output (responses).")] = "input",
    version: Annotated[int | None, typer.Option(help="This version of the policy (default: the newest).")] = None,
    sources: Annotated[
        Path | None, typer.Option(help="Grounding sources: a text file, passages separated by blank lines.")
    ] = None,
    query: Annotated[str | None, typer.Option(help="The user's question a response answers (relevance).")] = None,
    jsonl: Annotated[
        bool | None,
        typer.Option("--jsonl/--text", help="Read JSON Lines (default for .jsonl/.ndjson files) or one plain text."),
    ] = None,
    fail_on_block: Annotated[
        int | None, typer.Option(help="Exit with this code (1-125) when anything was blocked; default exit 0.")
    ] = None,
) -> None:
    """Guard text or JSON Lines with a policy, writing one JSON result per item (shaped like Bedrock's ApplyGuardrail
    response). JSON Lines: each line an object with text or content (a string or a list of blocks), and optional
    sources, query, conversation, source and id. Every decision is recorded (channel cli)."""
    if not policy:
        raise InvalidInput("give the guardrail policy: --policy NAME")
    if fail_on_block is not None and not 1 <= fail_on_block <= 125:
        raise InvalidInput(f"--fail-on-block {fail_on_block} must be between 1 and 125")
    passages = [] if sources is None else [p.strip() for p in _read(sources, "--sources").split("\n\n") if p.strip()]
    guard = open_workspace(ctx).genai.guard
    guard.guardrail(policy, version)  # a missing policy fails before any input is read
    if jsonl is None:
        jsonl = file.lower().endswith((".jsonl", ".ndjson"))
    blocked = 0
    stream: TextIO
    if file == "-":
        stream = sys.stdin
    else:
        if not Path(file).is_file():
            raise InvalidInput(f"{file}: no such file")
        stream = Path(file).open(encoding="utf-8-sig")  # noqa: SIM115 -- closed below
    try:
        for item in _items(stream, jsonl, passages, query):
            result = guard.apply(
                policy, item.get("source") or source, item["content"], sources=item["sources"], query=item["query"],
                conversation=item.get("conversation"), channel="cli", version=version,
            )  # fmt: skip
            blocked += result.blocked
            out = result.to_dict()
            if item.get("line") is not None:
                out["line"] = item["line"]
            if item.get("id") is not None:
                out["id"] = item["id"]
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file}: not UTF-8 text ({exc.reason})") from None
    finally:
        if stream is not sys.stdin:
            stream.close()
    if blocked and fail_on_block is not None:
        raise typer.Exit(fail_on_block)


_DECISION_COLUMNS = ["id", "created_at", "policy", "version", "system", "source", "channel", "outcome", "findings",
                     "latency_ms"]  # fmt: skip


def decisions(
    ctx: typer.Context,
    policy: _Policy = None,
    system: _System = None,
    action: Annotated[str | None, typer.Option(help="NONE or GUARDRAIL_INTERVENED.")] = None,
    outcome: Annotated[str | None, typer.Option(help="blocked, masked, detected or none.")] = None,
    source: Annotated[str | None, typer.Option(help="input or output.")] = None,
    channel: Annotated[str | None, typer.Option(help="library, cli, api, proxy or evaluation.")] = None,
    since: _Since = None,
    until: _Until = None,
    limit: Annotated[int, typer.Option(help="At most this many (up to 1000), newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Recorded guardrail decisions, newest first."""
    items = open_workspace(ctx).genai.guard.decisions(
        policy=policy, system=system, action=action, outcome=outcome, source=source, channel=channel,
        since=_time(since, "--since"), until=_time(until, "--until"), limit=limit,
    )  # fmt: skip
    if as_json:
        print_json(list(items))
        return
    rows = [{**d, "findings": ", ".join(sorted({f.get("type", "?") for f in d["findings"]})) or "-"} for d in items]
    table(rows, _DECISION_COLUMNS, title=f"Guardrail decisions ({items.total})")


def stats(
    ctx: typer.Context,
    policy: _Policy = None,
    system: _System = None,
    since: _Since = None,
    until: _Until = None,
    as_json: JsonOption = False,
) -> None:
    """Decisions counted per policy, system and day, with the block rate."""
    figures = open_workspace(ctx).genai.guard.stats(
        policy=policy, system=system, since=_time(since, "--since"), until=_time(until, "--until")
    )
    if as_json:
        print_json(figures)
        return
    rows = [
        {**g, "block_rate": "-" if g["block_rate"] is None else f"{g['block_rate']:.3f}"} for g in figures["groups"]
    ]
    table(rows, ["day", "policy", "system", "decisions", "blocked", "masked", "detected", "none", "block_rate",
                 "mean_latency_ms"], title=f"Guardrail decisions: {figures['decisions']} in all")  # fmt: skip


def block_rate(
    ctx: typer.Context,
    policy: Annotated[str, typer.Option(help="The guardrail policy.")] = "",
    window: Annotated[int, typer.Option(help="The window in seconds (ending now, or at --end).")] = 3600,
    max_rate: Annotated[float | None, typer.Option(help="The highest acceptable block rate.")] = None,
    factor: Annotated[float | None, typer.Option(help="A rise over the previous window's rate by this factor.")] = None,
    end: Annotated[str | None, typer.Option(help="The window's end (ISO 8601; default now).")] = None,
    alpha: Annotated[float, typer.Option(help="False-alarm level of each test.")] = 0.01,
    min_decisions: Annotated[int, typer.Option(help="Fewer decisions than this: nothing judged.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Judge a policy's block rate in a window against a ceiling and the previous window; exit 1 when it fails."""
    if not policy:
        raise InvalidInput("give the guardrail policy: --policy NAME")
    result = open_workspace(ctx).genai.guard.check_block_rate(
        policy, window=window, max_rate=max_rate, factor=factor, end=_time(end, "--end"), alpha=alpha,
        min_decisions=min_decisions,
    )  # fmt: skip
    if as_json:
        print_json(result)
    else:
        rate = result["block_rate"]
        typer.echo(f"{policy}: {result['status']}: {result['blocked']} of {result['decisions']} blocked"
                   + ("" if rate is None else f" ({rate:.3f})"))  # fmt: skip
        for line in [v["description"] for v in result["violations"]] or [result.get("reason", "")]:
            if line:
                typer.echo(f"  {line}")
    if result["status"] == "fail":
        raise typer.Exit(1)


def verify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Recompute every sealed batch of decisions; name each decision edited, deleted or inserted (exit 1)."""
    result = open_workspace(ctx).genai.guard.verify()
    if as_json:
        print_json(result.to_dict())
    elif result.ok:
        typer.echo(f"guardrail decisions verify: {result.decisions} decisions in {result.batches} sealed batches")
    else:
        typer.echo(f"guardrail decisions do NOT verify ({len(result.problems)} problems):", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``policy``, ``apply``, ``decisions``, ``stats``, ``block-rate`` and ``verify`` to ``assay guard``."""
    app.add_typer(policy_app, name="policy")
    app.command("apply")(apply)
    app.command("decisions")(decisions)
    app.command("stats")(stats)
    app.command("block-rate")(block_rate)
    app.command("verify")(verify)
