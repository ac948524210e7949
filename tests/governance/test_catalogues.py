"""The packaged controls catalogues: counts, fidelity to the shared standards files, licence position,
crosswalk integrity, lookups and load-time validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assay.errors import IntegrityViolation, NotFound
from assay.governance import (
    RELATION_TYPES,
    Catalogue,
    Relation,
    crosswalk,
    list_frameworks,
    load_catalogue,
    related,
)
from assay.governance.catalogues import _parse_catalogue, _parse_crosswalk

FRAMEWORKS = ("eu-ai-act", "iso42001", "nist-ai-600-1", "nist-ai-rmf")


def _ws(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def standards(shared_data: Path) -> Path:
    folder = shared_data.parent / "standards"
    if not folder.is_dir():
        pytest.skip(f"shared standards folder not found at {folder}")
    return folder


def _read(folder: Path, name: str) -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


# --- what ships ------------------------------------------------------------------------------------------------------


def test_frameworks_listed() -> None:
    assert tuple(f.id for f in list_frameworks()) == FRAMEWORKS
    for fw in list_frameworks():
        assert fw.name and fw.version and fw.source and fw.licence_note


def test_load_is_cached() -> None:
    assert load_catalogue("iso42001") is load_catalogue("iso42001")


def test_iso42001_counts() -> None:
    cat = load_catalogue("iso42001")
    controls = cat.of_kind("control")
    objectives = cat.of_kind("objective")
    assert len(controls) == 38
    assert len(objectives) == 10
    assert {c.id for c in cat.roots() if c.kind == "clause"} == {str(n) for n in range(4, 11)}
    assert all(c.parent is not None and cat.control(c.parent).kind == "objective" for c in controls)
    assert sum(len(cat.children(o.id)) for o in objectives) == 38
    assert [c.id for c in cat.children("6.1")] == ["6.1.1", "6.1.2", "6.1.3", "6.1.4"]
    assert [c.id for c in cat.children("A.6")] == ["A.6.1", "A.6.2"]


def test_no_iso_control_text() -> None:
    cat = load_catalogue("iso42001")
    assert all(c.text is None for c in cat if c.kind in {"control", "clause", "section"})
    # only the objectives carry text, and that text is Assay's own paraphrase (checked against the source below)
    assert all(c.text for c in cat.of_kind("objective"))
    assert "paraphrase" in cat.framework.licence_note


def test_nist_counts() -> None:
    cat = load_catalogue("nist-ai-rmf")
    functions = cat.of_kind("function")
    categories = cat.of_kind("category")
    subcategories = cat.of_kind("subcategory")
    assert [f.id for f in functions] == ["GOVERN", "MAP", "MEASURE", "MANAGE"]
    assert len(categories) == 19
    assert len(subcategories) == 72
    assert all(cat.control(c.parent or "").kind == "function" for c in categories)
    assert all(cat.control(s.parent or "").kind == "category" for s in subcategories)
    assert all(s.text for s in subcategories)
    assert cat.control("GV-1.1") is cat.control("GOVERN 1.1")  # short-code aliases resolve


def test_nist_ai_600_1_counts() -> None:
    cat = load_catalogue("nist-ai-600-1")
    assert len(cat) == 12 and len(cat.of_kind("risk")) == 12
    assert all(r.parent is None and r.text for r in cat)  # twelve top-level risks, each with our paraphrase
    assert cat.control("CONF") is cat.control("confabulation")  # the short keys are aliases
    assert cat.control("intellectual-property").title == "Intellectual Property"
    assert "paraphrase" in cat.framework.licence_note and "public domain" in cat.framework.licence_note
    # its links go to the AI RMF only, and none carries evidence: a risk is not a subcategory
    links = [r for r in crosswalk() if "nist-ai-600-1" in (r.from_framework, r.to_framework)]
    assert len(links) >= 8 and all(r.relation == "intersect" and r.to_framework == "nist-ai-rmf" for r in links)
    assert ("intersect", "nist-ai-rmf:MEASURE 2.10") in {
        (r.relation, c.ref) for r, c in related("nist-ai-600-1", "PRIV")
    }


def test_eu_ai_act_counts() -> None:
    cat = load_catalogue("eu-ai-act")
    assert [a.id for a in cat.of_kind("article")] == [f"Art. {n}" for n in range(9, 16)]
    for article in cat.of_kind("article"):
        assert cat.children(article.id), article.id
        assert all(c.kind == "obligation" for c in cat.children(article.id))
    headings = cat.children("Annex IV")
    assert len(headings) == 9
    assert [h.id for h in headings] == [f"Annex IV.{n}" for n in range(1, 10)]
    assert all(h.kind == "annex-heading" for h in headings)


# --- fidelity to the shared research files ---------------------------------------------------------------------------


@pytest.mark.realdata
def test_iso42001_matches_shared(standards: Path) -> None:
    cat = load_catalogue("iso42001")
    clauses = _read(standards, "iso42001-clauses.yaml")["clauses"]
    expected: dict[str, str] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for n in nodes:
            expected[str(n["id"])] = n["title"]
            walk(n.get("subclauses", []))

    walk(clauses)
    assert {c.id: c.title for c in cat.of_kind("clause")} == expected

    annex = _read(standards, "iso42001-annex-a.yaml")
    objectives = {o["id"]: o for o in annex["objectives"]}
    assert {o.id: o.title for o in cat.of_kind("objective")} == {k: o["title"] for k, o in objectives.items()}
    for o in cat.of_kind("objective"):
        assert o.text == _ws(objectives[o.id]["objective"])
    shared_controls = {c["id"]: (c["title"], o["id"]) for o in annex["objectives"] for c in o["controls"]}
    assert {c.id: (c.title, c.parent) for c in cat.of_kind("control")} == shared_controls
    assert len(shared_controls) == annex["counts"]["controls"] == 38


@pytest.mark.realdata
def test_nist_matches_shared(standards: Path) -> None:
    cat = load_catalogue("nist-ai-rmf")
    doc = _read(standards, "nist-ai-rmf.yaml")
    functions = {f["name"]: f for f in doc["functions"]}
    assert [f.id for f in cat.of_kind("function")] == list(functions)
    categories = {c["nist_ref"]: (c["text"], c["id"]) for f in doc["functions"] for c in f["categories"]}
    subs = {
        s["nist_ref"]: (s["text"], s["id"])
        for f in doc["functions"]
        for c in f["categories"]
        for s in c["subcategories"]
    }
    assert {c.id: (c.title, c.aliases[0]) for c in cat.of_kind("category")} == categories
    assert {s.id: (s.title, s.aliases[0]) for s in cat.of_kind("subcategory")} == subs
    assert all(s.text == _ws(subs[s.id][0]) for s in cat.of_kind("subcategory"))
    assert len(subs) == doc["counts"]["subcategories"]


@pytest.mark.realdata
def test_nist_ai_600_1_matches_shared(standards: Path) -> None:
    cat = load_catalogue("nist-ai-600-1")
    doc = _read(standards, "nist-ai-600-1-risks.yaml")
    shared = [(r["key"], r["name"], _ws(r["summary"])) for r in doc["risks"]]
    assert [(c.aliases[0], c.title, c.text) for c in cat] == shared
    assert len(shared) == 12


@pytest.mark.realdata
def test_eu_ai_act_matches_shared(standards: Path) -> None:
    cat = load_catalogue("eu-ai-act")
    doc = _read(standards, "eu-ai-act.yaml")
    for art in doc["high_risk_requirements_arts_9_15"]:
        entry = cat.control(f"Art. {art['article']}")
        assert entry.title == art["title"]
        assert [c.title for c in cat.children(entry.id)] == [_ws(o) for o in art["obligations"]]
    headings = [_ws(s["heading"]) for s in doc["annex_iv_technical_documentation"]]
    assert [h.title for h in cat.children("Annex IV")] == headings
    annex_iv = next(a for a in doc["annexes"] if a["annex"] == "IV")
    assert cat.control("Annex IV").title == annex_iv["title"]


# --- crosswalk ------------------------------------------------------------------------------------------------------


def test_crosswalk_endpoints_resolve() -> None:
    links = crosswalk()
    assert len(links) >= 25
    frameworks_linked = set()
    for rel in links:
        assert rel.relation in RELATION_TYPES
        assert rel.from_framework != rel.to_framework
        load_catalogue(rel.from_framework).control(rel.from_id)
        load_catalogue(rel.to_framework).control(rel.to_id)
        frameworks_linked.add(frozenset({rel.from_framework, rel.to_framework}))
    pairs = {
        frozenset(p) for p in (("iso42001", "nist-ai-rmf"), ("iso42001", "eu-ai-act"), ("nist-ai-rmf", "eu-ai-act"))
    }
    assert pairs <= frameworks_linked  # every pair of the three is linked somewhere
    assert frozenset({"nist-ai-600-1", "nist-ai-rmf"}) in frameworks_linked


def test_crosswalk_marked_as_own_mapping() -> None:
    from importlib import resources

    text = resources.files("assay.governance").joinpath("data", "crosswalk.yaml").read_text(encoding="utf-8")
    status = yaml.safe_load(text)["status"]
    assert "Assay's own mapping" in status
    assert "NOT an official" in status


def test_related_forward_and_backward() -> None:
    forward = related("iso42001", "A.5.4")
    targets = {(rel.relation, c.ref) for rel, c in forward}
    assert ("subset", "nist-ai-rmf:MAP 5") in targets
    backward = related("nist-ai-rmf", "MAP 5")
    rel, control = next((r, c) for r, c in backward if c.ref == "iso42001:A.5.4")
    assert rel.relation == "superset"  # subset read backwards
    assert (rel.from_framework, rel.from_id) == ("nist-ai-rmf", "MAP 5")
    assert control.title == "Assessing AI system impact on individuals or groups of individuals"
    # symmetric relations stay as they are, and the link is found from both ends
    both = [c.ref for _, c in related("eu-ai-act", "Art. 12.ob1")]
    assert "iso42001:A.6.2.8" in both
    assert any(c.ref == "eu-ai-act:Art. 12.ob1" for _, c in related("iso42001", "A.6.2.8"))
    # aliases resolve to the canonical id
    assert related("nist-ai-rmf", "MS-2.11") == related("nist-ai-rmf", "MEASURE 2.11")


def test_relation_inversion() -> None:
    rel = Relation("a", "1", "b", "2", "subset", "n")
    assert rel.inverted() == Relation("b", "2", "a", "1", "superset", "n")
    assert rel.inverted().inverted() == rel
    assert Relation("a", "1", "b", "2", "intersect").inverted().relation == "intersect"
    assert rel.from_ref == "a:1" and rel.to_ref == "b:2"


# --- errors ---------------------------------------------------------------------------------------------------------


def test_not_found_suggests_close_ids() -> None:
    with pytest.raises(NotFound, match=r"A\.6\.2\.44.*did you mean.*'A\.6\.2\.4'"):
        load_catalogue("iso42001").control("A.6.2.44")
    with pytest.raises(NotFound, match=r"did you mean.*'MEASURE 2\.11'"):
        load_catalogue("nist-ai-rmf").control("MEASURE 2.111")
    with pytest.raises(NotFound, match=r"framework 'iso-42001'.*'iso42001'"):
        load_catalogue("iso-42001")
    with pytest.raises(NotFound):
        related("eu-ai-act", "Art. 99")
    with pytest.raises(LookupError):  # NotFound is a LookupError
        load_catalogue("eu-ai-act").children("Annex V")


GOOD = """
schema: assay.catalogue/1
framework: {id: demo, name: Demo, version: '1', source: test, licence_note: none}
controls:
  - {id: S, title: Section, kind: section, parent: null}
  - {id: S.1, title: One, kind: control, parent: S}
