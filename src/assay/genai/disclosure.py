"""Disclosure to end users (EU AI Act Art. 50): is the system's disclosure text in a response, and adding it.

A guardrail policy's ``disclosure`` section says whether responses must carry the disclosure (``required``), which
text (``text``; by default the system's disclosure text, from the system record) and where (``placement``:
``prepend`` or ``append``). The guarding proxy adds it to every response it returns; the evaluation harness checks
it with :func:`disclosed`.

:func:`disclosed` is tolerant of what does not change the meaning: case, runs of whitespace and line breaks,
Unicode compatibility forms (NFKC: full-width letters, ligatures, non-breaking spaces), typographic quotes and
dashes, and the punctuation at the disclosure's ends ("You are talking to an AI." is found in "... you are talking
to an AI!"). It does not forgive a changed or missing word.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

from assay.errors import InvalidInput
from assay.genai.policy import GuardPolicy

__all__ = ["SEPARATOR", "disclosed", "disclosure_text", "normalise", "with_disclosure"]

Placement = Literal["prepend", "append"]
#: What separates the disclosure from the response's text.
SEPARATOR: Final = "\n\n"
_SPACE = re.compile(r"\s+")
_TRANSLATE = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
     "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "…": "..."}
)  # fmt: skip
_ENDS: Final = " \t\n.,;:!?-\"'()[]{}*_"


def normalise(text: str) -> str:
    """``text`` folded for comparison: NFKC, case-folded, typographic quotes and dashes made plain, whitespace runs
    made one space, trimmed."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    return _SPACE.sub(" ", folded).strip()


def disclosed(text: str, disclosure: str) -> bool:
    """Whether ``text`` carries ``disclosure`` (see the module's docstring for what is tolerated)."""
    needle = normalise(disclosure).strip(_ENDS)
    if not needle:
        raise InvalidInput("the disclosure text is empty: give the words a response must carry")
    return needle in normalise(text)


def with_disclosure(text: str, disclosure: str, placement: Placement = "append") -> str:
    """``text`` with ``disclosure`` before it (``prepend``) or after it (``append``), separated by a blank line;
    unchanged when it already carries the disclosure."""
    if placement not in ("prepend", "append"):
        raise InvalidInput(f"placement must be prepend or append, not {placement!r}")
    if disclosed(text, disclosure):
        return text
    if not text.strip():
        return disclosure
    return f"{disclosure}{SEPARATOR}{text}" if placement == "prepend" else f"{text}{SEPARATOR}{disclosure}"


def disclosure_text(policy: GuardPolicy, system_disclosure: str | None = None) -> str | None:
    """The text responses must carry under ``policy``: its own ``disclosure.text``, else the system's disclosure
    text; None when the policy does not require a disclosure. A policy that requires one with no text anywhere is
    refused (InvalidInput naming the key)."""
    section = policy.disclosure
    if section is None or not section.required:
        return None
    text = (section.text or system_disclosure or "").strip()
    if not text:
        raise InvalidInput(
            f"guardrail policy {policy.name!r}: disclosure.required is true but there is no text: set disclosure.text "
            "or give the policy's system a disclosure text"
        )
    return text
