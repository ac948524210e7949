"""A guardrail policy, validated: what is checked in prompts (``input``) and responses (``output``) and what is done
when something is found, in the shape Bedrock Guardrails users know.

A policy is YAML (schema ``assay.guardrail/1``), versioned by name in the workspace (``services.guard``)::

    schema: assay.guardrail/1
    name: support-bot
    messages:
      blocked_input: Sorry, I cannot help with that request.
      blocked_output: Sorry, the answer was withheld.
    sensitive_information:
      mask_style: tag                 # {EMAIL_ADDRESS}; or pseudonym: the same value gets the same stand-in
      entities:
        - {type: EMAIL_ADDRESS, input: mask, output: mask}
        - {type: CREDIT_CARD, input: block, output: block}
      regexes:
        - {name: employee-id, pattern: 'EMP-\\d{6}', input: mask, output: mask}
      secrets: {input: block, output: block}
    denied_topics:
      topics:
        - name: investment advice
          definition: Recommendations on which stocks, funds or crypto-assets to buy or sell.
          examples: [Which shares should I buy this year?]
          keywords: [stock tips, which shares]
    words: {phrases: [internal codename], input: block, output: block}
    prompt_attacks: {input: block, threshold: 0.5}
    grounding: {grounding_threshold: 0.6, relevance_threshold: 0.5, action: block}
    use_cases: {from_system: true, action: block}
    protected_content: {corpus: style-guide, action: block}
    disclosure: {required: true}
    recording: {keep_content: false}
    embeddings: {precision: exact}  # or int8: the ONNX int8 encoder (the onnx extra), about twice as fast

Every section is optional; a policy with none checks nothing and says so (``sections`` is empty). An action is
``block`` (the whole prompt or response is replaced by the policy's message), ``mask`` (only where a span can be
replaced: sensitive information), ``detect`` (recorded, nothing changed) or ``off``.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.errors import InvalidInput
from assay.governance.policy import _safe_yaml, invalid

__all__ = [
    "GUARD_SCHEMA",
    "Action",
    "DeniedTopics",
    "Disclosure",
    "Embeddings",
    "Grounding",
    "GuardPolicy",
    "Messages",
    "PiiEntity",
    "PromptAttacks",
    "ProtectedContent",
    "Recording",
    "RegexRule",
    "SensitiveInformation",
    "Topic",
    "UseCases",
    "Words",
    "parse_guard_policy",
]

GUARD_SCHEMA: Final = "assay.guardrail/1"
Action = Literal["block", "mask", "detect", "off"]
SpanAction = Literal["block", "mask", "detect", "off"]
WholeAction = Literal["block", "detect", "off"]  # a finding without a span to replace (a topic, an attack)
Name = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Share = Annotated[float, Field(ge=0, le=1)]
Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The entity types the offline recognisers find (``assay.checks.pii``), plus PERSON (names after a cue).
PII_TYPES: Final = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO", "ES_NIF",
    "IT_FISCAL_CODE", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "IN_AADHAAR", "SG_NRIC_FIN", "PERSON",
)  # fmt: skip


class PiiEntity(_Section):
    type: Literal[PII_TYPES]  # type: ignore[valid-type]
    input: SpanAction = "mask"
    output: SpanAction = "mask"


class RegexRule(_Section):
    name: Name
    pattern: Annotated[str, Field(min_length=1, max_length=1000)]
    description: str = ""
    input: SpanAction = "mask"
    output: SpanAction = "mask"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression: {exc}") from None
        return value


class SecretsRule(_Section):
    input: SpanAction = "block"
    output: SpanAction = "block"


class SensitiveInformation(_Section):
    mask_style: Literal["tag", "pseudonym"] = "tag"
    entities: Annotated[list[PiiEntity], Field(max_length=len(PII_TYPES))] = Field(default_factory=list)
    regexes: Annotated[list[RegexRule], Field(max_length=100)] = Field(default_factory=list)
    secrets: SecretsRule | None = None
    min_score: Share = 0.4

    @model_validator(mode="after")
    def _unique(self) -> SensitiveInformation:
        for what, names in (("entity", [e.type for e in self.entities]), ("regex", [r.name for r in self.regexes])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what} {twice[0]!r} is listed twice")
        return self


class Topic(_Section):
    name: Name
    definition: Text
    examples: Annotated[list[Text], Field(max_length=50)] = Field(default_factory=list)
    keywords: Annotated[list[Phrase], Field(max_length=200)] = Field(default_factory=list)
    input: WholeAction = "block"
    output: WholeAction = "block"


class DeniedTopics(_Section):
    topics: Annotated[list[Topic], Field(min_length=1, max_length=50)]
    method: Literal["auto", "keywords", "embeddings"] = "auto"  # auto: embeddings when the extra is installed
    # cosine similarity to the topic's definition or an example (embeddings): with all-MiniLM-L6-v2, 0.4 found half
    # the on-topic prompts with 1 false alarm in 45 ordinary ones (benchmarks/RESULTS.md; docs/guardrails.md)
    threshold: Share = 0.4
    # embeddings: a prompt closer to one of the system's intended uses than to the topic is not the topic
    contrast: bool = True


class Words(_Section):
    phrases: Annotated[list[Phrase], Field(min_length=1, max_length=10_000)]
    input: WholeAction = "block"
    output: WholeAction = "block"

    @field_validator("phrases")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        for index, phrase in enumerate(value):
            if not phrase.strip():
                raise ValueError(f"phrase {index} is blank: give a word or phrase, or remove it")
        return value


class PromptAttacks(_Section):
    input: WholeAction = "block"
    threshold: Share = 0.5  # a prompt scoring at least this is an attack
    system_prompt: Annotated[str, Field(max_length=100_000)] | None = None  # the leak check on outputs
    leak: WholeAction = "block"
    leak_min_words: Annotated[int, Field(ge=3, le=200)] = 10  # a verbatim run this long (or the whole prompt) leaks


class Grounding(_Section):
    # a response is grounded when its least supported sentence reaches this (0-1); 0.4 balances precision and recall
    # of "unsupported" for both methods on benchmarks/data/grounding.yaml (benchmarks/RESULTS.md)
    grounding_threshold: Share | None = 0.4
    relevance_threshold: Share | None = 0.2  # the same set: answers to another question fall below it
    hard_checks: bool = True  # numbers, dates, named entities and negations must appear in the sources
    method: Literal["auto", "lexical", "embeddings"] = "auto"
    action: WholeAction = "block"


class UseCases(_Section):
    from_system: bool = True  # the system's intended and out-of-scope uses
    allowed: Annotated[list[Text], Field(max_length=50)] = Field(default_factory=list)
    denied: Annotated[list[Text], Field(max_length=50)] = Field(default_factory=list)
    threshold: Share = 0.4  # cosine similarity to a denied use (embeddings), as for denied topics
    # with embeddings: a prompt whose best similarity to every allowed use is below this is flagged UNRELATED
    # (detect only, never blocked; None: not flagged)
    unrelated_below: Share | None = 0.15
    action: WholeAction = "block"


class ProtectedContent(_Section):
    corpus: Name
    min_words: Annotated[int, Field(ge=5, le=200)] = 12  # a verbatim span at least this long is a copy
    threshold: Share = 0.2  # share of the response's words inside verbatim spans of 8 words or more (patchwork)
    near_threshold: Share | None = None  # flag near copies (MinHash similarity of a window to a chunk) from this
    action: WholeAction = "block"  # on responses
    input: WholeAction = "off"  # on prompts (pasting protected text into a prompt)


class Disclosure(_Section):
    required: bool = False
    text: Annotated[str, Field(max_length=2000)] | None = None  # default: the system's disclosure text
    placement: Literal["prepend", "append"] = "append"


class Messages(_Section):
    blocked_input: Text = "Sorry, I cannot help with that request."
    blocked_output: Text = "Sorry, the answer was withheld by the guardrail policy."


class Recording(_Section):
    keep_content: bool = False  # keep the (masked) prompt and response with each decision


class Embeddings(_Section):
    # exact: the numpy float32 pass (the model's own vectors); int8: its ONNX graph with int8 matrix products
    # (the onnx extra; the exact pass without it): about twice as fast, similarities within 0.035 of exact, so a
    # sentence near a threshold can change side (docs/guardrails.md, "Precision"; benchmarks/RESULTS.md)
    precision: Literal["exact", "int8"] = "exact"


class GuardPolicy(_Section):
    """A guardrail policy: its sections, each optional."""

    schema_: Literal["assay.guardrail/1"] = Field(alias="schema")
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    description: Annotated[str, Field(max_length=2000)] = ""
    messages: Messages = Field(default_factory=Messages)
    sensitive_information: SensitiveInformation | None = None
    denied_topics: DeniedTopics | None = None
    words: Words | None = None
    prompt_attacks: PromptAttacks | None = None
    grounding: Grounding | None = None
    use_cases: UseCases | None = None
    protected_content: ProtectedContent | None = None
    disclosure: Disclosure | None = None
    recording: Recording = Field(default_factory=Recording)
    embeddings: Embeddings | None = None  # how sentences are embedded (None: exact)

    @property
    def sections(self) -> tuple[str, ...]:
        """The checking sections the policy states, in the order they run."""
        return tuple(name for name in SECTIONS if getattr(self, name) is not None)


#: The checking sections, in the order the guardrail runs them (cheap and blocking first).
SECTIONS: Final = (
    "words", "sensitive_information", "prompt_attacks", "denied_topics", "use_cases", "grounding", "protected_content",
)  # fmt: skip


def parse_guard_policy(text: str, source: str = "the guardrail policy") -> GuardPolicy:
    """Validate guardrail policy YAML; every problem names its key (``sensitive_information.entities[1].type``)."""
    data = _safe_yaml(text, source)
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: the policy must be a mapping with schema ({GUARD_SCHEMA}) and name")
    try:
        return GuardPolicy.model_validate(_off(data))
    except ValidationError as exc:
        raise invalid(source, exc) from None


_ACTION_KEYS: Final = frozenset({"input", "output", "action", "leak"})


def _off(data: object) -> object:
    """``data`` with YAML's reading of an unquoted ``off`` (the boolean false) put back as the action ``off`` where a
    key names an action (``input: off``)."""
    if isinstance(data, dict):
        return {k: "off" if k in _ACTION_KEYS and v is False else _off(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_off(v) for v in data]
    return data
