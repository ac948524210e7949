"""Word and phrase filters: the policy's custom list of words and phrases, found in a prompt or a response.

Matching ignores case and runs of whitespace (``Internal  Codename`` matches the phrase ``internal codename``) and
counts whole words only (``art`` is not found in ``start``; a phrase that begins or ends with a character that is
not part of a word, such as ``c++``, has no boundary to respect at that end). The list is compiled once, in
:func:`build`, into one Aho-Corasick automaton (the ``ahocorasick-rs`` package: a well-kept Rust implementation
that returns character offsets), so a prompt is scanned in one pass whatever the length of the list: 10,000
phrases cost about what 10 do (benchmarks/RESULTS.md, "Guardrails").

Each occurrence is one finding of kind ``customWords`` whose ``match`` is the policy's phrase (a phrase of the
policy, not the user's data) and whose ``span`` is where it stands in the block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import ahocorasick_rs

from assay.genai.guard import Context, Finding, FindingAction, Request
from assay.genai.policy import GuardPolicy

__all__ = ["MAX_FINDINGS", "WordFilter", "build", "fold"]

#: At most this many occurrences are reported per block (a block is decided by the first; the rest is evidence).
MAX_FINDINGS: Final = 100
_SPACES = re.compile(r"\s+")
_ODD_SPACE = re.compile(r"[^\S ]| {2}")


def _lower(text: str) -> str:
    """``text`` in lower case, character for character (the few characters whose lower case is longer, such as
    ``İ``, are kept as they are, so offsets stay those of ``text``)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` in lower case with each run of whitespace made one space, and the offset in ``text`` of each
    character of the result (None when the offsets are unchanged)."""
    low = _lower(text)
    if not _ODD_SPACE.search(low):
        return low, None
    parts: list[str] = []
    where: list[int] = []
    last = 0
    for run in _SPACES.finditer(low):
        parts.append(low[last : run.start()])
        where.extend(range(last, run.start()))
        parts.append(" ")
        where.append(run.start())
        last = run.end()
    parts.append(low[last:])
    where.extend(range(last, len(low)))
    where.append(len(low))  # the end of the text
    return "".join(parts), where


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"


@dataclass(frozen=True)
class WordFilter:
    """The compiled word list of a policy (see the module's docstring)."""

    phrases: tuple[str, ...]  # as the policy writes them (the finding's match)
    folded: tuple[str, ...]
    automaton: ahocorasick_rs.AhoCorasick
    input: str
    output: str
    section: str = "words"

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """The whole-word occurrences in ``text``: (phrase index, start, end) in ``text``'s offsets, leftmost first,
        non-overlapping (the longest phrase wins at a start)."""
        folded, where = fold(text)
        found: list[tuple[int, int, int]] = []
        for index, start, end in sorted(
            self.automaton.find_matches_as_indexes(folded, overlapping=True), key=lambda m: (m[1], -m[2])
        ):
            phrase = self.folded[index]
            if _is_word(phrase[0]) and start > 0 and _is_word(folded[start - 1]):
                continue
            if _is_word(phrase[-1]) and end < len(folded) and _is_word(folded[end]):
                continue
            if found and start < found[-1][2]:
                continue
            found.append((index, start, end))
        if where is None:
            return found
        return [(index, where[start], where[end - 1] + 1) for index, start, end in found]

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        action = self.input if request.source == "INPUT" else self.output
        if action == "off" or not text:
            return []
        verdict: FindingAction = "BLOCKED" if action == "block" else "NONE"
        return [
            Finding(
                section=self.section,
                kind="customWords",
                type="CUSTOM_WORD",
                action=verdict,
                match=self.phrases[index],
                span=(start, end),
                block=block,
                method="automaton",
            )
            for index, start, end in self.find(text)[:MAX_FINDINGS]
        ]


def build(policy: GuardPolicy, context: Context) -> WordFilter | None:
    """The word filter of ``policy`` (None without a ``words`` section)."""
    section = policy.words
    if section is None:
        return None
    kept: dict[str, str] = {}
    for phrase in section.phrases:
        folded = _SPACES.sub(" ", _lower(phrase)).strip()
        if folded:
            kept.setdefault(folded, phrase)
    folded_phrases = tuple(kept)
    return WordFilter(
        phrases=tuple(kept.values()),
        folded=folded_phrases,
        automaton=ahocorasick_rs.AhoCorasick(folded_phrases, matchkind=ahocorasick_rs.MatchKind.Standard),
        input=section.input,
        output=section.output,
    )
