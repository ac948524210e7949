"""Generate docs/cli-reference.md from the commands themselves (``python -m assay.cli._reference``).

A test regenerates it and compares, so the reference cannot drift from ``--help``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from typer.main import get_command

from assay.cli.app import app

__all__ = ["reference"]


def _walk(command: Any, path: list[str], parent: Any) -> Iterator[tuple[list[str], Any]]:
    # Typer may bring its own copy of click: use the command's own context class and duck typing.
    ctx = command.context_class(command, info_name=path[-1], parent=parent, show_default=True)
    yield path, ctx
    for name in sorted(getattr(command, "commands", {})):
        yield from _walk(command.commands[name], [*path, name], ctx)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    root = get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the commands' own help by `python -m assay.cli._reference > docs/cli-reference.md`;",
        "a test fails when it is out of date. The user guides explain the commands: [cli.md](cli.md) (assess),",
        "[governance.md](governance.md), [risks-and-incidents.md](risks-and-incidents.md),",
        "[controls-and-soa.md](controls-and-soa.md), [audit-ledger.md](audit-ledger.md).",
        "",
        "Exit codes: 0 done; 2 the request cannot be done as given (bad input, unknown name, conflict with stored",
        "state, not allowed), with one line on stderr; 1 a failed check (e.g. the ledger does not verify) or an",
        "internal error.",
    ]
    for path, ctx in _walk(root, ["assay"], None):
        command = ctx.command
        if hasattr(command, "commands") and len(path) > 1:
            lines += ["", f"## `{' '.join(path)}`", "", (command.help or "").strip().splitlines()[0]]
            continue
        title = "Global options (before the command)" if len(path) == 1 else f"`{' '.join(path)}`"
        lines += ["", f"{'##' if len(path) <= 2 else '###'} {title}", ""]
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines += ["```", f"{ctx.command_path} {usage}".rstrip(), "```", ""]
        if command.help and len(path) > 1:
            lines += [command.help.strip(), ""]
        rows = []
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                if param.param_type_name == "argument":
                    helptext = getattr(param, "help", None) or ""
                    rows.append((param.human_readable_name, helptext))
                continue
            rows.append((record[0], record[1]))
        if rows:
            lines += ["| argument / option | meaning |", "|---|---|"]
            lines += [f"| `{_escape(name)}` | {_escape(text)} |" for name, text in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(reference())
