"""Control status, evidence and readiness as domain rules, without storage.

* **Which entries are assessed.** A catalogue's *leaf* entries (entries with no children): for ISO/IEC 42001 the
  32 most specific clauses of 4–10 (``4.1`` … ``10.2``; a heading such as ``6.1`` or ``9.2`` is the sum of its
  sub-clauses and is not counted again) and the 38 Annex A controls (their objectives and the ``A.6`` section
  are groups); for the NIST AI RMF the 72 subcategories; for the EU AI Act the 32 obligations and the 9 Annex IV
  headings. A status is kept for these entries only; evidence may also be attached to a group.
* **Current evidence.** Valid on the day: ``valid_from <= day <= valid_until`` (no ``valid_until``: no end), and
  not revoked. Revoked evidence (withdrawn: attached by mistake, or no longer true) never counts, whatever the day:
  its state is ``revoked``.
* **Which evidence counts for an entry** (:func:`covering`). Its own, and the evidence of every entry that asks
  for at least everything it asks for: an entry related to it by ``equal``, an entry it is a ``subset`` of
  (read from it: ``X subset Y`` means everything X asks, Y asks too, so evidence that Y is met shows that X is),
  and its parent group (a member asks for part of what its group asks), followed transitively. Evidence never
  flows the other way (from X to a Y it is a subset of, or from a member to its group), and ``intersect`` links
  never carry evidence: each side asks for something the other does not.
* **Ready** (:func:`evaluate`). Applicable, implementation ``implemented``, and at least one current piece of
  evidence (its own or counted through :func:`covering`). An excluded entry has no gaps and is not counted. An
  entry whose every piece of evidence was revoked has the gap ``evidence_revoked`` (not ``no_evidence``: the
  withdrawn items are still listed).
* **Generative systems only** (:data:`GENERATIVE_ONLY`). The NIST AI 600-1 profile lists the risks of generative AI:
  for a system not marked generative none of its entries applies (:func:`framework_applies` says why), so readiness
  of every system against it counts generative systems only, and a system asked about by name that is not generative
  has every entry excluded with that reason rather than a list of gaps it could never close.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from assay.errors import InvalidInput, NotFound
from assay.governance.catalogues import Catalogue, Control, Relation, crosswalk, list_frameworks, load_catalogue

__all__ = [
    "COUNTING_RELATIONS",
    "GAP_KINDS",
    "GENERATIVE_ONLY",
    "SOA_FRAMEWORK",
    "Coverage",
    "assessed_entries",
    "catalogue_of",
    "covering",
    "evaluate",
    "evidence_state",
    "framework_applies",
    "resolve_control",
    "share",
    "soa_controls",
]

SOA_FRAMEWORK: Final = "iso42001"
# Read from the entry asked about: "X equal Y" and "X subset Y" let Y's evidence count for X.
COUNTING_RELATIONS: Final = ("equal", "subset")
GAP_KINDS: Final = (
    "not_implemented",
    "no_evidence",
    "evidence_revoked",
    "evidence_expired",
    "evidence_not_yet_valid",
    "stale_approval",
)


#: Frameworks whose entries apply to generative AI systems only.
GENERATIVE_ONLY: Final = frozenset({"nist-ai-600-1"})


def framework_applies(framework: str, system: str, *, generative: bool) -> str | None:
    """``None`` when ``framework`` applies to the system, else the reason it does not (a justification)."""
    if framework in GENERATIVE_ONLY and not generative:
        return (
            f"{framework} covers the risks of generative AI and {system} is not marked generative "
            f"(assay system update {system} --generative, if it is)"
        )
    return None


def catalogue_of(framework: str) -> Catalogue:
    """The framework's catalogue; :class:`InvalidInput` names an unknown framework and lists the known ones."""
    try:
        return load_catalogue(framework)
    except NotFound:
        known = ", ".join(f.id for f in list_frameworks())
        raise InvalidInput(f"unknown framework {framework!r} (known: {known})") from None


def resolve_control(framework: str, control_id: str) -> Control:
    """The catalogue entry (an alias resolves to its entry); :class:`InvalidInput` names an unknown framework or
    id and suggests close ids."""
    catalogue = catalogue_of(framework)
    try:
        return catalogue.control(control_id)
    except NotFound as exc:
        raise InvalidInput(str(exc)) from None


