"""The rules of the management system's organisational records (ISO/IEC 42001 4.1-4.3, 5.2, 5.3, 7.5, A.3.2), pure
and without storage: the scope's exclusions and how two scope versions differ, where a document's content is, when
a document is next reviewed, and which disciplines an AI system's team covers (the gate rule ``team`` of
:mod:`assay.governance.policy` judges the same :func:`coverage`)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from assay.errors import InvalidInput
from assay.governance.aims import DISCIPLINES

__all__ = [
    "REQUIRED_DISCIPLINES",
    "add_months",
    "coverage",
    "disciplines",
    "exclusions",
    "location",
    "scope_diff",
    "text",
    "texts",
]

# what a high-risk system's team covers when its policy names no other set (the default high-risk policy's `team`)
REQUIRED_DISCIPLINES: Final = ("data-science", "engineering", "legal", "domain")
_ARTIFACT: Final = re.compile(r"^artifact:[0-9a-f]{64}$")


def text(field: str, value: object, *, limit: int, required: bool = True) -> str:
    """``value`` stripped, when it is a string of at most ``limit`` characters (and not blank when ``required``)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is empty: give a value")
    if len(value) > limit:
        raise InvalidInput(f"{field} has {len(value)} characters, more than the limit of {limit}")
    return value


def texts(field: str, values: Iterable[Any] | None, *, limit: int = 300) -> list[str]:
    """A list of non-blank texts (duplicates dropped, order kept)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for i, value in enumerate(values):
        item = text(f"{field}[{i}]", value, limit=limit)
        if item not in out:
            out.append(item)
    return out


def disciplines(field: str, values: Iterable[str] | None, *, required: bool = True) -> list[str]:
    """Known disciplines (:data:`~assay.governance.aims.DISCIPLINES`), each once, in the vocabulary's order."""
    given = [values] if isinstance(values, str) else list(values or [])
    unknown = [v for v in given if v not in DISCIPLINES]
    if unknown:
        raise InvalidInput(f"{field}: unknown discipline {unknown[0]!r} (known: {', '.join(DISCIPLINES)})")
    if required and not given:
        raise InvalidInput(f"{field} is empty: give at least one of {', '.join(DISCIPLINES)}")
    return [d for d in DISCIPLINES if d in given]


def exclusions(values: Iterable[Any] | None) -> list[dict[str, str]]:
    """What the scope leaves out, each ``{"what", "why"}``: an exclusion without a reason is refused (ISO/IEC 42001
    4.3 asks the organisation to justify what it excludes)."""
    out: list[dict[str, str]] = []
    for i, item in enumerate(values or []):
        if not isinstance(item, Mapping) or set(item) - {"what", "why"}:
            raise InvalidInput(f"scope.exclusions[{i}] must be {{'what': ..., 'why': ...}}, not {item!r}")
        what = text(f"scope.exclusions[{i}].what", item.get("what", ""), limit=300)
        why = item.get("why", "")
        if not isinstance(why, str) or not why.strip():
            raise InvalidInput(f"scope.exclusions[{i}].why: {what!r} is excluded without a reason: say why it is out")
        out.append({"what": what, "why": text(f"scope.exclusions[{i}].why", why, limit=2000)})
    return out


def scope_diff(before: Sequence[str], after: Sequence[str]) -> dict[str, list[str]]:
    """The AI systems a new scope version brings in (``added``) and takes out (``removed``)."""
    return {"added": [s for s in after if s not in before], "removed": [s for s in before if s not in after]}


def location(field: str, value: str) -> str:
    """Where a document's content is: ``artifact:SHA256`` (a file in the artifact store) or an http(s) URL."""
    value = value.strip()
    if _ARTIFACT.match(value):
        return value
    parts = urlsplit(value)
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not any(c.isspace() for c in value):
        if len(value) > 1000:
            raise InvalidInput(f"{field} has {len(value)} characters, more than the limit of 1000")
        return value
    raise InvalidInput(
        f"{field} {value!r} is neither artifact:SHA256 (a file in the artifact store) nor an http(s) URL "
        "(write https://host/path, or give the file)"
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day when it has fewer)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def coverage(members: Mapping[str, Sequence[str]], required: Sequence[str]) -> dict[str, Any]:
    """Which of the ``required`` disciplines a team (``person -> disciplines``) covers, by whom, and which are
    missing: ``{"required", "covered": {discipline: [persons]}, "missing", "other": {discipline: [persons]}}``."""
    by: dict[str, list[str]] = {}
    for person in sorted(members):
        for discipline in members[person]:
            by.setdefault(discipline, []).append(person)
    return {
        "required": list(required),
        "covered": {d: by[d] for d in required if d in by},
        "missing": [d for d in required if d not in by],
        "other": {d: by[d] for d in DISCIPLINES if d in by and d not in required},
    }
