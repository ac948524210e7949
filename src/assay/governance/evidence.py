"""Evidence rules: which controls a result document serves as evidence for, linked automatically.

The rules are data (``data/evidence-rules.yaml``, schema ``assay.evidence-rules/1``); every control they name is
checked against the catalogues when they are loaded. A rule applies to a document when every condition of its
``when`` holds: ``schema`` (the document's schema name), ``predictions`` (the assessment used a predicted
label or a score), ``monitor`` (a monitor's run on a window of a deployed model's data recorded it), and for a
generative evaluation (``assay.genai-eval``) ``metrics`` (a list: at least one of these metrics was measured, i.e.
``document["metrics"][name]["overall"]["value"]`` is a number), ``red_team`` (``true``: the evaluation attacked the
target, ``document["red_team"]["categories"]`` has a category with attempts; a list: one of these categories was
attempted) and ``guardrail`` (the evaluation ran with a guardrail policy in front of the target, ``spec.guardrail``).
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

__all__ = ["EVIDENCE_SCHEMA", "EvidenceLink", "EvidenceRule", "attacked", "controls_for", "evidence_rules", "measured"]

EVIDENCE_SCHEMA: Final = "assay.evidence-rules/1"
_CONDITIONS: Final = {"schema", "predictions", "monitor", "metrics", "red_team", "guardrail"}


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
        if "metrics" in self.when and not measured(document) & set(self.when["metrics"]):
            return False
        if "red_team" in self.when:
            wanted, attempted = self.when["red_team"], attacked(document)
            if not (attempted & set(wanted) if isinstance(wanted, list) else bool(attempted) == bool(wanted)):
                return False
        if "guardrail" in self.when:
            guarded = bool((document.get("spec") or {}).get("guardrail"))
            if guarded != bool(self.when["guardrail"]):
                return False
        return True


def measured(document: Mapping[str, Any]) -> set[str]:
    """The metrics a generative evaluation measured: those whose overall value is a number."""
    metrics = document.get("metrics")
    if not isinstance(metrics, Mapping):
        return set()
    found = set()
    for name, entry in metrics.items():
        overall = entry.get("overall") if isinstance(entry, Mapping) else None
        value = overall.get("value") if isinstance(overall, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.add(str(name))
    return found


def attacked(document: Mapping[str, Any]) -> set[str]:
    """The red-team categories a generative evaluation attempted (at least one attempt)."""
    red_team = document.get("red_team")
    categories = red_team.get("categories") if isinstance(red_team, Mapping) else None
    if not isinstance(categories, Mapping):
        return set()
    return {str(name) for name, row in categories.items() if isinstance(row, Mapping) and row.get("attempts")}


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
        listed = when.get("metrics", [])
        if not isinstance(listed, list) or not all(isinstance(m, str) and m for m in listed):
            raise _fail(source, f"rule {rule_id!r}: 'metrics' must be a list of metric names")
        red_team = when.get("red_team", True)
        if not isinstance(red_team, bool) and not (
            isinstance(red_team, list) and red_team and all(isinstance(c, str) and c for c in red_team)
        ):
            raise _fail(source, f"rule {rule_id!r}: 'red_team' must be true, false or a list of categories")
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
