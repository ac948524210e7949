"""The letter to a person whose contested decision was reviewed: plain text from a Jinja template
(``templates/contest_letter.txt``), built only from the case's document (a plain dict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assay.reports._jinja import template

__all__ = ["render_contest_letter"]


def render_contest_letter(case: Mapping[str, Any]) -> str:
    """The letter: the decision, its main factors, what would change it, the outcome of the review, and how to
    escalate further."""
    text = template("contest_letter.txt").render(case=case)
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"
