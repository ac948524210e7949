"""The guardrail: a compiled policy applied to a prompt (``INPUT``) or a response (``OUTPUT``).

:class:`Guardrail` compiles a :class:`~assay.genai.policy.GuardPolicy` once (regular expressions, keyword automata,
topic embeddings) and :meth:`Guardrail.apply` runs its checks over the content blocks, in the order of
:data:`~assay.genai.policy.SECTIONS`. Each section is one module of this package with a ``build(policy, context)``
that returns a :class:`Check` (or None when the section is absent): a callable from one block of text to its
:class:`Finding` list. The guardrail then decides once:

- a finding whose action is ``BLOCKED`` replaces the whole content by the policy's message for that source;
- otherwise findings ``ANONYMIZED`` replace their spans (right to left, never overlapping) by their ``replacement``;
- findings with action ``NONE`` are recorded only (``detect``).

The result (:class:`GuardResult`) is shaped like Bedrock's ApplyGuardrail response (``to_dict``): ``action``
(``NONE`` or ``GUARDRAIL_INTERVENED``), ``outputs``, ``assessments`` per policy with each finding's match (redacted
where it is personal data or a secret), score and threshold, ``guardrailCoverage`` and the latency. It is pure: no
storage, no network; ``services.guard`` records decisions.
"""

from __future__ import annotations

import importlib
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from assay.errors import InvalidInput
from assay.genai.policy import GuardPolicy

__all__ = [
    "MAX_CHARACTERS",
    "Check",
    "Context",
    "Finding",
    "FindingAction",
    "GuardResult",
    "Guardrail",
    "Request",
    "Source",
]

Source = Literal["INPUT", "OUTPUT"]
FindingAction = Literal["BLOCKED", "ANONYMIZED", "NONE"]
#: The most characters one call guards (all blocks together); longer content is refused, not truncated.
MAX_CHARACTERS: Final = 1_000_000
MAX_BLOCKS: Final = 1_000
_CALLS: Final = itertools.count(1)  # numbers the apply calls (Request.call); next() on it is atomic in CPython

#: Each section's key in the assessment (Bedrock's names where Bedrock has the policy).
ASSESSMENT_KEYS: Final[Mapping[str, str]] = {
    "words": "wordPolicy",
    "sensitive_information": "sensitiveInformationPolicy",
    "prompt_attacks": "promptAttackPolicy",
    "denied_topics": "topicPolicy",
    "use_cases": "useCasePolicy",
    "grounding": "contextualGroundingPolicy",
    "protected_content": "protectedContentPolicy",
}

#: The module that builds each section's check (imported on first use: a policy without embeddings loads none).
BUILDERS: Final[Mapping[str, str]] = {
    "words": "assay.genai.words",
    "sensitive_information": "assay.genai.sensitive",
    "prompt_attacks": "assay.genai.attacks",
    "denied_topics": "assay.genai.topics",
    "use_cases": "assay.genai.topics",
    "grounding": "assay.genai.grounding",
    "protected_content": "assay.genai.protected",
}


@dataclass(frozen=True)
class Finding:
    """One thing a check found in one content block.

    ``section`` is the policy section, ``kind`` the list it goes in within that section's assessment (``customWords``,
    ``piiEntities``, ``regexes``, ``secrets``, ``topics``, ``filters``, ``matches``), ``type`` what was found (an
    entity type, a topic's name, ``PROMPT_ATTACK``, ``GROUNDING``, ...). ``match`` is what matched, redacted where it
    is personal data or a secret (never the value itself); ``span`` its place in the block and ``replacement`` what
    a masked span becomes. ``method`` says how it was judged (``regex``, ``checksum``, ``keywords``, ``embeddings``,
    ``lexical``, ``heuristics``, ...); ``detail`` holds what explains the verdict (the rule matched, the unsupported
    claims)."""

    section: str
    kind: str
    type: str
    action: FindingAction
    detected: bool = True
    match: str | None = None
    score: float | None = None
    threshold: float | None = None
    span: tuple[int, int] | None = None
    replacement: str | None = None
    block: int = 0
    method: str | None = None
    detail: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "action": self.action, "detected": self.detected}
        for key, value in (
            ("match", self.match), ("score", self.score), ("threshold", self.threshold), ("block", self.block),
            ("method", self.method),
        ):  # fmt: skip
            if value is not None:
                out[key] = round(value, 4) if isinstance(value, float) else value
        if self.span is not None:
            out["span"] = list(self.span)
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


