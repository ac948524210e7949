"""The one Jinja2 environment of Assay's HTML documents: package templates, autoescaping, strict undefined."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

__all__ = ["template"]


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # on first use: the CLI's help and the commands that render no HTML do not load it

    return jinja2.Environment(
        loader=jinja2.PackageLoader("assay.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # Compiled templates are kept in the user's own temporary folder (Jinja checks that it owns it), keyed by
        # each template's source: a command renders a report without compiling its template again (about 0.1 s).
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
    )


def template(name: str, **filters: object) -> jinja2.Template:
    """The template ``name``; ``filters`` are registered on the shared environment: a name means one function for
    every template (a second function under a name already taken is refused, not silently shadowed: the model card's
    ``num`` once rendered with the web pages' rounding when a page had been served first in the same process)."""
    environment = _environment()
    for filter_name, function in filters.items():
        known = environment.filters.setdefault(filter_name, function)
        if known is not function:
            raise RuntimeError(f"the template filter {filter_name!r} is taken by {known!r}: choose another name")
    return environment.get_template(name)
