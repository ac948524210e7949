"""Internal audit (ISO/IEC 42001 9.2), nonconformity and corrective action (10.2) and management review (9.3) as
pure rules, without storage: how criteria and record references are written and checked, the auditor's
independence, the states a nonconformity moves through, and the bound on the lists a review's inputs carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from assay.errors import InvalidInput
from assay.governance.readiness import resolve_control

__all__ = [
    "AUDIT_FRAMEWORK",
    "LIST_CAP",
    "RECORD_TYPES",
    "Independence",
    "bounded",
    "control_ids",
    "independence_problem",
    "overdue",
    "parse_ref",
    "text",
]

AUDIT_FRAMEWORK: Final = "iso42001"  # an audit's scope names clauses of this catalogue
# the record types a finding (or a nonconformity's source) may point at as ``TYPE:ID``; ``system`` takes the name
RECORD_TYPES: Final = (
    "system",
    "model",
    "model_version",
    "dataset",
    "assessment",
    "risk",
    "incident",
    "impact_assessment",
    "evidence",
    "gate",
    "alert",
    "monitor",
    "audit",
    "finding",
    "nonconformity",
    "action",
    "review",
    "document",
    "objective",
)
LIST_CAP: Final = 20  # a review input's list keeps at most this many refs; its "total" says how many there were


def text(field: str, value: str, *, limit: int, required: bool = True) -> str:
    """``value`` stripped; :class:`InvalidInput` naming the field when it is empty (and required) or too long."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is empty: give a text")
    if len(value) > limit:
        raise InvalidInput(f"{field} is {len(value)} characters long: at most {limit}")
    return value


def control_ids(field: str, ids: Iterable[str]) -> list[str]:
    """``FRAMEWORK:CONTROL`` ids checked against the catalogues (an alias resolves to its entry), without duplicates,
    in the order given; :class:`InvalidInput` names the field, the id and the close ids."""
    out: list[str] = []
    for raw in ids:
        framework, sep, control = raw.strip().partition(":")
        if not sep or not framework or not control:
            raise InvalidInput(f"{field}: {raw!r} is not FRAMEWORK:CONTROL (e.g. iso42001:A.6.2.4)")
        try:
            entry = resolve_control(framework, control)
        except InvalidInput as exc:
            raise InvalidInput(f"{field}: {exc}") from None
        canonical = f"{framework}:{entry.id}"
        if canonical not in out:
            out.append(canonical)
    return out


def parse_ref(field: str, ref: str, types: Sequence[str] = RECORD_TYPES) -> tuple[str, str]:
    """``TYPE:ID`` split into its type (one of ``types``) and its id (a positive whole number, except a system's,
    which is its name); :class:`InvalidInput` names the field and the reference."""
    kind, sep, ident = ref.strip().partition(":")
    if not sep or not ident.strip():
        raise InvalidInput(f"{field}: {ref!r} is not TYPE:ID (types: {', '.join(types)})")
    kind, ident = kind.strip().lower(), ident.strip()
    if kind not in types:
        raise InvalidInput(f"{field}: unknown record type {kind!r} in {ref!r} (types: {', '.join(types)})")
    if kind != "system" and not (ident.isdigit() and int(ident) > 0):
        raise InvalidInput(f"{field}: the id in {ref!r} must be a positive whole number")
    return kind, ident


@dataclass(frozen=True)
class Independence:
    """What an auditor is responsible for: the areas of the governance roles they hold, and the AI systems they
    hold a role for, own or belong to the team of (by name, each with why)."""

    areas: frozenset[str]
    systems: dict[str, str]


def _area_key(area: str) -> str:
    return " ".join(area.lower().split())


def independence_problem(auditor: str, area: str, scope_systems: Iterable[str], held: Independence) -> str | None:
    """Why ``auditor`` may not audit ``area`` and the AI systems ``scope_systems`` (ISO/IEC 42001 9.2.2: auditors
    are objective and impartial, so nobody audits their own area): the audit's area is an area of a governance role
    they hold, or a system in scope is one they hold a role for, own or work on. ``None`` when independent."""
    if area.strip() and _area_key(area) in {_area_key(a) for a in held.areas if a.strip()}:
        return f"{auditor} holds a governance role for the area {area!r}: an auditor may not audit their own area"
    for system in scope_systems:
        why = held.systems.get(system.lower())
        if why is not None:
            return f"{auditor} {why} {system!r}, which is in the audit's scope: an auditor may not audit their own area"
    return None


def bounded(refs: Sequence[str], cap: int = LIST_CAP) -> dict[str, Any]:
    """A list of refs kept to ``cap`` items: ``{"refs": [...], "total": N}`` (``total`` > len(refs) when cut)."""
    return {"refs": list(refs[:cap]), "total": len(refs)}


def overdue(due: dt.date | None, status: str, today: dt.date) -> bool:
    """An open action (or nonconformity) whose due date has passed."""
    return status == "open" and due is not None and due < today
