"""Policy as code: what a model version needs before a stage, and its evaluation against plain facts.

A policy is YAML (schema ``assay.policy/1``)::

    schema: assay.policy/1
    name: eu-ai-act-high
    stage: production                 # the stage it guards
    judge: point                      # point | interval (the whole confidence interval must meet the limit)
    max_evidence_age_days: 365        # evidence older than this (or revoked) does not count
    approvals: {high: 2, limited: 1, minimal: 1}   # approvals needed by EU AI Act category
    on_change: demote                 # hold | demote: when an approved version's state changes afterwards
    rules:
      - {id: four-fifths, metric: DI, min: 0.8, max: 1.25}
      - {id: parity, metric: DPPL, abs_max: 0.1, facets: [colour]}
      - {id: calibration, performance: ece, max: 0.05}
      - {id: fpr-gap, performance: fpr, max_gap: 0.1}
      - {id: group-size, min_group_size: 30}
      - {id: verified, evidence: "iso42001:A.6.2.4", max_age_days: 180}
      - {id: assessed, assessment: assay.assessment, max_age_days: 90}
      - {id: oversight-in-place, oversight: {categories: [high], min_overseers: 1}}
      - {id: team-disciplines, team: {disciplines: [data-science, engineering, legal, domain]}}
      - {id: grounded, genai: {metric: groundedness, min: 0.9, every_slice: true}}
      - {id: red-team, genai: {metric: attack_success, max: 0.02}, judge: point}

:func:`load_policy` validates it and names the offending key (``rules[1].abs_max: ...``); :func:`evaluate`
judges it against :class:`GateFacts` (plain values gathered by the service layer) and returns one
:class:`RuleResult` per rule (passed, failed or waived), plus the approvals rule when the policy has one.
Pure: no database, no files beyond the policy text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.errors import InvalidInput
from assay.governance.aims import DISCIPLINES
from assay.governance.aims_org import coverage
from assay.governance.catalogues import list_frameworks, load_catalogue
from assay.governance.readiness import evidence_state

__all__ = [
    "DEFAULT_POLICIES",
    "GENAI_METRICS",
    "GateFacts",
    "GenAIRule",
    "OversightRule",
    "Policy",
    "Rule",
    "RuleResult",
    "TeamRule",
    "default_policy",
    "evaluate",
    "load_policy",
    "parse_policy",
    "rule_text",
]

POLICY_SCHEMA: Final = "assay.policy/1"
DEFAULT_POLICIES: Final = ("high", "limited", "minimal", "prohibited")
PERFORMANCE_METRICS: Final = (
    "accuracy", "precision", "recall", "fpr", "fnr", "f1", "selection_rate", "base_rate",
    "roc_auc", "brier", "ece", "ece_equal_mass",
)  # fmt: skip
BIAS_METRICS: Final = (
    "CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL",
    "DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE",
)  # fmt: skip  # SageMaker Clarify's names
_SCORE_METRICS: Final = {"roc_auc", "brier", "ece", "ece_equal_mass"}
#: The scores of a generative evaluation (``assay.genai-eval``) a ``genai`` rule may judge.
GENAI_METRICS: Final = (
    "groundedness", "relevance", "refusal_correct", "over_refusal", "under_refusal", "pii_leakage", "attack_success",
    "exact_match", "fuzzy_match", "length", "latency_ms", "protected_content",
)  # fmt: skip
GENAI_EVAL: Final = "assay.genai-eval"
_KINDS: Final = ("metric", "performance", "min_group_size", "evidence", "assessment", "oversight", "team", "genai")
Category = Literal["prohibited", "high", "limited", "minimal"]

Judge = Literal["point", "interval"]
OnChange = Literal["hold", "demote"]
Status = Literal["passed", "failed", "waived"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_HIGH: Final[tuple[Category, ...]] = ("high",)


class OversightRule(_Strict):
    """The options of an ``oversight`` rule: the system's human oversight is in place as its record says. A
    human-in-the-loop system needs an active review queue (the newest review configuration, switched on); a system
    overseen on or over the loop needs ``min_overseers`` named overseers (active users with the ``overseer`` role on
    it). Systems of other EU AI Act ``categories`` than those listed pass (the rule says it does not apply)."""

    categories: Annotated[list[Category], Field(min_length=1)] = Field(default_factory=lambda: list(_HIGH))
    min_overseers: Annotated[int, Field(ge=1)] = 1


Discipline = Literal[DISCIPLINES]  # type: ignore[valid-type]


class TeamRule(_Strict):
    """The options of a ``team`` rule (ISO/IEC 42001 A.3.2): the system's team (``assay aims team``) has at least one
    active member bringing each of ``disciplines``. Systems of other EU AI Act ``categories`` pass (the rule says it
    does not apply)."""

    disciplines: Annotated[list[Discipline], Field(min_length=1)]
    categories: Annotated[list[Category], Field(min_length=1)] = Field(default_factory=lambda: list(_HIGH))


class GenAIRule(_Strict):
    """The options of a ``genai`` rule: a score of the newest generative evaluation (``assay.genai-eval``) of the
    model version within ``min`` / ``max``, overall and, with ``every_slice``, on every slice too (``slices``: only
    the slices of these labels, e.g. ``[category]``; implies ``every_slice``). Judged on the value or, where the policy
    (or the rule) says ``judge: interval``, on the interval's bound (the low end against ``min``, the high end against
    ``max``). Systems not marked generative pass (the rule says it does not apply)."""

    metric: Literal[GENAI_METRICS]  # type: ignore[valid-type]
    min: float | None = None
    max: float | None = None
    every_slice: bool = False
    slices: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _limits(self) -> GenAIRule:
        if self.min is None and self.max is None:
            raise ValueError("a genai rule needs a limit: min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Rule(_Strict):
    """One rule; exactly one of ``metric``, ``performance``, ``min_group_size``, ``evidence``, ``assessment``,
    ``oversight``, ``team``, ``genai``."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")]
    description: str = ""
    metric: Literal[BIAS_METRICS] | None = None  # type: ignore[valid-type]
    performance: Literal[PERFORMANCE_METRICS] | None = None  # type: ignore[valid-type]
    min_group_size: Annotated[int, Field(ge=1)] | None = None
    evidence: Annotated[str, Field(pattern=r"^[a-z0-9-]+:.+$")] | None = None
    assessment: str | None = None
    oversight: OversightRule | None = None
    team: TeamRule | None = None
    genai: GenAIRule | None = None
    facets: list[str] | None = None
    min: float | None = None
    max: float | None = None
    abs_max: Annotated[float, Field(ge=0)] | None = None
    max_gap: Annotated[float, Field(ge=0)] | None = None
    max_age_days: Annotated[int, Field(ge=1)] | None = None
    check: Annotated[str, Field(min_length=1, max_length=100)] | None = None  # a data check's name (assessment rules)
    passing: bool | None = None  # assessment rules: the newest such record must have passed
    judge: Judge | None = None

    @property
    def kind(self) -> str:
        return next(kind for kind in _KINDS if getattr(self, kind) is not None)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        kinds = [kind for kind in _KINDS if getattr(self, kind) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of {', '.join(_KINDS)} (found: {', '.join(kinds) or 'none'})")
        limits = [name for name in ("min", "max", "abs_max", "max_gap") if getattr(self, name) is not None]
        kind = kinds[0]
        if kind in ("metric", "performance") and not limits:
            raise ValueError(f"a {kind} rule needs a limit: min, max, abs_max or max_gap")
        if kind == "metric" and self.max_gap is not None:
            raise ValueError("max_gap is for performance rules (the gap between groups)")
        if kind == "genai" and (limits or self.facets):
            raise ValueError("a genai rule takes its limits inside genai (genai: {metric: ..., min: ...}), no facets")
        if kind not in ("metric", "performance", "genai") and (limits or self.judge or self.facets):
            raise ValueError(f"a {kind} rule takes no limits, judge or facets")
        if kind not in ("evidence", "assessment", "genai") and self.max_age_days is not None:
            raise ValueError("max_age_days is for evidence, assessment and genai rules")
        if kind != "assessment" and (self.check is not None or self.passing is not None):
            raise ValueError("check and passing are for assessment rules")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.evidence is not None:
            _check_control(self.evidence)
        return self


def _check_control(reference: str) -> None:
    framework, _, control = reference.partition(":")
    known = [f.id for f in list_frameworks()]
    if framework not in known:
        raise ValueError(f"unknown framework {framework!r} (known: {', '.join(known)})")
    if control not in load_catalogue(framework):
        raise ValueError(f"{framework} has no control {control!r}")


class Policy(_Strict):
    schema_: Annotated[Literal["assay.policy/1"], Field(alias="schema")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: str = ""
    stage: Literal["development", "staging", "production", "retired"] = "production"
    judge: Judge = "point"
    max_evidence_age_days: Annotated[int, Field(ge=1)] | None = None
    approvals: dict[Category, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    on_change: OnChange = "hold"
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


def _location(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-after") or part.startswith("literal["):
            continue
        else:
            out += ("." if out else "") + ("schema" if part == "schema_" else part)
    return out or "policy"


MAX_POLICY_CHARS: Final = 1_000_000
MAX_POLICY_DEPTH: Final = 50  # nesting of mappings and lists; Assay's policies use 4
MAX_POLICY_VALUES: Final = 100_000  # values after aliases are expanded


def _safe_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load`` within bounds, checked on PyYAML's event stream before anything is built (the composer
    and pydantic recurse: 10,000 nested lists would end in RecursionError), and on the loaded values (an alias
    repeated in aliases, "billion laughs", is small text but a huge tree)."""
    if len(text) > MAX_POLICY_CHARS:
        raise InvalidInput(f"{source} has {len(text)} characters, more than the limit of {MAX_POLICY_CHARS}")
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_POLICY_DEPTH:
                    raise InvalidInput(f"{source} nests lists or mappings deeper than the limit of {MAX_POLICY_DEPTH}")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML: {exc}") from None
    pending, count = [data], 0
    while pending:  # iterative: counts what pydantic would walk, and stops at the limit
        value = pending.pop()
        count += 1
        if count > MAX_POLICY_VALUES:
            raise InvalidInput(f"{source} has more than {MAX_POLICY_VALUES} values (aliases expanded)")
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return data


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Validate policy YAML; every problem names its key, e.g. ``rules[2].abs_max``. Deep nesting, huge texts and
    alias bombs are refused as bad input before they are built."""
    data = _safe_yaml(text, source)
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: the policy must be a mapping with schema, name and rules")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise invalid(source, exc) from None


def invalid(source: str, exc: ValidationError) -> InvalidInput:
    """A validation error of a YAML document as bad input naming every key (``rules[2].abs_max: ...``)."""
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a known key"
        problems.append(f"{_location(error['loc'])}: {message}")
    return InvalidInput(f"{source}: " + "; ".join(problems))


def load_policy(path: Path) -> Policy:
    if not path.is_file():
        raise InvalidInput(f"policy file {path} does not exist")
    return parse_policy(path.read_text(encoding="utf-8"), str(path))


@cache
def default_policy(category: str) -> Policy:
    """The policy shipped with Assay for an EU AI Act category (high, limited, minimal, prohibited)."""
    if category not in DEFAULT_POLICIES:
        raise InvalidInput(f"no default policy for {category!r}: choose one of {', '.join(DEFAULT_POLICIES)}")
    text = (resources.files("assay.governance") / "data" / "policies" / f"{category}.yaml").read_text("utf-8")
    return parse_policy(text, f"default policy {category}")


# -- facts and evaluation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateFacts:
    """What the gate judges, as plain values gathered from the store."""

    system: str
    category: str  # EU AI Act category
    ref: str  # model version
    today: dt.date
    assessments: Sequence[Mapping[str, Any]] = ()  # {"id", "kind", "created_at": date, "document"}; newest last
    # {"framework", "control_id", "valid_from", "valid_until", "revoked": bool (default false), ...}
    evidence: Sequence[Mapping[str, Any]] = ()
    approvals: int = 0  # approvals on a current (not stale, not rejected) request for the stage
    waivers: Sequence[Mapping[str, Any]] = ()  # {"rule", "waived_by", "reason", "expires": date}
    # the system's oversight: {"mode": human_in_the_loop | human_on_the_loop | human_over_the_loop,
    # "queue": {"version": int, "active": bool} or None (no review configuration), "overseers": [user names]}
    oversight: Mapping[str, Any] | None = None
    # the system's team: {person: [disciplines]} of its active members (None: not gathered)
    team: Mapping[str, Sequence[str]] | None = None
    generative: bool = False  # the system is marked generative (genai rules apply to it)


@dataclass(frozen=True)
class Finding:
    where: str  # e.g. "colour = Black" or "group sex = F"
    observed: Any
    passed: bool
    note: str = ""
    interval: tuple[Any, Any] | None = None


@dataclass(frozen=True)
class RuleResult:
    rule: str
    kind: str
    status: Status
    message: str
    findings: tuple[Finding, ...] = ()
    waiver: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "findings": [
                {"where": f.where, "observed": f.observed, "interval": f.interval, "passed": f.passed, "note": f.note}
                for f in self.findings
            ],
            "waiver": None if self.waiver is None else dict(self.waiver),
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value)
    return float(value)


def _limit_text(rule: Rule) -> str:
    parts = []
    if rule.min is not None and rule.max is not None:
        parts.append(f"within [{rule.min:g}, {rule.max:g}]")
    elif rule.min is not None:
        parts.append(f"≥ {rule.min:g}")
    elif rule.max is not None:
        parts.append(f"≤ {rule.max:g}")
    if rule.abs_max is not None:
        parts.append(f"|value| ≤ {rule.abs_max:g}")
    if rule.max_gap is not None:
        parts.append(f"gap between groups ≤ {rule.max_gap:g}")
    return " and ".join(parts)


def rule_text(rule: Rule, policy: Policy | None = None) -> str:
    """What a rule asks, in words with its numbers (for people reading the policy in force)."""
    judged = rule.judge or (policy.judge if policy is not None else "point")
    on = "the whole confidence interval" if judged == "interval" else "the value"
    facets = f" for facets {', '.join(rule.facets)}" if rule.facets else " for every facet"
    kind = rule.kind
    if kind == "metric":
        return f"bias metric {rule.metric} {_limit_text(rule)}{facets} (judged on {on})"
    if kind == "performance":
        return f"performance {rule.performance} {_limit_text(rule)} overall and in every group (judged on {on})"
    if kind == "min_group_size":
        return f"every facet group has at least {rule.min_group_size} rows"
    if kind == "evidence":
        days = rule.max_age_days or (policy.max_evidence_age_days if policy is not None else None)
        return f"current evidence for {rule.evidence}" + (f", at most {days} days old" if days else "")
    if kind == "assessment":
        what = f"a recorded {rule.assessment}" + (f" ({rule.check})" if rule.check else "")
        within = f" within {rule.max_age_days} days" if rule.max_age_days else ""
        return what + within + (", the newest one passed" if rule.passing else "")
    if kind == "oversight":
        o = rule.oversight or OversightRule()
        return (
            f"human oversight in place for {', '.join(o.categories)}-risk systems: an active review queue "
            f"(human in the loop) or at least {o.min_overseers} named overseer(s)"
        )
    if kind == "team":
        assert rule.team is not None
        return f"the team covers {', '.join(rule.team.disciplines)} (for {', '.join(rule.team.categories)}-risk)"
    assert rule.genai is not None
    g = rule.genai
    if g.min is not None and g.max is not None:
        limit = f"within [{g.min:g}, {g.max:g}]"
    else:
        limit = f"≥ {g.min:g}" if g.min is not None else f"≤ {g.max:g}"
    slices = " overall and on every slice" if g.every_slice or g.slices else " overall"
    recent = f", evaluated within {rule.max_age_days} days" if rule.max_age_days else ""
    return f"generative systems: {g.metric} {limit}{slices} (judged on {on}){recent}"


def _within(rule: Rule, value: float, interval: tuple[float, float] | None, judge: Judge) -> tuple[bool, str]:
    """Judge a value (or, with ``judge='interval'``, its whole interval) against the rule's limits."""
    if judge == "interval":
        if interval is None:
            return False, "no confidence interval to judge (rerun with --bootstrap > 0)"
        low, high = interval
    else:
        low = high = value
    if math.isnan(low) or math.isnan(high):
        return False, "not a number"
    if rule.min is not None and low < rule.min:
        return False, ""
    if rule.max is not None and high > rule.max:
        return False, ""
    if rule.abs_max is not None and max(abs(low), abs(high)) > rule.abs_max:
        return False, ""
    return True, ""


def _facet_wanted(rule: Rule, facet: str) -> bool:
    parts = [part.strip() for part in facet.split("×")]  # an intersection "race×sex" counts for both columns
    return rule.facets is None or facet in rule.facets or any(part in rule.facets for part in parts)


def _latest_assessment(facts: GateFacts) -> Mapping[str, Any] | None:
    found = [a for a in facts.assessments if a.get("kind") == "assay.assessment"]
    return found[-1]["document"] if found else None


def _metric_rule(rule: Rule, policy: Policy, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    document = _latest_assessment(facts)
    if document is None:
        return False, f"no bias assessment of {facts.ref} is recorded", []
    judge = rule.judge or policy.judge
    findings = []
    for entry in document.get("facets", []):
        if not _facet_wanted(rule, entry["facet"]):
            continue
        metric = next((m for m in entry["metrics"] if m["name"] == rule.metric), None)
        where = f"{entry['facet']} = {entry['value_or_threshold']}"
        if metric is None:
            continue
        if metric.get("error"):
            findings.append(Finding(where, None, False, f"undefined: {metric['error']}"))
            continue
        value = _number(metric["value"])
        assert value is not None
        ci = metric.get("ci")
        interval = None if not ci else (_number(ci[0]) or 0.0, _number(ci[1]) or 0.0)
        ok, note = _within(rule, value, interval, judge)
        findings.append(Finding(where, metric["value"], ok, note, None if not ci else (ci[0], ci[1])))
    if not findings:
        return False, f"the latest assessment has no {rule.metric} for the facets named", []
    failed = [f for f in findings if not f.passed]
    judged = "its confidence interval" if judge == "interval" else "the value"
    text = f"{rule.metric} {_limit_text(rule)} ({judged}): {len(findings) - len(failed)} of {len(findings)} facets pass"
    return not failed, text, findings


def _performance_rule(rule: Rule, policy: Policy, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    document = _latest_assessment(facts)
    if document is None:
        return False, f"no assessment of {facts.ref} is recorded", []
    name = str(rule.performance)
    judge = rule.judge or policy.judge
    findings: list[Finding] = []
    by_facet: dict[str, list[float]] = {}
    for group in document.get("performance", []):
        if group["facet"] != "all" and not _facet_wanted(rule, group["facet"]):
            continue
        source = group.get("score") or {} if name in _SCORE_METRICS else group["metrics"]
        value = _number(source.get(name))
        where = "all rows" if group["facet"] == "all" else f"group {group['facet']} = {group['value']}"
        if value is None:
            note = "needs a score column" if name in _SCORE_METRICS and not group.get("score") else "undefined"
            findings.append(Finding(where, None, False, note))
            continue
        if group["facet"] != "all":
            by_facet.setdefault(group["facet"], []).append(value)
        if rule.min is not None or rule.max is not None or rule.abs_max is not None:
            if name in _SCORE_METRICS:  # score metrics carry no interval: judged on the value, and said so
                ok, note = _within(rule, value, None, "point")
                note = note or ("judged on the value: no interval is computed for it" if judge == "interval" else "")
            else:
                ci = (group.get("ci") or {}).get(name)
                interval = None if not ci else (float(ci[0]), float(ci[1]))
                ok, note = _within(rule, value, interval, judge)
            findings.append(Finding(where, value, ok, note))
    if rule.max_gap is not None:
        for facet, values in by_facet.items():
            gap = max(values) - min(values)
            findings.append(Finding(f"gap across {facet}", gap, gap <= rule.max_gap))
    if not findings:
        return False, f"the latest assessment has no {name} by group", []
    failed = [f for f in findings if not f.passed]
    return not failed, f"{name} {_limit_text(rule)}: {len(findings) - len(failed)} of {len(findings)} pass", findings


def _group_size_rule(rule: Rule, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    document = _latest_assessment(facts)
    if document is None:
        return False, f"no assessment of {facts.ref} is recorded", []
    minimum = int(rule.min_group_size or 0)
    findings = [
        Finding(
            f"{e['facet']} = {e['value_or_threshold']}", min(e["n_d"], e["n_a"]), min(e["n_d"], e["n_a"]) >= minimum
        )
        for e in document.get("facets", [])
    ]
    failed = [f for f in findings if not f.passed]
    return (
        not failed,
        f"every facet group has ≥ {minimum} rows: {len(findings) - len(failed)} of {len(findings)}",
        findings,
    )


def _age_ok(created: dt.date, today: dt.date, max_age: int | None) -> bool:
    return max_age is None or (today - created).days <= max_age


def _evidence_rule(rule: Rule, policy: Policy, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    framework, _, control = str(rule.evidence).partition(":")
    max_age = rule.max_age_days or policy.max_evidence_age_days
    findings = []
    for item in facts.evidence:
        if item["framework"] != framework or item["control_id"] != control:
            continue
        state = evidence_state(
            item["valid_from"], item["valid_until"], facts.today, revoked=bool(item.get("revoked", False))
        )
        current = state == "current"
        fresh = _age_ok(item["valid_from"], facts.today, max_age)
        if not current:
            note = "revoked" if state == "revoked" else "expired"  # not yet valid is reported as expired, as before
        else:
            note = "" if fresh else f"older than {max_age} days"
        findings.append(
            Finding(f"evidence {item.get('id')} ({item.get('kind')})", str(item["valid_from"]), current and fresh, note)
        )
    if not findings:
        return False, f"no evidence for {rule.evidence}", []
    good = [f for f in findings if f.passed]
    return bool(good), f"current evidence for {rule.evidence}: {len(good)} of {len(findings)} items", findings


def _assessment_rule(rule: Rule, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    """A recorded assessment of a kind (``check``: of a data check by name), recent enough (``max_age_days``); with
    ``passing``, the newest one must have passed its own verdict (a membership-inference test under its ``max_auc``,
    a PII scan, ...): a failing newer record is not outweighed by an older pass."""
    matching = [
        a
        for a in facts.assessments
        if a.get("kind") == rule.assessment
        and (rule.check is None or (a.get("document") or {}).get("check") == rule.check)
    ]
    what = f"{rule.assessment}" + (f" ({rule.check})" if rule.check else "")
    age = f" within {rule.max_age_days} days" if rule.max_age_days else ""
    if rule.passing:
        findings = []
        for a in matching:
            status = str((a.get("document") or {}).get("status", "unknown"))
            fresh = _age_ok(a["created_at"], facts.today, rule.max_age_days)
            findings.append(
                Finding(f"assessment {a['id']}: {status}", str(a["created_at"]), fresh and status == "pass")
            )
        if not findings:
            return False, f"no {what} recorded for {facts.ref}{age}", findings
        newest = findings[-1]
        verdict = "passed" if newest.passed else "did not pass (or is too old)"
        return newest.passed, f"the newest {what} of {facts.ref}{age} {verdict}", findings
    findings = [
        Finding(f"assessment {a['id']}", str(a["created_at"]), _age_ok(a["created_at"], facts.today, rule.max_age_days))
        for a in matching
    ]
    good = [f for f in findings if f.passed]
    return bool(good), f"{what} recorded for {facts.ref}{age}: {len(good)} found", findings


_MODE_TEXT: Final = {
    "human_in_the_loop": "human-in-the-loop",
    "human_on_the_loop": "human-on-the-loop",
    "human_over_the_loop": "human-over-the-loop",
}


def _oversight_rule(rule: Rule, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    options = rule.oversight or OversightRule()
    if facts.oversight is None:
        return False, "the system's oversight (mode, review queue, overseers) was not gathered", []
    mode = str(facts.oversight.get("mode"))
    queue = facts.oversight.get("queue")
    overseers = list(facts.oversight.get("overseers") or [])
    queue_on = bool(queue and queue.get("active"))
    if queue is None:
        queue_text = "none configured"
    else:
        queue_text = f"version {queue.get('version')}, {'active' if queue_on else 'switched off'}"
    enough = len(overseers) >= options.min_overseers
    needs_queue = mode == "human_in_the_loop"
    findings = [
        Finding("oversight mode", _MODE_TEXT.get(mode, mode), mode in _MODE_TEXT),
        Finding("review queue", queue_text, queue_on or not needs_queue),
        Finding("named overseers", ", ".join(overseers) or "none", enough or needs_queue),
    ]
    if facts.category not in options.categories:
        applies = ", ".join(options.categories)
        return True, f"not required for a {facts.category}-risk system (the rule covers: {applies})", findings
    if mode not in _MODE_TEXT:
        return False, f"the system's oversight mode {mode!r} is not one Assay knows", findings
    if needs_queue:
        ok = queue_on
        need = "an active review queue (assay review configure)"
    else:
        ok = enough
        need = f"at least {options.min_overseers} named overseer(s) (a user with the overseer role on the system)"
    verdict = "in place" if ok else "missing"
    text = f"a {facts.category}-risk system overseen {_MODE_TEXT[mode]} needs {need}: {verdict}"
    return ok, text, findings


def _team_rule(rule: Rule, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    assert rule.team is not None
    options = rule.team
    if facts.team is None:
        return False, "the system's team was not gathered", []
    covered = coverage(facts.team, options.disciplines)
    findings = [
        Finding(f"discipline {d}", ", ".join(covered["covered"].get(d, [])) or "nobody", d in covered["covered"])
        for d in options.disciplines
    ]
    if facts.category not in options.categories:
        applies = ", ".join(options.categories)
        return True, f"not required for a {facts.category}-risk system (the rule covers: {applies})", findings
    missing = covered["missing"]
    if not missing:
        return True, f"the team covers {', '.join(options.disciplines)}", findings
    return (
        False,
        f"the team of {facts.system} lacks {', '.join(missing)} (of {', '.join(options.disciplines)}): add a member "
        f"who brings it (assay aims team add {facts.system} PERSON --discipline {missing[0]})",
        findings,
    )


def _genai_rule(rule: Rule, policy: Policy, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    """A score of the newest ``assay.genai-eval`` of the model version (see :class:`GenAIRule`)."""
    assert rule.genai is not None
    options = rule.genai
    name = options.metric
    if not facts.generative:
        return True, f"{facts.system} is not marked generative: the rule does not apply", []
    command = (
        f"run one: assay eval run --system {facts.system} --model-version {facts.ref} --dataset-version TESTS@VERSION"
    )
    records = [a for a in facts.assessments if a.get("kind") == GENAI_EVAL]
    if not records:
        return False, f"no generative evaluation (assay.genai-eval) of {facts.ref} is recorded: {command}", []
    newest = records[-1]
    age = f"within {rule.max_age_days} days"
    if not _age_ok(newest["created_at"], facts.today, rule.max_age_days):
        note = f"the newest generative evaluation of {facts.ref} (assessment {newest['id']}, {newest['created_at']})"
        return False, f"{note} is older than {rule.max_age_days} days: {command}", []
    document = newest.get("document") or {}
    entry = (document.get("metrics") or {}).get(name)
    source = f"assessment {newest['id']}"
    if not isinstance(entry, Mapping) or not isinstance(entry.get("overall"), Mapping):
        reason = entry.get("reason") if isinstance(entry, Mapping) else None
        why = f" ({reason})" if reason else ""
        return False, f"the newest generative evaluation of {facts.ref} ({source}) did not measure {name}{why}", []
    judge = rule.judge or policy.judge
    rows: list[tuple[str, Mapping[str, Any]]] = [("overall", entry["overall"])]
    if options.every_slice or options.slices:
        for key, value in sorted((entry.get("slices") or {}).items()):
            label = str(key).partition("=")[0]
            if options.slices is None or label in options.slices:
                rows.append((f"slice {key}", value))
    findings = []
    for where, row in rows:
        value = _number(row.get("value"))
        low, high = _number(row.get("low")), _number(row.get("high"))
        n = row.get("n")
        interval = None if low is None or high is None else (low, high)
        if value is None:
            findings.append(Finding(where, None, False, f"not measured (n={n})"))
            continue
        ok, note = _within_genai(options, value, interval, judge)
        findings.append(Finding(where, row.get("value"), ok, note or f"n={n}", interval))
    failed = [f for f in findings if not f.passed]
    judged = "the interval's bound" if judge == "interval" else "the value"
    if options.min is not None and options.max is not None:
        limit = f"within [{options.min:g}, {options.max:g}]"
    else:
        limit = f"≥ {options.min:g}" if options.min is not None else f"≤ {options.max:g}"
    scope = "overall and on every slice" if len(rows) > 1 or options.every_slice else "overall"
    text = (
        f"{name} {limit} {scope} ({judged}; {source}, {age if rule.max_age_days else newest['created_at']}): "
        f"{len(findings) - len(failed)} of {len(findings)} pass"
    )
    return not failed, text, findings


def _within_genai(
    options: GenAIRule, value: float, interval: tuple[float, float] | None, judge: Judge
) -> tuple[bool, str]:
    if judge == "interval":
        if interval is None:
            return False, "no confidence interval to judge"
        low, high = interval
    else:
        low = high = value
    if math.isnan(low) or math.isnan(high):
        return False, "not a number"
    if options.min is not None and low < options.min:
        return False, ""
    if options.max is not None and high > options.max:
        return False, ""
    return True, ""


def _judge(rule: Rule, policy: Policy, facts: GateFacts) -> tuple[bool, str, list[Finding]]:
    kind = rule.kind
    if kind == "genai":
        return _genai_rule(rule, policy, facts)
    if kind == "team":
        return _team_rule(rule, facts)
    if kind == "oversight":
        return _oversight_rule(rule, facts)
    if kind == "metric":
        return _metric_rule(rule, policy, facts)
    if kind == "performance":
        return _performance_rule(rule, policy, facts)
    if kind == "min_group_size":
        return _group_size_rule(rule, facts)
    if kind == "evidence":
        return _evidence_rule(rule, policy, facts)
    return _assessment_rule(rule, facts)


def _waiver(rule_id: str, facts: GateFacts) -> Mapping[str, Any] | None:
    active = [w for w in facts.waivers if w["rule"] == rule_id and w["expires"] >= facts.today]
    return active[-1] if active else None


def _result(
    rule_id: str, kind: str, ok: bool, message: str, findings: Sequence[Finding], facts: GateFacts
) -> RuleResult:
    if ok:
        return RuleResult(rule_id, kind, "passed", message, tuple(findings))
    waiver = _waiver(rule_id, facts)
    if waiver is not None:
        return RuleResult(rule_id, kind, "waived", message, tuple(findings), waiver)
    return RuleResult(rule_id, kind, "failed", message, tuple(findings))


APPROVALS_RULE: Final = "approvals"
PROHIBITED_RULE: Final = "not-prohibited"


def evaluate(policy: Policy, facts: GateFacts) -> list[RuleResult]:
    """Judge every rule of ``policy``; a prohibited system always fails (and cannot be waived)."""
    results: list[RuleResult] = []
    if facts.category == "prohibited":
        results.append(
            RuleResult(PROHIBITED_RULE, "category", "failed", "a prohibited AI practice (EU AI Act Art. 5) cannot pass")
        )
    for rule in policy.rules:
        ok, message, findings = _judge(rule, policy, facts)
        results.append(_result(rule.id, rule.kind, ok, message, findings, facts))
    needed = policy.approvals.get(facts.category)  # type: ignore[call-overload]
    if needed:
        ok = facts.approvals >= needed
        message = f"{facts.category}-risk systems need {needed} approval(s) for {policy.stage}: {facts.approvals} given"
        results.append(_result(APPROVALS_RULE, "approvals", ok, message, (), facts))
    return results
