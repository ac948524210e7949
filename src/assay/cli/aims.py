"""``assay aims``: the organisation's AI management system (ISO/IEC 42001 clauses 4-10). Each part of it registers
its sub-commands from its own module (:data:`PARTS`), as the services do (:mod:`assay.services.aims`)."""

from __future__ import annotations

from importlib import import_module
from typing import Final

import typer

__all__ = ["PARTS", "register"]

# the modules adding their sub-commands to ``assay aims`` (each has ``register(aims_app)``), in the order of --help
PARTS: Final[tuple[str, ...]] = (
    "assay.cli.aims_pack",
    "assay.cli.aims_perf",
    "assay.cli.aims_org",
    "assay.cli.aims_audit",
)

_HELP: Final = (
    "The organisation's AI management system (ISO/IEC 42001 clauses 4-10): scope, policies, roles, objectives, "
    "competence, internal audits, nonconformities, management reviews."
)


def register(app: typer.Typer) -> None:
    """Add ``assay aims`` and its parts to the root app (a new group each time: registering twice in one process,
    as in-process tests do, must not add every command again)."""
    aims_app = typer.Typer(help=_HELP, no_args_is_help=True)
    for name in PARTS:
        import_module(name).register(aims_app)
    app.add_typer(aims_app, name="aims")