@dataclass(frozen=True)
class Request:
    """What one :meth:`Guardrail.apply` call checks against besides the text: the grounding sources and the user's
    query (contextual grounding and relevance of a response), and the conversation (pseudonyms are consistent within
    one)."""

    source: Source
    sources: tuple[str, ...] = ()
    query: str | None = None
    conversation: str | None = None
    call: int = 0  # a number unique to one apply call (pseudonyms without a conversation are consistent within it)


@dataclass(frozen=True)
class Context:
    """What the workspace supplies when a policy is compiled: the system's use cases and disclosure text, the
    protected corpus's index (``genai.protected``) and the sentence embedder (``genai.embeddings``, None when the
    extra is not installed)."""

    intended_uses: tuple[str, ...] = ()
    out_of_scope_uses: tuple[str, ...] = ()
    disclosure: str | None = None
    corpus: Any = None
    embedder: Any = None


class Check(Protocol):
    """A compiled section: the findings in one block of text."""

    section: str

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]: ...


@dataclass(frozen=True)
class GuardResult:
    """What the guardrail decided about one prompt or response (see the module's docstring)."""

    policy: str
    source: Source
    action: Literal["NONE", "GUARDRAIL_INTERVENED"]
    outputs: tuple[str, ...]
    findings: tuple[Finding, ...]
    sections: tuple[str, ...]
    characters: int
    latency_ms: float
    reason: str = ""
    version: int | None = None
    methods: Mapping[str, str] = field(default_factory=dict)  # section -> how it judged (keywords or embeddings)

    @property
    def blocked(self) -> bool:
        return any(f.action == "BLOCKED" for f in self.findings)

    @property
    def masked(self) -> bool:
        return any(f.action == "ANONYMIZED" for f in self.findings)

    @property
    def text(self) -> str:
        """The outputs as one text (the blocks joined by blank lines)."""
        return "\n\n".join(self.outputs)

    def to_dict(self) -> dict[str, Any]:
        """The result shaped like Bedrock's ApplyGuardrail response."""
        assessment: dict[str, Any] = {}
        for finding in self.findings:
            key = ASSESSMENT_KEYS.get(finding.section, finding.section)
            assessment.setdefault(key, {}).setdefault(finding.kind, []).append(finding.to_dict())
        coverage = {"textCharacters": {"guarded": self.characters, "total": self.characters}}
        assessment["invocationMetrics"] = {
            "guardrailProcessingLatency": round(self.latency_ms, 3),
            "guardrailCoverage": coverage,
            "methods": dict(self.methods),
        }
        return {
            "action": self.action,
            "actionReason": self.reason,
            "outputs": [{"text": text} for text in self.outputs],
            "assessments": [assessment],
            "guardrailCoverage": coverage,
            "policy": {"name": self.policy, "version": self.version, "sections": list(self.sections)},
            "source": self.source,
        }


def _builder(section: str) -> Callable[[GuardPolicy, Context], Check | None]:
    module = importlib.import_module(BUILDERS[section])
    name = "build_use_cases" if section == "use_cases" else "build"
    builder: Callable[[GuardPolicy, Context], Check | None] = getattr(module, name)
    return builder


