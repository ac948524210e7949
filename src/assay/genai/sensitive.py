"""Sensitive information in a prompt or a response: personal data (PII entities), the policy's own regular
expressions, and secrets (API keys, tokens, private keys).

- **PII entities** are found by the offline Presidio analyzer of :func:`assay.checks.pii.analyzer` (e-mail
  addresses, phone numbers through libphonenumber, payment cards with the Luhn check, IBANs with their checksum, IP
  addresses, and national identifiers, most with check digits) and person names after a cue (``my name is``,
  ``Dr``, a sign-off) by :func:`assay.checks.redact.person_names`: there is no named-entity model offline, so a bare
  name without a cue is not found. The analyzer runs only on the windows of the text around a character that can
  start an entity (a digit or ``@``, 40 characters either side): prose without digits costs nothing, and a 1 KB
  prompt stays under the 5 ms budget. The recognisers are called directly, without the analyzer's tokenising and
  context pass (a phone number scores 0.4 without a context word; the default ``min_score`` keeps it). A decimal
  number (``0.4532015112830366``) or a digit run inside a longer token holds no identifier: random digits pass a
  check digit by chance (one in ten passes Luhn); a phone number written as bare digits needs a cue (``call``).
- **Regexes** are the policy's patterns, compiled once.
- **Secrets** are tokens of well-known formats (AWS access key ids, GitHub, GitLab, Slack, Stripe, OpenAI,
  Anthropic and Google API keys, JSON Web Tokens, PEM private keys) and generic assignments such as
  ``api_key = ...``, ``token: ...``, ``password=...`` or ``Bearer ...`` whose value looks random (Shannon entropy and
  a mix of character classes; a word such as ``expired`` is not a secret).

Where findings overlap, the highest score wins (a secret and a custom pattern score 1). Each finding carries its
entity's action for the request's source: ``mask`` replaces the span by a tag (``{EMAIL_ADDRESS}``) or, with
``mask_style: pseudonym``, by a stand-in that is the same for the same value within one conversation
(``EMAIL_ADDRESS_1``); ``block`` withholds the whole content; ``detect`` only reports. A finding's ``match`` never
holds the value: only its type and length (``<EMAIL_ADDRESS, 22 characters>``).

Pseudonyms are kept per conversation (``Request.conversation``; without one, per call) under a keyed hash of the
value (keyed BLAKE2b with a key made when the policy is compiled), so the memory holds no personal data; it is
bounded (:data:`MAX_CONVERSATIONS` conversations, least recently used first out, :data:`MAX_VALUES` values each).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import re
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from assay.genai.guard import Context, Finding, Request
from assay.genai.policy import GuardPolicy

__all__ = [
    "MAX_CONVERSATIONS",
    "MAX_VALUES",
    "SECRET_TYPES",
    "Pseudonyms",
    "SensitiveCheck",
    "Span",
    "build",
    "entropy",
    "find_secrets",
]

MAX_CONVERSATIONS: Final = 10_000
MAX_VALUES: Final = 1_000
_OWN_CALLS: Final = itertools.count(-1, -1)  # scopes of checks called directly (Request.call 0): never shared
_MAX_CALLS: Final = 256  # pseudonym scopes of calls without a conversation (only the calls in flight need one)
_WINDOW: Final = 40
_TRIGGER = re.compile(r"[0-9@]+")
_LONGEST_RUN: Final = 40
_WIDEST: Final = 200  # a window widens to whitespace by at most this many characters
_DIGIT = re.compile(r"[0-9]")
_DECIMAL_BEFORE = re.compile(r"[0-9][.,]$")
_DECIMAL_AFTER = re.compile(r"^[.,][0-9]")
#: Entity types whose recogniser validates a check digit or checksum (the finding's method is ``checksum``).
_CHECKSUM: Final = frozenset(
    {"CREDIT_CARD", "IBAN_CODE", "ES_NIF", "IT_FISCAL_CODE", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "IN_AADHAAR",
     "SG_NRIC_FIN"}
)  # fmt: skip
_DIGIT_TYPES: Final = frozenset(
    {"PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "UK_NINO", "ES_NIF", "IT_FISCAL_CODE", "PL_PESEL",
     "FI_PERSONAL_IDENTITY_CODE", "IN_AADHAAR", "SG_NRIC_FIN"}
)  # fmt: skip

_NOT_WORD = r"(?![A-Za-z0-9_-])"
#: Secrets of a known format: (type, pattern).
_KNOWN_SECRETS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern, flags))
    for name, pattern, flags in (
        (
            "PRIVATE_KEY",
            r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        ("AWS_ACCESS_KEY", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[0-9A-Z]{16}\b", 0),
        ("GITHUB_TOKEN", rf"\b(?:gh[pousr]_[A-Za-z0-9]{{36,251}}|github_pat_[A-Za-z0-9_]{{22,255}}){_NOT_WORD}", 0),
        ("GITLAB_TOKEN", rf"\bgl(?:pat|dt|rt|ptt|cbt|imt|oas|ft|soat|agent)-[A-Za-z0-9_-]{{20,}}{_NOT_WORD}", 0),
        ("SLACK_TOKEN", rf"\bxox[abposre]-[A-Za-z0-9-]{{10,}}{_NOT_WORD}", 0),
        ("SLACK_WEBHOOK", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}", 0),
        ("STRIPE_KEY", rf"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{{16,}}{_NOT_WORD}", 0),
        ("ANTHROPIC_API_KEY", rf"\bsk-ant-[A-Za-z0-9_-]{{32,}}{_NOT_WORD}", 0),
        ("OPENAI_API_KEY", rf"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{{32,}}{_NOT_WORD}", 0),
        ("GOOGLE_API_KEY", rf"\bAIza[0-9A-Za-z_-]{{35}}{_NOT_WORD}", 0),
        ("JWT", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}", 0),
    )
)
#: A value assigned to a name that says it is secret (``api_key = ...``, ``"token": "..."``, ``Bearer ...``).
_ASSIGNED = re.compile(
    r"(?i)(?:\b[a-z0-9_.-]{0,40}?(?:api[_.-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|credentials?|auth)"
    r"[a-z0-9_.-]{0,20}[\"']?\s{0,3}(?:=>|:=|=|:)\s{0,3}[\"']?|\bbearer\s+)"
    r"(?P<value>[A-Za-z0-9_\-+/=.~!@#$%^&*]{8,200})"
)
SECRET_TYPES: Final = (*(name for name, _ in _KNOWN_SECRETS), "GENERIC_SECRET")
#: Literal text each known format contains (a pattern runs only where one is present: most prompts hold none).
_MARKERS: Final = {
    "PRIVATE_KEY": ("PRIVATE KEY",), "AWS_ACCESS_KEY": ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA",
    "ANPA", "ANVA", "APKA"), "GITHUB_TOKEN": ("gh", "github_pat_"), "GITLAB_TOKEN": ("gl",), "SLACK_TOKEN": ("xox",),
    "SLACK_WEBHOOK": ("hooks.slack.com",), "STRIPE_KEY": ("k_live_", "k_test_"), "ANTHROPIC_API_KEY": ("sk-ant-",),
    "OPENAI_API_KEY": ("sk-",), "GOOGLE_API_KEY": ("AIza",), "JWT": ("eyJ",),
}  # fmt: skip
_ASSIGNED_MARKERS: Final = ("key", "secret", "token", "pass", "pwd", "credential", "auth", "bearer")


def entropy(value: str) -> float:
    """The Shannon entropy of ``value``'s characters, in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _random_looking(value: str) -> bool:
    """Whether an assigned value looks like a generated secret rather than a word: 16 characters or more with letters
    and digits and an entropy of at least 3.3 bits per character, or 8 or more with three character classes (lower,
    upper, digits, symbols) and at least 2.5 bits."""
    value = value.rstrip("=.")
    classes = sum(
        (any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
         any(not c.isalnum() for c in value))
    )  # fmt: skip
    bits = entropy(value)
    has_digit = any(c.isdigit() for c in value)
    has_letter = any(c.isalpha() for c in value)
    return (len(value) >= 16 and has_digit and has_letter and bits >= 3.3) or (
        len(value) >= 8 and classes >= 3 and bits >= 2.5
    )


