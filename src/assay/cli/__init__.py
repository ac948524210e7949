"""The ``assay`` command: a thin Typer shell over :mod:`assay.services`."""

from assay.cli.app import app, main

__all__ = ["app", "main"]
