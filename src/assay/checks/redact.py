"""Personal data in free text replaced by tags before it is stored (end users' feedback comments).

:func:`redact` runs the offline Presidio analyzer of :mod:`assay.checks.pii` (e-mail, phone, payment card, IBAN,
IP address and national identifiers with check digits) on the whole text, and adds person names introduced by a
cue (``my name is``, ``I'm``, ``Mr``/``Ms``/``Dr``, a sign-off such as ``Regards,``): offline there is no
named-entity model, so a bare name without a cue is not found (see docs/feedback.md for the measured rates). Each
found span becomes ``<ENTITY_TYPE>``; only the counts by type are returned besides the redacted text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = ["MIN_SCORE", "Redacted", "person_names", "redact"]

#: Presidio's phone numbers score 0.4 without context words: redaction keeps them (recall over precision).
MIN_SCORE: Final = 0.35
_ENTITIES: Final = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO", "ES_NIF",
    "IT_FISCAL_CODE", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "IN_AADHAAR", "SG_NRIC_FIN",
)  # fmt: skip
_WORD = r"[A-Z\u00c0-\u00de][a-z\u00df-\u00ff'\u2019-]+"
# a capitalised name (one to three words) after a cue; the cue itself is matched without regard to case
_NAME = re.compile(
    r"(?:(?i:\bmy\s+name\s+is|\bname\s*:|\bi\s+am|\bi'm|\bi\u2019m|\bthis\s+is|\bsigned|\bregards\s*,?|"
    r"\bthanks\s*,|\bthank\s+you\s*,|\bcheers\s*,|\bsincerely\s*,?|\bbest\s*,|\bcall\s+me|\bcontact)\s+"
    r"|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+)"
    rf"(?P<name>{_WORD}(?:\s+{_WORD}){{0,2}})"
)
_WORD_RE = re.compile(_WORD)
# capitalised words after "I am" / "this is" that are not names
_NOT_NAMES: Final = frozenset(
    {"The", "This", "That", "It", "Not", "Very", "So", "Really", "Quite", "Happy", "Sad", "Angry", "Glad", "Sorry",
     "Disappointed", "Satisfied", "Unhappy", "Confused", "Frustrated", "Upset", "Sure", "Writing", "Still", "Just",
     "A", "An", "Your", "Our", "My", "Customer", "Support", "Team", "Service", "Thanks", "Thank", "Hello", "Hi",
     "Dear", "All", "Everyone", "Again", "Great", "Good", "Bad", "Wrong", "Unfair", "Unclear", "Here", "There",
     "Mr", "Mrs", "Ms", "Dr", "Best", "Kind", "Regards", "I", "We", "You", "They", "He", "She", "Please"}
)  # fmt: skip


@dataclass(frozen=True)
class Redacted:
    """The text with each found span replaced by ``<ENTITY_TYPE>``, and how many of each type were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)


def person_names(text: str) -> list[tuple[int, int, str, float]]:
    """Person names after a cue: the capitalised words up to the first that is not a name, as (start, end,
    ``"PERSON"``, score). Also used by the guardrail's sensitive-information check (``assay.genai.sensitive``)."""
    spans = []
    for match in _NAME.finditer(text):
        kept = []
        for word in _WORD_RE.finditer(match.group("name")):
            if word.group() in _NOT_NAMES:
                break
            kept.append(word)
        if kept:
            base = match.start("name")
            spans.append((base + kept[0].start(), base + kept[-1].end(), "PERSON", 0.6))
    return spans


def redact(text: str, *, min_score: float = MIN_SCORE) -> Redacted:
    """``text`` with its personal data replaced by tags (overlapping finds keep the highest score)."""
    if not text.strip():
        return Redacted(text, {})
    from assay.checks.pii import analyzer

    found = [
        (r.start, r.end, r.entity_type, float(r.score))
        for r in analyzer().analyze(text=text, language="en", entities=list(_ENTITIES), score_threshold=min_score)
    ]
    found += person_names(text)
    kept: list[tuple[int, int, str, float]] = []
    for span in sorted(found, key=lambda s: (-s[3], s[0], -(s[1] - s[0]))):
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    counts: dict[str, int] = {}
    out = text
    for start, end, entity, _ in sorted(kept, key=lambda s: s[0], reverse=True):
        out = f"{out[:start]}<{entity}>{out[end:]}"
        counts[entity] = counts.get(entity, 0) + 1
    return Redacted(out, dict(sorted(counts.items())))
