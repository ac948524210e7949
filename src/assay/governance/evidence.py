"""Evidence rules: which controls a result document serves as evidence for, linked automatically.

The rules are data (``data/evidence-rules.yaml``, schema ``assay.evidence-rules/1``); every control they name is
checked against the catalogues when they are loaded. A rule applies to a document when every condition of its
``when`` holds: ``schema`` (the document's schema name), ``predictions`` (the assessment used a predicted
label or a score) and ``monitor`` (a monitor's run on a window of a deployed model's data recorded it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import yaml

from assay.errors import IntegrityViolation, NotFound
from assay.governance.catalogues import load_catalogue

__all__ = ["EVIDENCE_SCHEMA", "EvidenceLink", "EvidenceRule", "controls_for", "evidence_rules"]

EVIDENCE_SCHEMA: Final = "assay.evidence-rules/1"
_CONDITIONS: Final = {"schema", "predictions", "monitor"}


@dataclass(frozen=True)
class EvidenceLink:
    """A control that a document is evidence for, with the rule and the reason."""

    rule: str
    framework: str
    control: str
    reason: str


@dataclass(frozen=True)
class EvidenceRule:
    id: str
    description: str
    when: Mapping[str, Any]
    serves: tuple[EvidenceLink, ...]

    def applies(self, document: Mapping[str, Any]) -> bool:
        if "schema" in self.when and document.get("schema") != self.when["schema"]:
            return False
        if "monitor" in self.when and bool(document.get("monitor")) != bool(self.when["monitor"]):
            return False
        if "predictions" in self.when:
            spec = document.get("spec") or {}
            predicts = bool(spec.get("predicted") or spec.get("score"))
            if predicts != bool(self.when["predictions"]):
                return False
        return True


def _fail(source: str, message: str) -> IntegrityViolation:
    return IntegrityViolation(f"{source}: {message}")


def _parse_rules(text: str, source: str) -> tuple[EvidenceRule, ...]:
    """Parse and validate evidence rules; every control must exist in its catalogue."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(source, f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") != EVIDENCE_SCHEMA:
        raise _fail(source, f"schema must be {EVIDENCE_SCHEMA!r}")
    rules = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.get("rules") or []):
        where = f"rules[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise _fail(source, f"{where}: each rule needs an 'id'")
        rule_id = raw["id"]
        if rule_id in seen:
            raise _fail(source, f"{where}: rule id {rule_id!r} is given twice")
        seen.add(rule_id)
        when = raw.get("when") or {}
        unknown = set(when) - _CONDITIONS
        if unknown:
            raise _fail(
                source, f"rule {rule_id!r}: unknown condition {sorted(unknown)[0]!r} (known: {sorted(_CONDITIONS)})"
            )
        links = []
        for item in raw.get("serves") or []:
            ref = item.get("control") if isinstance(item, dict) else None
            if not isinstance(ref, str) or ":" not in ref:
                raise _fail(source, f"rule {rule_id!r}: control {ref!r} must be 'framework:control-id'")
            framework, control = (part.strip() for part in ref.split(":", 1))
            try:
                load_catalogue(framework).control(control)
            except NotFound as exc:
                raise _fail(source, f"rule {rule_id!r}: {exc}") from exc
            links.append(EvidenceLink(rule_id, framework, control, str(item.get("reason", ""))))
        if not links:
            raise _fail(source, f"rule {rule_id!r} serves no control")
        rules.append(EvidenceRule(rule_id, str(raw.get("description", "")), dict(when), tuple(links)))
    return tuple(rules)


@cache
def evidence_rules() -> tuple[EvidenceRule, ...]:
    """The evidence rules shipped with Assay (validated against the catalogues)."""
    text = resources.files("assay.governance").joinpath("data", "evidence-rules.yaml").read_text(encoding="utf-8")
    return _parse_rules(text, "evidence-rules.yaml")


def controls_for(document: Mapping[str, Any]) -> list[EvidenceLink]:
    """Every control the document is evidence for, by the rules that apply to it (in rule order)."""
    return [link for rule in evidence_rules() if rule.applies(document) for link in rule.serves]
