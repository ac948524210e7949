"""Controls catalogues shipped with Assay as data: ISO/IEC 42001, NIST AI RMF 1.0, the EU AI Act and the 12 risks of
the NIST AI 600-1 Generative AI Profile.

The YAML files in ``assay/governance/data/`` use one schema (``assay.catalogue/1``); the crosswalk between
them (``assay.crosswalk/1``) is Assay's own mapping, not an official one. See ``docs/catalogues.md``.

Pure: the only I/O is reading the package's own data through :mod:`importlib.resources`. Everything is checked
at load time (unique ids, existing parents, no cycles, valid kinds and relations, resolvable crosswalk ends); a
bad file raises :class:`~assay.errors.IntegrityViolation` naming the file and the offending id.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

import yaml

from assay.errors import IntegrityViolation, NotFound

__all__ = [
    "CATALOGUE_SCHEMA",
    "CROSSWALK_SCHEMA",
    "KINDS",
    "RELATION_TYPES",
    "Catalogue",
    "Control",
    "Framework",
    "Relation",
    "crosswalk",
    "list_frameworks",
    "load_catalogue",
    "related",
]

CATALOGUE_SCHEMA: Final = "assay.catalogue/1"
CROSSWALK_SCHEMA: Final = "assay.crosswalk/1"
KINDS: Final = frozenset(
    {
        "clause",
        "section",
        "objective",
        "control",
        "function",
        "category",
        "subcategory",
        "article",
        "obligation",
        "annex",
        "annex-heading",
        "risk",
    }
)
RELATION_TYPES: Final = ("equal", "subset", "superset", "intersect")
_INVERSE: Final = {"equal": "equal", "subset": "superset", "superset": "subset", "intersect": "intersect"}
_PACKAGE: Final = "assay.governance"
_DATA_DIR: Final = "data"
_CROSSWALK_FILE: Final = "crosswalk.yaml"
_NOT_CATALOGUES: Final = frozenset({_CROSSWALK_FILE, "evidence-rules.yaml"})


@dataclass(frozen=True, slots=True)
class Framework:
    """A standard, framework or regulation that has a catalogue."""

    id: str
    name: str
    version: str
    source: str
    licence_note: str


@dataclass(frozen=True, slots=True)
class Control:
    """One entry of a catalogue: a clause, control, subcategory, obligation, heading or one of their groups."""

    framework: str
    id: str
    title: str
    kind: str
    parent: str | None = None
    text: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The global reference ``framework:id`` used by the crosswalk."""
        return f"{self.framework}:{self.id}"


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed link ``from_id`` *relation* ``to_id`` (e.g. A subset B: everything A asks, B asks too)."""

    from_framework: str
    from_id: str
    to_framework: str
    to_id: str
    relation: str
    note: str = ""

    @property
    def from_ref(self) -> str:
        return f"{self.from_framework}:{self.from_id}"

    @property
    def to_ref(self) -> str:
        return f"{self.to_framework}:{self.to_id}"

    def inverted(self) -> Relation:
        """The same link read backwards: ends swapped, subset and superset exchanged."""
        return Relation(
            from_framework=self.to_framework,
            from_id=self.to_id,
            to_framework=self.from_framework,
            to_id=self.from_id,
            relation=_INVERSE[self.relation],
            note=self.note,
        )


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The entries of one framework, in file order, with lookups by id (or alias) and by parent."""

    framework: Framework
    controls: tuple[Control, ...]
    _by_id: Mapping[str, Control] = field(init=False, repr=False, compare=False)
    _children: Mapping[str | None, tuple[Control, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Control] = {}
        for c in self.controls:
            by_id[c.id] = c
        for c in self.controls:
            for alias in c.aliases:
                by_id.setdefault(alias, c)
        children: dict[str | None, list[Control]] = {}
        for c in self.controls:
            children.setdefault(c.parent, []).append(c)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})

    def __len__(self) -> int:
        return len(self.controls)

    def __iter__(self) -> Iterator[Control]:
        return iter(self.controls)

    def __contains__(self, control_id: object) -> bool:
        return isinstance(control_id, str) and control_id in self._by_id

    def control(self, control_id: str) -> Control:
        """The entry with this id (or alias, e.g. ``GV-1.1``); :class:`NotFound` suggests close ids."""
        try:
            return self._by_id[control_id]
        except KeyError:
            raise NotFound(
                _not_found_message(
                    f"control {control_id!r} in {self.framework.id}", control_id, [c.id for c in self.controls]
                )
            ) from None

    def children(self, control_id: str) -> tuple[Control, ...]:
        """Direct children of an entry, in file order."""
        return self._children.get(self.control(control_id).id, ())

    def roots(self) -> tuple[Control, ...]:
        """Entries without a parent, in file order."""
        return self._children.get(None, ())

    def of_kind(self, kind: str) -> tuple[Control, ...]:
        """All entries of one kind (``control``, ``subcategory``, ...), in file order."""
        return tuple(c for c in self.controls if c.kind == kind)