@dataclass(frozen=True)
class Span:
    """One found value: its place, what it is, which list it belongs to and how sure the finder is."""

    start: int
    end: int
    type: str
    kind: str  # piiEntities, regexes, secrets
    score: float
    method: str


def find_secrets(text: str) -> list[Span]:
    """The secrets in ``text`` (see the module's docstring)."""
    found = [
        Span(m.start(), m.end(), name, "secrets", 1.0, "pattern")
        for name, pattern in _KNOWN_SECRETS
        if any(marker in text for marker in _MARKERS[name])
        for m in pattern.finditer(text)
    ]
    folded = text.lower()
    if not any(marker in folded for marker in _ASSIGNED_MARKERS):
        return found
    for m in _ASSIGNED.finditer(text):
        if _random_looking(m.group("value")):
            found.append(Span(m.start("value"), m.end("value"), "GENERIC_SECRET", "secrets", 0.9, "entropy"))
    return found


_DECIMAL_SPAN = re.compile(r"^[-+]?[0-9]*[.,][0-9]+$")


def _in_decimal(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is or is part of a decimal number (``0.4532...`` or ``4532....5``)."""
    return bool(
        _DECIMAL_SPAN.match(text[start:end])
        or _DECIMAL_BEFORE.search(text[max(0, start - 2) : start])
        or _DECIMAL_AFTER.match(text[end : end + 2])
    )


_PHONE_CUE = re.compile(r"(?i)\b(?:call|phone|tel|telephone|mobile|cell|ring|reach|text|sms|whatsapp|fax|number|no)\b")


def _inside_token(text: str, start: int, end: int) -> bool:
    """Whether the span is part of a longer run of letters and digits (an identifier inside a tracking number)."""
    before, after = text[start - 1 : start], text[end : end + 1]
    return (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum())


def _bare_digits(text: str, start: int, end: int) -> bool:
    """A phone number written as bare digits (no ``+``, space, dash or bracket) without a cue such as ``call`` or
    ``phone`` in the 30 characters before: an order or account number is a valid phone number somewhere."""
    return text[start:end].isdigit() and not _PHONE_CUE.search(text[max(0, start - 30) : start])


def _windows(text: str) -> list[tuple[int, int]]:
    """The parts of ``text`` around characters that can start an entity (a digit or ``@``), ``_WINDOW`` characters
    either side widened to whitespace (by at most ``_WIDEST``), merged where they touch."""
    out: list[tuple[int, int]] = []
    for run in _TRIGGER.finditer(text):
        if run.end() - run.start() > _LONGEST_RUN or (out and run.end() + _WINDOW <= out[-1][1]):
            continue  # a run of 40 digits is no entity (nor holds one: an identifier inside a token is none)
        start, end = max(0, run.start() - _WINDOW), min(len(text), run.end() + _WINDOW)
        floor, ceiling = max(0, start - _WIDEST), min(len(text), end + _WIDEST)
        while start > floor and not text[start - 1].isspace():
            start -= 1
        while end < ceiling and not text[end].isspace():
            end += 1
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


_PHONE_LIKE = re.compile(r"[+(]?\d[\d \t().\-/]{5,20}\d")


def _candidates(window: str, wanted: frozenset[str]) -> list[str]:
    """The entity types ``window`` could hold (the phone recogniser is the slow one: it runs only where a run of
    digits and separators holds 7 digits or more)."""
    digits = len(_DIGIT.findall(window))
    out = []
    for entity in wanted:
        if entity == "EMAIL_ADDRESS":
            keep = "@" in window
        elif entity == "IP_ADDRESS":
            keep = digits > 0 and ("." in window or ":" in window)
        elif entity == "PHONE_NUMBER":
            keep = digits >= 7 and any(len(_DIGIT.findall(m)) >= 7 for m in _PHONE_LIKE.findall(window))
        else:
            keep = digits >= 5
        if keep:
            out.append(entity)
    return sorted(out)


_INTERNATIONAL = re.compile(r"^[^0-9+]*\+\d")


@cache
def _international_phones() -> Any:
    """Presidio's phone recogniser for one region: enough for a number written with its country code."""
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    return PhoneRecognizer(supported_regions=("US",))


@cache
def _recognisers() -> dict[str, list[Any]]:
    """The offline analyzer's recognisers (:func:`assay.checks.pii.analyzer`) by the entity type they find."""
    from assay.checks.pii import analyzer

    out: dict[str, list[Any]] = {}
    for recogniser in analyzer().registry.recognizers:
        for entity in recogniser.supported_entities:
            out.setdefault(entity, []).append(recogniser)
    return out


def pii_spans(text: str, entities: frozenset[str], min_score: float) -> list[Span]:
    """The PII entities of the types ``entities`` in ``text`` scoring at least ``min_score``."""
    found: list[Span] = []
    if "PERSON" in entities:
        from assay.checks.redact import person_names

        found += [Span(s, e, t, "piiEntities", score, "cue") for s, e, t, score in person_names(text)]
    wanted = entities - {"PERSON"}
    if not wanted:
        return found
    recognisers = None
    for start, end in _windows(text):
        window = text[start:end]
        types = _candidates(window, wanted)
        if not types:
            continue
        recognisers = recognisers or _recognisers()
        # the recognisers are called directly: the engine's tokenising and context pass cost more than they find
        # here (a phone number scores 0.4 without a context word, which the default min_score keeps)
        found += _recognised(text, start, window, types, recognisers, min_score)
    return found


def _recognised(
    text: str, start: int, window: str, types: Sequence[str], recognisers: dict[str, list[Any]], min_score: float
) -> list[Span]:
    """The entities the recognisers find in ``window`` (at ``start`` in ``text``); the phone recogniser (the slow
    one: libphonenumber, region by region) reads only the runs of digits that could be a number, with a margin."""
    parts: list[tuple[int, str, str]] = []
    for entity in types:
        if entity == "PHONE_NUMBER":
            for run in _PHONE_LIKE.finditer(window):
                if len(_DIGIT.findall(run.group())) >= 7:
                    at = max(0, run.start() - 12)
                    parts.append((start + at, window[at : run.end() + 12], entity))
        else:
            parts.append((start, window, entity))
    found: list[Span] = []
    for offset, part, entity in parts:
        chosen = recognisers.get(entity, ())
        if entity == "PHONE_NUMBER" and _INTERNATIONAL.search(part):
            chosen = [_international_phones()]  # a number with its country code reads the same in every region
        for result in (r for rec in chosen for r in rec.analyze(part, [entity], None) or ()):
            if result.score < min_score:
                continue
            s, e = offset + result.start, offset + result.end
            if result.entity_type in _DIGIT_TYPES and (_in_decimal(text, s, e) or _inside_token(text, s, e)):
                continue
            if result.entity_type == "PHONE_NUMBER" and _bare_digits(text, s, e):
                continue
            method = "checksum" if result.entity_type in _CHECKSUM else "pattern"
            found.append(Span(s, e, result.entity_type, "piiEntities", float(result.score), method))
    return list(set(found))


def _resolve(spans: Sequence[Span]) -> list[Span]:
    """Overlapping spans keep the highest score (then the longest, then the first)."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


@dataclass
class _Scope:
    names: dict[bytes, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class Pseudonyms:
    """Consistent stand-ins per scope (a conversation or one call): the same value of the same type gets the same
    ``TYPE_n`` (see the module's docstring). Thread-safe."""

    def __init__(self, *, conversations: int = MAX_CONVERSATIONS, values: int = MAX_VALUES) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._limits = {"conversation": conversations, "call": _MAX_CALLS}
        self._scopes: dict[str, OrderedDict[str, _Scope]] = {"conversation": OrderedDict(), "call": OrderedDict()}
        self._values = values

    def __len__(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._scopes.values())

    def stand_in(self, request: Request, label: str, value: str) -> str:
        """The stand-in of ``value`` (of type ``label``) in the request's conversation (or call)."""
        kind, key = ("conversation", request.conversation) if request.conversation else ("call", str(request.call))
        normal = value.casefold() if "@" in value else re.sub(r"[\s().-]", "", value).casefold()
        digest = hashlib.blake2b(f"{label}\x00{normal}".encode(), key=self._key, digest_size=16).digest()
        with self._lock:
            scopes = self._scopes[kind]
            scope = scopes.get(key)
            if scope is None:
                scope = scopes[key] = _Scope()
                while len(scopes) > self._limits[kind]:
                    scopes.popitem(last=False)
            else:
                scopes.move_to_end(key)
            known = scope.names.get(digest)
            if known is not None:
                return known
            number = scope.counts.get(label, 0) + 1
            scope.counts[label] = number
            name = f"{label}_{number}"
            if len(scope.names) < self._values:
                scope.names[digest] = name
            return name


_VERDICT: Final = {"block": "BLOCKED", "mask": "ANONYMIZED", "detect": "NONE"}


@dataclass
class SensitiveCheck:
    """The compiled sensitive-information section (see the module's docstring)."""

    actions: dict[str, dict[tuple[str, str], str]]  # source -> (kind, type or "*" for secrets) -> action
    regexes: tuple[tuple[str, re.Pattern[str]], ...]
    min_score: float
    pseudonym: bool
    pseudonyms: Pseudonyms = field(default_factory=Pseudonyms)
    section: str = "sensitive_information"

    def spans(self, text: str, request: Request) -> list[Span]:
        """The values found in ``text`` whose action for the request's source is not ``off``, overlaps resolved."""
        acting = self.actions[request.source]
        found: list[Span] = []
        entities = frozenset(t for kind, t in acting if kind == "piiEntities")
        if entities:
            found += pii_spans(text, entities, self.min_score)
        for name, pattern in self.regexes:
            if ("regexes", name) in acting:
                found += [
                    Span(m.start(), m.end(), name, "regexes", 1.0, "regex")
                    for m in pattern.finditer(text)
                    if m.end() > m.start()
                ]
        if ("secrets", "*") in acting:
            found += find_secrets(text)
        return _resolve(found)

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        acting = self.actions[request.source]
        if not acting or not text:
            return []
        if self.pseudonym and request.conversation is None and request.call == 0:  # called without Guardrail.apply
            request = dataclasses.replace(request, call=next(_OWN_CALLS))
        findings = []
        for span in self.spans(text, request):
            action = acting[("secrets", "*") if span.kind == "secrets" else (span.kind, span.type)]
            replacement = None
            if action == "mask":
                value = text[span.start : span.end]
                replacement = (
                    self.pseudonyms.stand_in(request, span.type, value) if self.pseudonym else "{" + span.type + "}"
                )
            findings.append(
                Finding(
                    section=self.section,
                    kind=span.kind,
                    type=span.type,
                    action=_VERDICT[action],  # type: ignore[arg-type]  # one of the three
                    match=f"<{span.type}, {span.end - span.start} characters>",
                    score=span.score,
                    threshold=self.min_score if span.kind == "piiEntities" else None,
                    span=(span.start, span.end),
                    replacement=replacement,
                    block=block,
                    method=span.method,
                )
            )
        return findings


def build(policy: GuardPolicy, context: Context) -> SensitiveCheck | None:
    """The sensitive-information check of ``policy`` (None without the section)."""
    section = policy.sensitive_information
    if section is None:
        return None
    actions: dict[str, dict[tuple[str, str], str]] = {"INPUT": {}, "OUTPUT": {}}
    rules: list[tuple[str, str, str, str]] = [("piiEntities", e.type, e.input, e.output) for e in section.entities]
    rules += [("regexes", r.name, r.input, r.output) for r in section.regexes]
    if section.secrets is not None:
        rules.append(("secrets", "*", section.secrets.input, section.secrets.output))
    for kind, name, on_input, on_output in rules:
        for source, action in (("INPUT", on_input), ("OUTPUT", on_output)):
            if action != "off":
                actions[source][(kind, name)] = action
    return SensitiveCheck(
        actions=actions,
        regexes=tuple((r.name, re.compile(r.pattern)) for r in section.regexes),
        min_score=section.min_score,
        pseudonym=section.mask_style == "pseudonym",
    )
