"""What the compute commands (``assay assess``, ``explain``, ``mitigate``, ``check ...``) share: the text syntax of
their options (parsed into the kind's options model, which validates it), the target they record against, and
their progress display."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from assay.errors import InvalidInput
from assay.frames.options import facet_option, label_option, parse_role

if TYPE_CHECKING:
    from assay.services.workspace import Workspace

__all__ = ["facet_option", "label_option", "names", "parse_role", "progress_bar", "target_workspace"]


def names(text: str | None, option: str) -> list[str] | None:
    """Comma-separated names (columns, metrics) -> a list; ``None`` stays ``None``."""
    if text is None:
        return None
    items = [n.strip() for n in text.split(",")]
    if not all(items):
        raise InvalidInput(f"{option} {text!r}: write names separated by commas")
    return items


def target_workspace(
    ctx: typer.Context,
    system: str | None,
    *,
    model_version: str | None = None,
    dataset_version: str | None = None,
) -> Workspace | None:
    """With ``--system``: the workspace, after checking (before any computation) that the system and the versions
    the result is to be recorded against exist. Without: ``None`` (and the versions are refused)."""
    from assay.cli._shell import open_workspace

    if system is None:
        if model_version or dataset_version:
            given = "--model-version and --dataset-version need" if model_version else "--dataset-version needs"
            raise InvalidInput(f"{given} --system: the AI system to record against")
        return None
    workspace = open_workspace(ctx)
    workspace.assessments.check_target(system, model_version=model_version, dataset_version=dataset_version)
    return workspace


@contextmanager
def progress_bar(quiet: bool, first: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr with the current stage; yields the ``progress(stage)`` callback."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, quiet=quiet)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task(first, total=None)

        def progress(stage: str) -> None:
            if stage.startswith("FT cost:"):  # stated before the flip test starts, and kept on the screen
                console.print(stage, highlight=False, soft_wrap=True)
            bar.update(task, description=stage)

        yield progress