def _not_found_message(what: str, wanted: str, known: list[str]) -> str:
    close = difflib.get_close_matches(wanted, known, n=5, cutoff=0.6)
    if not close:
        lowered = wanted.casefold()
        close = [k for k in known if lowered and lowered in k.casefold()][:5]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"no {what}{hint}"


# --- parsing and validation (private; take text so tests can feed corrupted files) -------------------------------


def _fail(source: str, message: str) -> IntegrityViolation:
    return IntegrityViolation(f"{source}: {message}")


def _load_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(source, f"not valid YAML ({exc})") from exc
    if not isinstance(doc, dict):
        raise _fail(source, "top level must be a mapping")
    return doc


def _str(mapping: Mapping[str, Any], key: str, source: str, where: str, *, optional: bool = False) -> str | None:
    value = mapping.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, f"{where}: field {key!r} must be a non-empty string")
    return value


def _req(mapping: Mapping[str, Any], key: str, source: str, where: str) -> str:
    value = _str(mapping, key, source, where)
    assert value is not None  # _str raises when a required field is missing
    return value


def _parse_catalogue(text: str, source: str) -> Catalogue:
    """Parse and validate one catalogue file; ``source`` names it in error messages."""
    doc = _load_yaml(text, source)
    if doc.get("schema") != CATALOGUE_SCHEMA:
        raise _fail(source, f"schema must be {CATALOGUE_SCHEMA!r}, got {doc.get('schema')!r}")
    fw = doc.get("framework")
    if not isinstance(fw, dict):
        raise _fail(source, "'framework' must be a mapping")
    framework = Framework(
        id=_req(fw, "id", source, "framework"),
        name=_req(fw, "name", source, "framework"),
        version=_req(fw, "version", source, "framework"),
        source=_req(fw, "source", source, "framework"),
        licence_note=_req(fw, "licence_note", source, "framework"),
    )
    entries = doc.get("controls")
    if not isinstance(entries, list) or not entries:
        raise _fail(source, "'controls' must be a non-empty list")
    controls: list[Control] = []
    seen: set[str] = set()
    for n, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise _fail(source, f"controls[{n}] must be a mapping")
        where = f"controls[{n}]"
        cid = raw.get("id")
        if isinstance(cid, str):
            where = f"id {cid!r}"
        control_id = _req(raw, "id", source, where)
        if control_id in seen:
            raise _fail(source, f"duplicate id {control_id!r}")
        seen.add(control_id)
        kind = _req(raw, "kind", source, where)
        if kind not in KINDS:
            raise _fail(source, f"id {control_id!r}: unknown kind {kind!r} (expected one of {sorted(KINDS)})")
        aliases = raw.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise _fail(source, f"id {control_id!r}: 'aliases' must be a list of strings")
        controls.append(
            Control(
                framework=framework.id,
                id=control_id,
                title=_req(raw, "title", source, where),
                kind=kind,
                parent=_str(raw, "parent", source, where, optional=True),
                text=_str(raw, "text", source, where, optional=True),
                aliases=tuple(aliases),
            )
        )
    by_id = {c.id: c for c in controls}
    for c in controls:
        for alias in c.aliases:
            if alias in by_id and by_id[alias] is not c:
                raise _fail(source, f"id {c.id!r}: alias {alias!r} clashes with another id")
        if c.parent is not None and c.parent not in by_id:
            raise _fail(source, f"id {c.id!r}: parent {c.parent!r} does not exist")
    for c in controls:  # parents form a forest: walking up must end
        steps, node = 0, c
        while node.parent is not None:
            node = by_id[node.parent]
            steps += 1
            if steps > len(controls):
                raise _fail(source, f"id {c.id!r}: parent chain forms a cycle")
    return Catalogue(framework=framework, controls=tuple(controls))


def _split_ref(ref: object, source: str, where: str) -> tuple[str, str]:
    if not isinstance(ref, str) or ":" not in ref:
        raise _fail(source, f"{where}: endpoint {ref!r} must look like 'framework:id'")
    framework_id, _, control_id = ref.partition(":")
    return framework_id.strip(), control_id.strip()


