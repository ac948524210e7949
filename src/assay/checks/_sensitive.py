"""Sensitive attributes in a dataset: the columns holding special-category data (GDPR Art. 9: racial or ethnic
origin, political opinions, religious or philosophical beliefs, trade union membership, genetic and biometric data,
health, sex life or sexual orientation) and sex or gender (a protected characteristic in equality law, not an Art. 9
category), found by column name and by values, so the data inventory knows where such data is.

A name counts when one of its words (``applicant_race``, ``HealthStatus``, ``religion-2``) is a category's word; values
count when at least half of a column's present values are words of the category's vocabulary (``Female``, ``Male``;
``White``, ``Black``, ``Asian-Pac-Islander``) and at least two different ones occur, so that a column of one repeated
word, or a free-text column that mentions one, is not taken for an attribute. Reported by column, category and how
it was found (``name``, ``values``), never with a value. Categories whose values cannot be recognised from a word
list (health, politics, union membership, genetic and biometric data) are found from names only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["SENSITIVE", "SensitiveColumn", "sensitive_column"]

MIN_VALUE_SHARE: Final = 0.5
_GENERIC: Final = frozenset({"other", "none", "mixed", "m", "f"})  # words that alone do not show a category


@dataclass(frozen=True)
class _Category:
    art9: bool  # a special category of GDPR Art. 9
    names: frozenset[str]  # words of a column name
    values: frozenset[str]  # words of the values (lower case)


SENSITIVE: Final[dict[str, _Category]] = {
    "sex or gender": _Category(
        False,
        frozenset({"sex", "gender"}),
        frozenset({"male", "female", "man", "woman", "men", "women", "non-binary", "nonbinary", "m", "f"}),
    ),
    "racial or ethnic origin": _Category(
        True,
        frozenset({"race", "ethnicity", "ethnic", "ethnicities", "races"}),
        frozenset(
            {
                "white",
                "black",
                "asian",
                "asian-pac-islander",
                "amer-indian-eskimo",
                "hispanic",
                "latino",
                "latina",
                "caucasian",
                "african-american",
                "african american",
                "native american",
                "pacific islander",
                "other",
                "mixed",
                "arab",
                "roma",
            }
        ),
    ),
    "religious or philosophical beliefs": _Category(
        True,
        frozenset({"religion", "religious", "faith", "belief", "beliefs", "denomination"}),
        frozenset(
            {
                "christian",
                "muslim",
                "jewish",
                "hindu",
                "buddhist",
                "sikh",
                "atheist",
                "agnostic",
                "catholic",
                "protestant",
                "orthodox",
                "none",
            }
        ),
    ),
    "health": _Category(
        True,
        frozenset(
            {
                "health",
                "disability",
                "disabled",
                "diagnosis",
                "medical",
                "illness",
                "disease",
                "pregnant",
                "pregnancy",
                "hiv",
                "mental",
                "medication",
                "bmi",
                "icd",
                "symptoms",
            }
        ),
        frozenset(),
    ),
    "sex life or sexual orientation": _Category(
        True,
        frozenset({"orientation", "sexuality", "lgbt", "lgbtq"}),
        frozenset({"heterosexual", "homosexual", "gay", "lesbian", "bisexual", "straight", "asexual", "queer"}),
    ),
    "political opinions": _Category(
        True, frozenset({"political", "politics", "party_affiliation", "vote", "voting"}), frozenset()
    ),
    "trade union membership": _Category(True, frozenset({"union", "unionised", "unionized"}), frozenset()),
    "genetic or biometric data": _Category(
        True,
        frozenset({"genetic", "genome", "dna", "biometric", "biometrics", "fingerprint", "faceprint", "iris"}),
        frozenset(),
    ),
}
_SPLIT = re.compile(r"[^a-z0-9]+")


def _words(name: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    words = {w for w in _SPLIT.split(spaced) if w}
    joined = "_".join(w for w in _SPLIT.split(spaced) if w)
    return words | {joined}


@dataclass(frozen=True)
class SensitiveColumn:
    column: str
    category: str
    art9: bool
    by: tuple[str, ...]  # "name", "values"
    value_share: float | None  # share of the values scanned that are the category's words

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "category": self.category, "gdpr_art9": self.art9, "found_by": list(self.by),
                "value_share": None if self.value_share is None else round(self.value_share, 4)}  # fmt: skip


def sensitive_column(column: str, values: Sequence[Any]) -> list[SensitiveColumn]:
    """The sensitive categories of one column, from its name and its (sampled, present) values."""
    words = _words(column)
    texts = [str(v).strip().lower() for v in values if isinstance(v, str)]
    found = []
    for category, spec in SENSITIVE.items():
        by = []
        share = None
        if words & spec.names:
            by.append("name")
        if spec.values and texts:
            hits = [t for t in texts if t in spec.values]
            share = len(hits) / len(texts)
            specific = set(hits) - _GENERIC
            if share >= MIN_VALUE_SHARE and len(set(hits)) >= 2 and (specific or "name" in by):
                by.append("values")
        if by:
            found.append(SensitiveColumn(column, category, spec.art9, tuple(by), share))
    return found
