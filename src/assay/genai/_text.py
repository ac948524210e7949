"""Text helpers shared by the semantic checks (topics, use cases, grounding): sentences with their spans, content
words with a light stemmer, phrase patterns. Rules, not a model: they run on every guarded text in microseconds.

Sentences end at ``.``, ``!``, ``?`` or a line break followed by a capital, a digit or a quote, except after common
abbreviations (``e.g.``, ``Dr.``, ``No.``) and inside numbers (``3.5``). A sentence tokeniser from a library
(spaCy's, NLTK's Punkt) would need a model or data files; this is enough for the checks, which judge per sentence
and tolerate a sentence cut in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["STOPWORDS", "content_words", "phrase_pattern", "sentences", "stem", "words"]

_ABBREVIATED = (
    "e.g i.e etc vs mr mrs ms dr prof st no nos fig approx inc ltd co corp jan feb mar apr jun jul aug sep sept oct "
    "nov dec art para sec"
)
_ABBREVIATIONS: Final = frozenset(_ABBREVIATED.split())
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•]\s)")
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)

#: English function words: they carry no topic, so overlap on them is no evidence of support.
_STOPWORDS = """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    of off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves may might must shall
    one two per via upon within without among amongst s t don't can't won't isn't aren't wasn't weren't i'm it's
    i'd i'll i've you're we're they're let's us please tell ask asked want like get gets got make whether
    sorry help hope sure thanks thank glad happy certainly course okay ok hello hi welcome great answer question"""
STOPWORDS: Final = frozenset(_STOPWORDS.split())


def sentences(text: str) -> list[tuple[int, int]]:
    """The spans ``(start, end)`` of the sentences of ``text`` (stripped; empty ones dropped)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start() + len(match.group().rstrip())
        before = text[start:end].rstrip(".!?\"')]").rsplit(None, 1)
        last = before[-1].lower().rstrip(".") if before else ""
        if match.group().startswith(".") and last in _ABBREVIATIONS:
            continue
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased (numbers included; ``3.5`` and ``don't`` stay whole)."""
    return [w.lower().strip(".") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light English stemmer (plural and verb endings), enough to match ``loans`` with ``loan`` and ``approved``
    with ``approve``; numbers are kept as they are."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            word = word[: len(word) - len(suffix)] + replacement
            break
    return word.rstrip("e") if len(word) > 4 else word


def content_words(text: str) -> list[str]:
    """The stems of the words of ``text`` that are not stopwords."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of ``phrases`` as whole words, whitespace-tolerant, with an
    optional plural ending on the last word (``stock tip`` matches ``stock tips``); None for no phrases."""
    parts: Sequence[str] = sorted({p.strip() for p in phrases if p.strip()}, key=len, reverse=True)
    if not parts:
        return None
    alternatives = [r"\s+".join(re.escape(token) for token in p.split()) + r"(?:s|es)?" for p in parts]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
