"""``assay guard``: guardrails for generative AI (policies, the filter over text and JSON Lines, decisions, protected
corpora, the guarding proxy). Each part registers its sub-commands from its own module (:data:`PARTS`)."""

from __future__ import annotations

from importlib import import_module
from typing import Final

import typer

__all__ = ["PARTS", "register"]

# the modules adding their sub-commands to ``assay guard`` (each has ``register(guard_app)``), in the order of --help
PARTS: Final[tuple[str, ...]] = (
    "assay.cli.guard_policies",
    "assay.cli.guard_proxy",
    "assay.cli.guard_corpora",
)

_HELP: Final = (
    "Guardrails for generative AI: policies, the filter over text or JSON Lines, decisions, protected corpora, "
    "the guarding proxy (OpenAI-compatible)."
)


def register(app: typer.Typer) -> None:
    """Add ``assay guard`` and its parts to the root app (a new group each time: registering twice in one process,
    as in-process tests do, must not add every command again)."""
    guard_app = typer.Typer(help=_HELP, no_args_is_help=True)
    for name in PARTS:
        import_module(name).register(guard_app)
    app.add_typer(guard_app, name="guard")