@functools.cache
def assessed_entries(framework: str) -> tuple[Control, ...]:
    """The entries readiness counts and a status is kept for: the catalogue's leaves, in document order."""
    catalogue = catalogue_of(framework)
    return tuple(c for c in catalogue if not catalogue.children(c.id))


def soa_controls() -> tuple[Control, ...]:
    """The rows of a Statement of Applicability: the 38 ISO/IEC 42001 Annex A controls, in document order."""
    return load_catalogue(SOA_FRAMEWORK).of_kind("control")


def evidence_state(valid_from: dt.date, valid_until: dt.date | None, day: dt.date, *, revoked: bool = False) -> str:
    """``revoked`` (withdrawn: on any day), else ``current``, ``expired`` (``valid_until`` has passed) or
    ``not_yet_valid`` (``valid_from`` is later)."""
    if revoked:
        return "revoked"
    if valid_until is not None and valid_until < day:
        return "expired"
    if day < valid_from:
        return "not_yet_valid"
    return "current"


@dataclass(frozen=True)
class Coverage:
    """An entry whose evidence counts for another, and the chain of links that says why."""

    framework: str
    control_id: str
    path: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.control_id}"


def _oriented(relations: Iterable[Relation], framework: str, control_id: str) -> Iterable[Relation]:
    for rel in relations:
        if (rel.from_framework, rel.from_id) == (framework, control_id):
            yield rel
        elif (rel.to_framework, rel.to_id) == (framework, control_id):
            yield rel.inverted()


def covering(framework: str, control_id: str, relations: Sequence[Relation] | None = None) -> tuple[Coverage, ...]:
    """Every other entry whose evidence counts for this one (see the module's docstring), nearest first.

    ``relations`` defaults to Assay's crosswalk; pass others to reason about a mapping of your own.
    """
    if relations is None:
        return _covering_asked(framework, control_id)
    own = resolve_control(framework, control_id)
    return _covering(own.framework, own.id, tuple(relations))


@functools.cache
def _covering_asked(framework: str, control_id: str) -> tuple[Coverage, ...]:
    """:func:`covering` over the crosswalk by the names asked (readiness asks for every entry of every system)."""
    own = resolve_control(framework, control_id)
    return _covering_default(own.framework, own.id)


@functools.cache
def _covering_default(framework: str, control_id: str) -> tuple[Coverage, ...]:
    return _covering(framework, control_id, crosswalk())


def _covering(framework: str, control_id: str, relations: tuple[Relation, ...]) -> tuple[Coverage, ...]:
    start = (framework, control_id)
    seen = {start}
    queue: list[tuple[tuple[str, str], tuple[str, ...]]] = [(start, ())]
    found: list[Coverage] = []
    while queue:
        (fw, cid), path = queue.pop(0)
        steps: list[tuple[tuple[str, str], str]] = []
        parent = load_catalogue(fw).control(cid).parent
        if parent is not None:
            steps.append(((fw, parent), f"{fw}:{cid} is part of {fw}:{parent}"))
        for rel in _oriented(relations, fw, cid):
            if rel.relation in COUNTING_RELATIONS:
                steps.append(((rel.to_framework, rel.to_id), f"{rel.from_ref} {rel.relation} {rel.to_ref}"))
        for node, step in steps:
            if node in seen:
                continue
            seen.add(node)
            found.append(Coverage(node[0], node[1], (*path, step)))
            queue.append((node, (*path, step)))
    return tuple(found)


def evaluate(*, applicable: bool, implementation: str, evidence: Sequence[Mapping[str, Any]]) -> tuple[bool, list[str]]:
    """(ready, gap kinds) of one entry; ``evidence`` items carry ``state`` (see :func:`evidence_state`), own and
    counted evidence alike."""
    if not applicable:
        return False, []
    gaps: list[str] = []
    if implementation != "implemented":
        gaps.append("not_implemented")
    every = {item["state"] for item in evidence}
    states = every - {"revoked"}
    if not every:
        gaps.append("no_evidence")
    elif not states:
        gaps.append("evidence_revoked")
    elif "current" not in states:
        gaps.append("evidence_expired" if "expired" in states else "evidence_not_yet_valid")
    return not gaps, gaps


def share(ready: int, applicable: int) -> float | None:
    """ready / applicable, or ``None`` when nothing is applicable."""
    return None if applicable == 0 else ready / applicable