"""


def test_private_parser_accepts_good_catalogue() -> None:
    cat = _parse_catalogue(GOOD, "demo.yaml")
    assert isinstance(cat, Catalogue)
    assert [c.id for c in cat.children("S")] == ["S.1"]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD.replace("id: S.1", "id: S"), r"bad\.yaml: duplicate id 'S'"),
        (GOOD.replace("parent: S}", "parent: X}"), r"bad\.yaml: id 'S\.1': parent 'X' does not exist"),
        (GOOD.replace("kind: control", "kind: widget"), r"bad\.yaml: id 'S\.1': unknown kind 'widget'"),
        (GOOD.replace("title: One, ", ""), r"bad\.yaml: id 'S\.1': field 'title'"),
        (GOOD.replace("parent: null", "parent: S.1"), r"bad\.yaml: id 'S(\.1)?': parent chain forms a cycle"),
        (GOOD.replace("assay.catalogue/1", "other/9"), r"bad\.yaml: schema"),
        ("controls: [unclosed", r"bad\.yaml: not valid YAML"),
    ],
)
def test_corrupted_catalogue_raises(tmp_path: Path, broken: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(IntegrityViolation, match=message):
        _parse_catalogue(path.read_text(encoding="utf-8"), path.name)


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("{from: 'demo:S.1', to: 'demo:S.9', relation: equal}", r"id 'S\.9' does not exist in demo"),
        ("{from: 'demo:S.1', to: 'nope:S', relation: equal}", r"unknown framework 'nope'"),
        ("{from: 'demo:S.1', to: 'demo:S', relation: cousin}", r"relation 'cousin' is not one of"),
        ("{from: 'S.1', to: 'demo:S', relation: equal}", r"must look like 'framework:id'"),
    ],
)
def test_corrupted_crosswalk_raises(tmp_path: Path, link: str, message: str) -> None:
    cat = _parse_catalogue(GOOD, "demo.yaml")
    path = tmp_path / "crosswalk.yaml"
    path.write_text(f"schema: assay.crosswalk/1\nrelations:\n  - {link}\n", encoding="utf-8")
    with pytest.raises(IntegrityViolation, match=rf"crosswalk\.yaml: .*{message}"):
        _parse_crosswalk(path.read_text(encoding="utf-8"), path.name, {"demo": cat})