def _masked(text: str, findings: Sequence[Finding]) -> str:
    spans = sorted(
        (f for f in findings if f.action == "ANONYMIZED" and f.span is not None and f.replacement is not None),
        key=lambda f: (f.span[0] if f.span else 0, -(f.span[1] if f.span else 0)),
    )
    kept: list[Finding] = []
    for finding in spans:  # the first (longest at a start) wins where spans overlap
        assert finding.span is not None
        if not kept or finding.span[0] >= (kept[-1].span or (0, 0))[1]:
            kept.append(finding)
    out = text
    for finding in reversed(kept):
        assert finding.span is not None and finding.replacement is not None
        start, end = finding.span
        out = out[:start] + finding.replacement + out[end:]
    return out


class Guardrail:
    """A compiled guardrail policy (see the module's docstring). Compile once, apply many times; ``apply`` is
    thread-safe (the pseudonyms of ``mask_style: pseudonym``, kept per conversation, are behind a lock)."""

    def __init__(self, policy: GuardPolicy, context: Context | None = None, *, version: int | None = None) -> None:
        self.policy = policy
        self.version = version
        self.context = context or Context()
        self.checks: list[Check] = []
        built: set[str] = set()
        for section in policy.sections:
            check = _builder(section)(policy, self.context)
            if check is not None:
                self.checks.append(check)
                built.add(section)
        self.methods: dict[str, str] = {
            c.section: str(getattr(c, "method", "")) for c in self.checks if getattr(c, "method", None)
        }

    def apply(
        self,
        source: Source,
        content: str | Sequence[str],
        *,
        sources: Sequence[str] = (),
        query: str | None = None,
        conversation: str | None = None,
    ) -> GuardResult:
        """The guardrail's decision on ``content`` (one text or a list of blocks) as a prompt (``INPUT``) or a
        response (``OUTPUT``); ``sources`` and ``query`` are what a response is grounded in and answers."""
        started = time.perf_counter()
        if source not in ("INPUT", "OUTPUT"):
            raise InvalidInput(f"source must be INPUT or OUTPUT, not {source!r}")
        blocks = [content] if isinstance(content, str) else list(content)
        if len(blocks) > MAX_BLOCKS:
            raise InvalidInput(f"content has {len(blocks)} blocks, more than the limit of {MAX_BLOCKS}")
        if any(not isinstance(b, str) for b in blocks):
            raise InvalidInput("content must be text or a list of texts")
        characters = sum(len(b) for b in blocks)
        if characters > MAX_CHARACTERS:
            raise InvalidInput(f"content has {characters} characters, more than the limit of {MAX_CHARACTERS}")
        request = Request(source, tuple(sources), query, conversation, next(_CALLS))
        findings: list[Finding] = []
        for index, text in enumerate(blocks):
            for check in self.checks:
                findings.extend(check(text, index, request))
        messages = self.policy.messages
        if any(f.action == "BLOCKED" for f in findings):
            outputs: tuple[str, ...] = (messages.blocked_input if source == "INPUT" else messages.blocked_output,)
            first = next(f for f in findings if f.action == "BLOCKED")
            reason = f"blocked by {first.section}: {first.type}"
            action: Literal["NONE", "GUARDRAIL_INTERVENED"] = "GUARDRAIL_INTERVENED"
        elif any(f.action == "ANONYMIZED" for f in findings):
            outputs = tuple(_masked(text, [f for f in findings if f.block == i]) for i, text in enumerate(blocks))
            reason = "masked " + ", ".join(sorted({f.type for f in findings if f.action == "ANONYMIZED"}))
            action = "GUARDRAIL_INTERVENED"
        else:
            outputs, reason, action = tuple(blocks), "", "NONE"
        return GuardResult(
            policy=self.policy.name,
            source=source,
            action=action,
            outputs=outputs,
            findings=tuple(findings),
            sections=tuple(c.section for c in self.checks),
            characters=characters,
            latency_ms=(time.perf_counter() - started) * 1000,
            reason=reason,
            version=self.version,
            methods=self.methods,
        )
