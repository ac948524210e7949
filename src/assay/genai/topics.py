"""Denied topics and use-case scope: what a prompt (or a response) is about, judged against topics defined in the
policy and the system's use cases.

**Denied topics** (``denied_topics``): each topic has a definition, examples and keywords.

- With the embedding extra (``method: auto`` or ``embeddings``), each sentence of the text and the text as a whole
  are embedded (:mod:`assay.genai.embeddings`) and compared with the topic's definition and each example; the topic
  is found when the best cosine similarity reaches ``threshold``. The finding's ``method`` is ``embeddings``, its
  score the similarity, its detail what was closest (``definition`` or ``example 2``) and which sentence.
- Without it (or with ``method: keywords``), the topic's keywords and its examples are matched as phrases (whole
  words, any case, an optional plural ending); ``method`` is ``keywords``, ``match`` the phrase found.
- With embeddings and the system's intended uses known (``contrast``, on by default), a sentence counts for a topic
  only when it is also closer to the topic than to every intended use: a system's own domain words ("arrest
  report") are near its denied topics ("whether an arrested person should be released"), and a request inside
  its intended use is not a denied topic. The finding's detail gives ``intended_use_similarity``.
- The listed keywords are always matched, embeddings or not: a keyword is an explicit "this is the topic".

A topic with no keywords cannot be judged without embeddings (its examples alone rarely occur word for word), so a
policy naming ``method: keywords``, or compiled without the extra, must give every topic keywords: the build says
which topic lacks them rather than letting a denied topic pass unseen.

**Use cases** (``use_cases``): the system's intended uses and out-of-scope uses (from the system record when
``from_system``) plus the section's ``allowed`` and ``denied`` lists. They judge prompts only (``INPUT``): an answer
often names what it will not do ("I cannot score credit applications"), which is no breach.

- A prompt close to a denied or out-of-scope use is blocked (the section's ``action``): with embeddings, when the
  cosine similarity of a sentence (or the whole prompt) to the use reaches ``threshold`` (type ``OUT_OF_SCOPE``);
  without, when the prompt shares three of the use's content words (stemmed, function words left out), or three
  quarters of them for a use of fewer words (two at the least); the score is then the share of the use's words.
- With embeddings, a prompt far from every allowed use (best similarity below ``unrelated_below``) is flagged
  ``UNRELATED`` with action ``NONE`` (detect only, never blocked): a greeting or a follow-up ("and the second
  one?") is far from every use, so distance alone is no ground to refuse; the count of such prompts tells whether
  the system is used for what it was meant for. Without embeddings nothing is flagged this way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assay.errors import InvalidInput
from assay.genai._text import content_words, phrase_pattern, sentences
from assay.genai.guard import Context, Finding, FindingAction, Request
from assay.genai.policy import GuardPolicy, Topic

__all__ = ["TopicsCheck", "UseCasesCheck", "build", "build_use_cases", "units"]

_ACTIONS: dict[str, FindingAction] = {"block": "BLOCKED", "detect": "NONE"}


def units(text: str) -> list[str]:
    """What a text is judged by: each sentence, and the whole text when it has more than one (a topic may span
    two sentences). Long texts keep their first 64 sentences: a denied topic is rarely only in the tail of a
    prompt, and the cost stays bounded."""
    parts = [text[a:b] for a, b in sentences(text)][:64]
    return [*parts, text.strip()] if len(parts) > 1 else parts or ([text.strip()] if text.strip() else [])


def _unit(pieces: Sequence[str], row: int) -> str:
    """Which of :func:`units` judged: ``sentence 2`` or ``whole text``."""
    return "whole text" if len(pieces) > 1 and row == len(pieces) - 1 else f"sentence {row + 1}"


def _best(vectors: Any, targets: Any) -> tuple[float, int, int]:
    """The highest cosine similarity between the rows of ``vectors`` and ``targets``: (value, row, target)."""
    similarity = vectors @ targets.T
    row, column = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
    return float(similarity[row, column]), int(row), int(column)


@dataclass
class _Compiled:
    topic: Topic
    pattern: re.Pattern[str] | None  # the keywords (and, without embeddings, the examples) as phrases
    vectors: Any = None  # definition and examples, embedded (rows), with embeddings


class TopicsCheck:
    """The compiled ``denied_topics`` section (see the module's docstring)."""

    section = "denied_topics"

    def __init__(self, topics: list[_Compiled], embedder: Any, threshold: float, allowed: Any = None) -> None:
        self.topics = topics
        self.embedder = embedder
        self.threshold = threshold
        self.allowed = allowed  # the system's intended uses, embedded (rows), or None
        self.method = "embeddings" if embedder is not None else "keywords"

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        side = "input" if request.source == "INPUT" else "output"
        active = [(c, getattr(c.topic, side)) for c in self.topics if getattr(c.topic, side) != "off"]
        if not active or not text.strip():
            return []
        findings: list[Finding] = []
        pieces: list[str] = []
        vectors: Any = None
        for compiled, action in active:
            found = compiled.pattern.search(text) if compiled.pattern is not None else None
            if found is not None:
                findings.append(
                    Finding(
                        self.section, "topics", compiled.topic.name, _ACTIONS[action], match=found.group(),
                        score=1.0, block=block, method="keywords", span=found.span(),
                    )
                )  # fmt: skip
                continue
            if self.embedder is None:
                continue
            if vectors is None:
                pieces = units(text)
                vectors = self.embedder.encode(pieces)
                # per unit, how close it is to the system's own intended uses (none: nothing to contrast with)
                uses = (vectors @ self.allowed.T).max(axis=1) if self.allowed is not None else None
            similarity = vectors @ compiled.vectors.T  # units x (definition, examples)
            best = similarity.max(axis=1)
            # a unit is about the topic when close enough to it and closer to it than to any intended use: "summarise
            # this arrest report" is near "whether an arrested person should be released", but nearer to the
            # system's use "summarise an arrest report"
            eligible = best >= self.threshold if uses is None else (best >= self.threshold) & (best > uses)
            if eligible.any():
                row = int(np.argmax(np.where(eligible, best, -np.inf)))
                column = int(np.argmax(similarity[row]))
                closest = "definition" if column == 0 else f"example {column}"
                detail: dict[str, Any] = {"closest": closest, "unit": _unit(pieces, row)}
                if uses is not None:
                    detail["intended_use_similarity"] = round(float(uses[row]), 4)
                findings.append(
                    Finding(
                        self.section, "topics", compiled.topic.name, _ACTIONS[action], score=float(best[row]),
                        threshold=self.threshold, block=block, method="embeddings", detail=detail,
                    )
                )  # fmt: skip
        return findings


def build(policy: GuardPolicy, context: Context) -> TopicsCheck | None:
    """The ``denied_topics`` check, or None when the policy has no such section."""
    section = policy.denied_topics
    if section is None:
        return None
    embedder = None if section.method == "keywords" else context.embedder
    if section.method == "embeddings" and embedder is None:
        raise InvalidInput(
            "denied_topics.method is embeddings but the embedding extra is not installed: install it "
            "(docs/guardrails.md, 'The embedding extra') or use method auto or keywords"
        )
    compiled: list[_Compiled] = []
    for index, topic in enumerate(section.topics):
        phrases = list(topic.keywords) if embedder is not None else [*topic.keywords, *topic.examples]
        if embedder is None and not topic.keywords:
            raise InvalidInput(
                f"denied_topics.topics[{index}] ({topic.name}) has no keywords, and without the embedding extra "
                "(or with method keywords) a topic is matched by its keywords: add keywords or install the extra"
            )
        vectors = embedder.encode([topic.definition, *topic.examples]) if embedder is not None else None
        compiled.append(_Compiled(topic, phrase_pattern(phrases), vectors))
    allowed = None
    if embedder is not None and section.contrast and context.intended_uses:
        allowed = embedder.encode(list(context.intended_uses))
    return TopicsCheck(compiled, embedder, section.threshold, allowed)


@dataclass(frozen=True)
class _Use:
    text: str
    kind: Literal["allowed", "denied"]
    stems: frozenset[str]


class UseCasesCheck:
    """The compiled ``use_cases`` section (see the module's docstring)."""

    section = "use_cases"

    def __init__(
        self, uses: Sequence[_Use], embedder: Any, threshold: float, unrelated_below: float | None, action: str
    ) -> None:
        self.denied = [u for u in uses if u.kind == "denied"]
        self.allowed = [u for u in uses if u.kind == "allowed"]
        self.embedder = embedder
        self.threshold = threshold
        self.unrelated_below = unrelated_below
        self.action: FindingAction = _ACTIONS.get(action, "NONE")
        self.method = "embeddings" if embedder is not None else "keywords"
        self._denied_vectors = embedder.encode([u.text for u in self.denied]) if embedder and self.denied else None
        self._allowed_vectors = embedder.encode([u.text for u in self.allowed]) if embedder and self.allowed else None

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        if request.source != "INPUT" or not text.strip():
            return []
        if self.embedder is None:
            return self._keywords(text, block)
        pieces = units(text)
        vectors = self.embedder.encode(pieces)
        findings: list[Finding] = []
        if self._denied_vectors is not None:
            score, _, column = _best(vectors, self._denied_vectors)
            if score >= self.threshold:
                findings.append(
                    Finding(
                        self.section, "useCases", "OUT_OF_SCOPE", self.action, match=self.denied[column].text,
                        score=score, threshold=self.threshold, block=block, method="embeddings",
                    )
                )  # fmt: skip
        if self._allowed_vectors is not None and self.unrelated_below is not None and not findings:
            score, _, column = _best(vectors, self._allowed_vectors)
            if score < self.unrelated_below:
                findings.append(
                    Finding(
                        self.section, "useCases", "UNRELATED", "NONE", score=score, threshold=self.unrelated_below,
                        block=block, method="embeddings", detail={"closest": self.allowed[column].text},
                    )
                )  # fmt: skip
        return findings

    def _keywords(self, text: str, block: int) -> list[Finding]:
        present = set(content_words(text))
        best: tuple[float, _Use] | None = None
        for use in self.denied:
            shared = len(use.stems & present)
            share = shared / len(use.stems) if use.stems else 0.0
            close = shared >= 3 or (share >= 0.75 and shared >= min(2, len(use.stems)))
            if close and (best is None or share > best[0]):
                best = (share, use)
        if best is None:
            return []
        return [
            Finding(
                self.section, "useCases", "OUT_OF_SCOPE", self.action, match=best[1].text, score=best[0],
                block=block, method="keywords", detail={"shared_words": len(best[1].stems & present)},
            )
        ]  # fmt: skip


def build_use_cases(policy: GuardPolicy, context: Context) -> UseCasesCheck | None:
    """The ``use_cases`` check, or None when the section is absent, off, or names no use at all."""
    section = policy.use_cases
    if section is None or section.action == "off":
        return None
    allowed = [*section.allowed, *(context.intended_uses if section.from_system else ())]
    denied = [*section.denied, *(context.out_of_scope_uses if section.from_system else ())]
    uses = [_Use(t, "allowed", frozenset(content_words(t))) for t in dict.fromkeys(allowed)]
    uses += [_Use(t, "denied", frozenset(content_words(t))) for t in dict.fromkeys(denied)]
    if not uses:
        return None
    return UseCasesCheck(uses, context.embedder, section.threshold, section.unrelated_below, section.action)
