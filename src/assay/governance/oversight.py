"""What a system's human review is, validated: the routing rules that hold a prediction for a person before it takes
effect, the time a decision may take, the share reviewed twice, and who may see personal data.

A configuration is YAML (schema ``assay.review/1``), versioned per system by ``services.review``::

    schema: assay.review/1
    sla: 4h                      # time to decision; later items are flagged overdue
    double_review: 0.1           # share of items two reviewers decide independently (agreement, Cohen's kappa)
    claim_timeout: 30m           # a claim not decided by then may be taken by another reviewer
    personal_columns: [name, email]
    show_personal_to: [owner, overseer]
    outcomes: [approve, deny]    # what a reviewer may change an outcome to (default: anything)
    rules:
      - name: uncertain
        score_between: [0.4, 0.6]
      - name: young applicants
        slice: {age_group: "<25"}
      - name: audit sample
        sample: 0.02
      - name: large loans
        when: ["amount > 10000", "purpose in [car, business]"]

A rule routes a prediction when every condition it states holds (a rule with ``slice`` and ``sample`` samples that
slice). ``sample`` is decided from the inference id (the same id always gets the same answer), so an audit sample
is reproducible and cannot be gamed by asking twice. Evaluation (:func:`routes`) is pure and allocation-light: the
"does this need review?" call runs it on every prediction.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from assay.errors import InvalidInput
from assay.governance.monitoring import seconds
from assay.governance.policy import _safe_yaml, invalid
from assay.governance.records import _Record

__all__ = [
    "REVIEW_SCHEMA",
    "Condition",
    "ExplanationSettings",
    "ReviewSettings",
    "RuleSpec",
    "condition",
    "parse_review",
    "routes",
    "sampled",
]

REVIEW_SCHEMA: Final = "assay.review/1"
MAX_RULES: Final = 50
_OPS: Final = ("<=", ">=", "!=", "==", "<", ">", "not in", "in")
_CONDITION = re.compile(r"^\s*(?P<column>.+?)\s+(?P<op>not\s+in|in|<=|>=|!=|==|<|>)\s+(?P<value>.+?)\s*$")
Scalar = str | int | float | bool
Duration = Annotated[int, BeforeValidator(seconds), Field(ge=60, le=366 * 86400)]
Column = Annotated[str, Field(min_length=1, max_length=200)]
Role = Literal["owner", "overseer", "reviewer"]


def _scalar(text: str) -> Scalar:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in lowered else number


@dataclass(frozen=True)
class Condition:
    """``column op value``: a comparison (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``) or membership (``in``,
    ``not in`` a list ``[a, b]``)."""

    column: str
    op: str
    value: Scalar | tuple[Scalar, ...]

    def holds(self, value: Any) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.op in ("!=", "not in")
        if self.op in ("in", "not in"):
            assert isinstance(self.value, tuple)
            inside = any(_equal(value, option) for option in self.value)
            return inside if self.op == "in" else not inside
        if self.op == "==":
            return _equal(value, self.value)
        if self.op == "!=":
            return not _equal(value, self.value)
        try:
            left, right = float(value), float(self.value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            left, right = str(value), str(self.value)  # type: ignore[assignment]
        if self.op == "<":
            return left < right
        if self.op == "<=":
            return left <= right
        if self.op == ">":
            return left > right
        return left >= right

    def text(self) -> str:
        shown = "[" + ", ".join(map(str, self.value)) + "]" if isinstance(self.value, tuple) else str(self.value)
        return f"{self.column} {self.op} {shown}"


def _equal(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return bool(value) == bool(expected) if isinstance(value, bool | int) else str(value).lower() == str(expected)
    if isinstance(expected, int | float) and not isinstance(value, str):
        try:
            return float(value) == float(expected)
        except (TypeError, ValueError):
            return False
    return str(value) == str(expected)


def condition(text: str) -> Condition:
    """Parse ``COLUMN OP VALUE`` (``amount > 10000``, ``purpose in [car, business]``, ``region != "north"``)."""
    match = _CONDITION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a condition: write COLUMN OP VALUE with OP one of {', '.join(_OPS)}")
    column, op, raw = match.group("column").strip(), " ".join(match.group("op").split()), match.group("value")
    if op in ("in", "not in"):
        raw = raw.strip()
        if not (raw.startswith("[") and raw.endswith("]")):
            raise ValueError(f"{text!r}: {op!r} takes a list, e.g. [a, b]")
        values = tuple(_scalar(part) for part in raw[1:-1].split(",") if part.strip())
        if not values:
            raise ValueError(f"{text!r}: the list is empty")
        return Condition(column, op, values)
    return Condition(column, op, _scalar(raw))


class RuleSpec(_Record):
    """One routing rule; it routes a prediction when every condition it states holds."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    score_between: tuple[float, float] | None = Field(
        default=None, description="The uncertainty band: the model's score within [low, high] (inclusive)."
    )
    slice: dict[Column, Scalar | list[Scalar]] | None = Field(
        default=None, description="A watched slice: every column has the value (or one of the values) given."
    )
    when: list[Annotated[str, Field(min_length=3, max_length=500)]] | None = Field(
        default=None, description="Conditions on features, all of which hold: COLUMN OP VALUE."
    )
    sample: Annotated[float, Field(gt=0, le=1)] | None = Field(
        default=None, description="A random audit sample: this share of the predictions (decided by inference id)."
    )

    @field_validator("score_between")
    @classmethod
    def _band(cls, band: tuple[float, float] | None) -> tuple[float, float] | None:
        if band is not None and not band[0] <= band[1]:
            raise ValueError(f"the band {list(band)} is empty: give [low, high] with low <= high")
        return band

    @field_validator("when")
    @classmethod
    def _conditions(cls, conditions: list[str] | None) -> list[str] | None:
        for text in conditions or ():
            condition(text)
        return conditions

    @model_validator(mode="after")
    def _something(self) -> RuleSpec:
        if self.score_between is None and not self.slice and not self.when and self.sample is None:
            raise ValueError(f"rule {self.name!r} states no condition: give score_between, slice, when or sample")
        return self

    def columns(self) -> set[str]:
        """The features this rule reads."""
        named = set(self.slice or ())
        named.update(condition(text).column for text in self.when or ())
        return named


