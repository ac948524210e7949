"""The one Jinja2 environment of Assay's HTML documents: package templates, autoescaping, strict undefined."""

from __future__ import annotations

from functools import cache

import jinja2

__all__ = ["template"]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("assay.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def template(name: str, **filters: object) -> jinja2.Template:
    """The template ``name``; ``filters`` are registered on the shared environment (same name, same function)."""
    environment = _environment()
    for filter_name, function in filters.items():
        environment.filters.setdefault(filter_name, function)
    return environment.get_template(name)