def _parse_crosswalk(text: str, source: str, catalogues: Mapping[str, Catalogue]) -> tuple[Relation, ...]:
    """Parse and validate a crosswalk file against the given catalogues (keyed by framework id)."""
    doc = _load_yaml(text, source)
    if doc.get("schema") != CROSSWALK_SCHEMA:
        raise _fail(source, f"schema must be {CROSSWALK_SCHEMA!r}, got {doc.get('schema')!r}")
    entries = doc.get("relations")
    if not isinstance(entries, list):
        raise _fail(source, "'relations' must be a list")
    relations: list[Relation] = []
    seen: set[tuple[str, str]] = set()
    for n, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise _fail(source, f"relations[{n}] must be a mapping")
        where = f"relations[{n}] ({raw.get('from')!r} -> {raw.get('to')!r})"
        ends: list[tuple[str, str]] = []
        for key in ("from", "to"):
            framework_id, control_id = _split_ref(raw.get(key), source, where)
            catalogue = catalogues.get(framework_id)
            if catalogue is None:
                raise _fail(source, f"{where}: unknown framework {framework_id!r}")
            if control_id not in catalogue:
                raise _fail(source, f"{where}: id {control_id!r} does not exist in {framework_id}")
            ends.append((framework_id, catalogue.control(control_id).id))
        relation = raw.get("relation")
        if relation not in RELATION_TYPES:
            raise _fail(source, f"{where}: relation {relation!r} is not one of {list(RELATION_TYPES)}")
        note = raw.get("note", "")
        if not isinstance(note, str):
            raise _fail(source, f"{where}: 'note' must be a string")
        (from_fw, from_id), (to_fw, to_id) = ends
        if (from_fw, from_id) == (to_fw, to_id):
            raise _fail(source, f"{where}: links an entry to itself")
        key_pair = (f"{from_fw}:{from_id}", f"{to_fw}:{to_id}")
        if key_pair in seen or key_pair[::-1] in seen:
            raise _fail(source, f"{where}: duplicate link")
        seen.add(key_pair)
        relations.append(Relation(from_fw, from_id, to_fw, to_id, str(relation), note))
    return tuple(relations)


# --- public API over the packaged data ----------------------------------------------------------------------------


def _read(name: str) -> str:
    return resources.files(_PACKAGE).joinpath(_DATA_DIR, name).read_text(encoding="utf-8")


@functools.cache
def _framework_ids() -> tuple[str, ...]:
    folder = resources.files(_PACKAGE).joinpath(_DATA_DIR)
    names = (entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    return tuple(sorted(n.removesuffix(".yaml") for n in names if n not in _NOT_CATALOGUES))


@functools.cache
def load_catalogue(framework_id: str) -> Catalogue:
    """The validated catalogue of one framework (``iso42001``, ``nist-ai-rmf``, ``eu-ai-act``, ``nist-ai-600-1``);
    cached."""
    known = _framework_ids()
    if framework_id not in known:
        raise NotFound(_not_found_message(f"framework {framework_id!r}", framework_id, list(known)))
    name = f"{framework_id}.yaml"
    catalogue = _parse_catalogue(_read(name), name)
    if catalogue.framework.id != framework_id:
        raise IntegrityViolation(f"{name}: framework.id is {catalogue.framework.id!r}, expected {framework_id!r}")
    return catalogue


def list_frameworks() -> tuple[Framework, ...]:
    """Every framework that ships with a catalogue, sorted by id."""
    return tuple(load_catalogue(fid).framework for fid in _framework_ids())


@functools.cache
def crosswalk() -> tuple[Relation, ...]:
    """All links of Assay's own crosswalk, validated against the catalogues."""
    catalogues = {fid: load_catalogue(fid) for fid in _framework_ids()}
    return _parse_crosswalk(_read(_CROSSWALK_FILE), _CROSSWALK_FILE, catalogues)


def related(framework_id: str, control_id: str) -> list[tuple[Relation, Control]]:
    """Entries linked to one entry, in both directions.

    Each result is oriented from the asked entry: a link stored as ``X subset Y`` is returned, when asked
    about ``Y``, as ``Y superset X``.
    """
    own = load_catalogue(framework_id).control(control_id)
    found: list[tuple[Relation, Control]] = []
    for rel in crosswalk():
        if (rel.from_framework, rel.from_id) == (own.framework, own.id):
            found.append((rel, load_catalogue(rel.to_framework).control(rel.to_id)))
        elif (rel.to_framework, rel.to_id) == (own.framework, own.id):
            back = rel.inverted()
            found.append((back, load_catalogue(back.to_framework).control(back.to_id)))
    return found