class ExplanationSettings(_Record):
    """How a held prediction (and a contested decision) is explained to people: the features a person can change
    (the counterfactual changes only these), those never changed (default: age, sex, race and the like), the words
    for the two outcomes, and the score threshold of the positive one."""

    actionable: list[Column] = Field(default_factory=list, max_length=200)
    immutable: list[Column] | None = Field(default=None, max_length=200)
    positive_text: Annotated[str, Field(min_length=1, max_length=100)] = "the positive outcome"
    negative_text: Annotated[str, Field(min_length=1, max_length=100)] = "the negative outcome"
    threshold: Annotated[float, Field(gt=0, lt=1)] = 0.5


class ReviewSettings(_Record):
    """A system's human-review configuration (see the module)."""

    schema_: Literal["assay.review/1"] = Field(default=REVIEW_SCHEMA, alias="schema")
    rules: list[RuleSpec] = Field(min_length=1, max_length=MAX_RULES)
    sla: Duration = Field(default=86400, description="Time to decision; later items are overdue.")
    double_review: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.0, description="Share of items decided independently by two reviewers."
    )
    claim_timeout: Duration = Field(default=1800, description="A claim older than this may be taken by another.")
    personal_columns: list[Column] = Field(default_factory=list, max_length=500)
    show_personal_to: list[Role] = Field(default_factory=lambda: list[Role](["owner", "overseer"]))
    outcomes: list[Scalar] | None = Field(default=None, max_length=100)
    explain: bool = Field(default=True, description="Explain each item's prediction (SHAP) for its reviewers.")
    explanation: ExplanationSettings | None = Field(
        default=None, description="How decisions are explained: actionable features, outcome words, threshold."
    )

    @model_validator(mode="after")
    def _unique(self) -> ReviewSettings:
        names = [rule.name for rule in self.rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)} given twice")
        return self


def parse_review(text: str, source: str = "the review configuration") -> ReviewSettings:
    """Validate review YAML; every problem names its key, e.g. ``rules[2].score_between``."""
    data = _safe_yaml(text, source)
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: give a mapping with rules (and sla, double_review, ...)")
    try:
        return ReviewSettings.model_validate(data)
    except ValidationError as exc:
        raise invalid(source, exc) from None


def sampled(salt: str, inference_id: str, share: float) -> bool:
    """Whether ``inference_id`` is in a ``share`` sample: a hash of the salt and the id, so the same id always gets
    the same answer and the sample is uniform over ids."""
    if share >= 1:
        return True
    digest = hashlib.blake2b(f"{salt}\x00{inference_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


@dataclass(frozen=True)
class _Compiled:
    name: str
    band: tuple[float, float] | None
    conditions: tuple[Condition, ...]
    sample: float | None


_COMPILED: dict[str, tuple[_Compiled, ...]] = {}


def _compile(rules: Sequence[Mapping[str, Any]], key: str) -> tuple[_Compiled, ...]:
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    compiled = []
    for rule in rules:
        conditions = [condition(text) for text in rule.get("when") or ()]
        for column, value in (rule.get("slice") or {}).items():
            if isinstance(value, list):
                conditions.append(Condition(column, "in", tuple(value)))
            else:
                conditions.append(Condition(column, "==", value))
        band = rule.get("score_between")
        compiled.append(
            _Compiled(rule["name"], (band[0], band[1]) if band else None, tuple(conditions), rule.get("sample"))
        )
    result = tuple(compiled)
    if len(_COMPILED) > 1000:
        _COMPILED.clear()
    _COMPILED[key] = result
    return result


def routes(
    settings: Mapping[str, Any], key: str, inference_id: str, features: Mapping[str, Any], score: float | None
) -> list[str]:
    """The names of the rules that route this prediction to review (empty: it proceeds). ``settings`` is a stored,
    validated configuration (``ReviewSettings.model_dump(by_alias=True)``) and ``key`` identifies it (its SHA-256:
    the compiled rules are cached under it). A rule that needs a feature or a score the request lacks is an
    :class:`InvalidInput` naming it: a prediction is never let through because the data to judge it is missing."""
    matched = []
    for rule in _compile(settings["rules"], key):
        if rule.band is not None:
            if score is None:
                raise InvalidInput(f"rule {rule.name!r} judges the score: send the model's score with the prediction")
            if not rule.band[0] <= score <= rule.band[1]:
                continue
        holds = True
        for cond in rule.conditions:
            if cond.column not in features:
                raise InvalidInput(
                    f"rule {rule.name!r} reads the feature {cond.column!r}, which the request does not have: send it"
                )
            if not cond.holds(features[cond.column]):
                holds = False
                break
        if not holds:
            continue
        if rule.sample is not None and not sampled(f"{key}:{rule.name}", inference_id, rule.sample):
            continue
        matched.append(rule.name)
    return matched
