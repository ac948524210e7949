"""Contextual grounding and relevance of a response: is each sentence supported by the source passages it was
given, and does the response answer the query?

Per sentence of the response (sentences without a claim, such as "Sure!" or "I hope this helps.", are left out):

- **Lexical support**: the share of the sentence's content words (stemmed, function words left out) found in the
  best source window (one or two adjacent source sentences), each word weighted by its rarity in the sources
  (inverse document frequency over the source sentences, BM25-like: a word every sentence has says little).
- **Embedding support** (with the embedding extra): the cosine similarity of the sentence to the best source window.
  The sentence's support is then the mean of the two (``method: embeddings``); the lexical share alone otherwise.
- **Hard checks** (``hard_checks``): every number (``25``, ``0.2``, ``1,500``, ``three``), date (``31 March``,
  ``2027``), named entity (a capitalised word sequence that does not start the sentence, or a sentence-initial one of
  two words or more) and negation in the sentence must appear in the sources: a number in the best source window
  (as many times: "All 4 and 4 year olds" for "All 3 and 4 year olds" fails), a month or a name anywhere in them,
  and the sentence is negated (``not``, ``never``, ``no``, ``cannot``, ``n't``, ``without``, ``unless``...) exactly
  when its closest source sentence is. A failed check makes the sentence unsupported, whatever its
  similarity, and says which claim failed (``detail.unsupported[i].failed``).
- **Entailment** (an NLI model) where one is installed: :func:`set_entailment` registers a callable
  ``(premise, hypothesis) -> probability of entailment``; the support of a sentence is then that probability for
  its best window. Assay ships none (the models are hundreds of MB and their licences vary); a cross-encoder from
  sentence-transformers or an ONNX export of one plugs in as a function. ``method`` then names it.

The response's **grounding** is its least supported sentence's support (a response is as grounded as its weakest
claim), so ``grounding < grounding_threshold`` exactly when some sentence is unsupported. **Relevance** is, with
embeddings, the best cosine similarity between the query and the response or one of its sentences; without, the
share of the query's content words the response uses. A response with no claim at all (a refusal, a greeting) is
grounded (1.0).

Limits, honestly: similarity is not entailment. A sentence that reuses the source's words in a different relation
("the code is sent by email" where the source says "by text message", "after" for "before", roles swapped) scores
high on both measures; the hard checks catch changed numbers, dates, names and negations, not changed verbs or
relations. A paraphrase in other words scores low lexically. The benchmark (``benchmarks/grounding.py``, figures in
``benchmarks/RESULTS.md``) measures both failure kinds on a labelled set; for high-stakes answers plug an NLI model in.

The guardrail's check runs on responses (``OUTPUT``): grounding when the request has sources, relevance when it has
a query, nothing when it has neither. ``grounding_scores`` without sources returns ``method: none`` and grounding 0
(1 for a response without a claim): with nothing to ground it in, no claim is supported.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from assay.genai._text import STOPWORDS, content_words, sentences, words
from assay.genai.guard import Context, Finding, FindingAction, Request
from assay.genai.policy import GuardPolicy

__all__ = [
    "Entailment",
    "GroundingCheck",
    "GroundingScores",
    "SentenceSupport",
    "build",
    "grounding_scores",
    "set_entailment",
]

#: An entailment model: the probability that ``premise`` entails ``hypothesis``.
Entailment = Callable[[str, str], float]
_entailment: list[tuple[str, Entailment]] = []
_entailment_lock = threading.Lock()

MAX_SOURCE_SENTENCES: Final = 2000
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_COUNTING = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS: Final = {w: str(i) for i, w in enumerate(_COUNTING.split())}
del _NUMBER_WORDS["one"]  # "one" is as often a pronoun; "once", "twice", "half" and "double" are idioms too
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"})
_CALENDAR = "january february march april may june july august september october november december"
_MONTHS: Final = frozenset(_CALENDAR.split())
# a month by its capitalised name ("May" only next to a number: otherwise it is the verb)
_MONTH = re.compile(
    r"\b(January|February|March|April|June|July|August|September|October|November|December|(?<=\d )May|May(?= \d))\b"
)
_NEGATING = "not no never none nobody nothing neither nor cannot without unless"
_NEGATIONS: Final = frozenset(_NEGATING.split())
_ENTITY = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of|the|de|von|van|and|&)?\s*[A-Z0-9][\w'’-]*)*")


def set_entailment(model: Entailment | None, name: str = "nli") -> None:
    """Register (or, with None, remove) the entailment model grounding uses from now on in this process."""
    with _entailment_lock:
        _entailment.clear()
        if model is not None:
            _entailment.append((name, model))


@dataclass(frozen=True)
class SentenceSupport:
    """How well one response sentence is supported: ``support`` 0-1, the source window that supports it best, and
    the hard checks it failed (``number 25``, ``entity Lumen``, ``negation``)."""

    sentence: str
    support: float
    lexical: float
    similarity: float | None
    source: str
    failed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sentence": self.sentence, "support": round(self.support, 4)}
        out["lexical"] = round(self.lexical, 4)
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 4)
        if self.failed:
            out["failed"] = list(self.failed)
        return out


@dataclass(frozen=True)
class GroundingScores:
    """Grounding (0-1: the least supported sentence's support), relevance (0-1, None without a query), the
    unsupported sentences and how they were judged (``lexical``, ``embeddings``, the entailment model's name, or
    ``none`` without sources)."""

    grounding: float
    relevance: float | None
    unsupported: tuple[str, ...]
    method: str
    sentences: tuple[SentenceSupport, ...] = field(default_factory=tuple)
    threshold: float = 0.0


def _numbers(text: str) -> Counter[str]:
    """The numbers of ``text``, counted (``1,500`` is 1500; ``three`` is 3)."""
    found = [n.replace(",", "") for n in _NUMBER.findall(text)]
    found += [_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS]
    return Counter(n[:-2] if n.endswith(".0") else n for n in found)


def _entities(sentence: str) -> list[tuple[str, ...]]:
    """The names in ``sentence``, each as the spellings that count as found: a sequence that starts the sentence
    may also be found without its first word ("Click Forgotten password": "Forgotten"), a plural without its s."""
    out: list[tuple[str, ...]] = []
    for match in _ENTITY.finditer(sentence):
        tokens = [t for t in match.group().split() if t.lower() not in _MONTHS and not t.isdigit()]
        first = sentence[: match.start()].strip() in {"", '"', "(", "-", "*"}
        while tokens and tokens[0].lower() in STOPWORDS:
            tokens, first = tokens[1:], False
        if not tokens or (first and len(tokens) < 2) or tokens == ["I"]:
            continue  # a capitalised first word is usually just the sentence's first word
        name = " ".join(tokens)
        spellings = [name, name[:-1]] if name.endswith("s") else [name]
        if first:
            spellings.append(" ".join(tokens[1:]))
        out.append(tuple(spellings))
    return out


def _negated(text: str) -> bool:
    return any(w in _NEGATIONS or w.endswith(("n't", "n’t")) for w in words(text))


def _normalised(text: str) -> str:
    return " ".join(words(text))


@dataclass
class _Sources:
    """The source passages cut into windows (one sentence, and two adjacent ones) with their stems and weights."""

    text: str
    windows: list[str]
    stems: list[set[str]]
    idf: dict[str, float]
    months: set[str]
    normalised: str
    single: list[bool]  # the window is one sentence (not two adjacent ones)

    @classmethod
    def of(cls, passages: Sequence[str]) -> _Sources:
        units: list[str] = []
        single: list[bool] = []
        for passage in passages:
            parts = [passage[a:b] for a, b in sentences(passage)]
            pairs = [f"{a} {b}" for a, b in itertools.pairwise(parts)]
            units += parts + pairs
            single += [True] * len(parts) + [False] * len(pairs)
        units, single = units[:MAX_SOURCE_SENTENCES], single[:MAX_SOURCE_SENTENCES]
        stems = [set(content_words(u)) for u in units]
        counts = Counter(s for unit in stems for s in unit)
        n = max(len(units), 1)
        idf = {s: math.log(1 + (n - c + 0.5) / (c + 0.5)) for s, c in counts.items()}
        text = "\n".join(passages)
        months = {m.group(1).lower() for m in _MONTH.finditer(text)}
        return cls(text, units, stems, idf, months, f" {_normalised(text)} ", single)

    def weight(self, word: str) -> float:
        return self.idf.get(word, math.log(1 + (len(self.windows) + 0.5) / 0.5))  # unseen: as rare as can be


@functools.lru_cache(maxsize=32)
def _indexed(passages: tuple[str, ...], embedder: Any) -> tuple[_Sources, Any]:
    """The sources' windows and, with an embedder, their vectors: kept for the last 32 sets of sources (a few MB at
    most), since a conversation's answers, or two models' answers in an evaluation, are grounded in the same
    passages. Sources beyond :data:`MAX_SOURCE_SENTENCES` windows are not read: a claim only they support is
    reported unsupported, the safe side."""
    index = _Sources.of(passages)
    return index, (embedder.encode(index.windows) if embedder is not None and index.windows else None)


def _claims(response: str) -> list[str]:
    """The response's sentences that state something: two content words at least, or a number or a name."""
    out = []
    for a, b in sentences(response):
        sentence = response[a:b]
        if len(content_words(sentence)) >= 2 or _numbers(sentence):
            out.append(sentence)
    return out


def _lexical(claim: set[str], sources: _Sources) -> tuple[float, int, int]:
    """The best window's weighted share of the claim's content words, that window and the best single sentence."""
    if not claim or not sources.windows:
        return 0.0, 0, 0
    total = sum(sources.weight(w) for w in claim)
    best, where, closest, single_best = 0.0, 0, 0, -1.0
    for index, window in enumerate(sources.stems):
        share = sum(sources.weight(w) for w in claim & window) / total
        if share > best:
            best, where = share, index
        if sources.single[index] and share > single_best:
            single_best, closest = share, index
    return best, where, closest


def _failed(sentence: str, window: str, closest: str, sources: _Sources) -> tuple[str, ...]:
    """The hard checks ``sentence`` fails against its best ``window`` (numbers: as often as the sentence has them),
    the sources (dates, names) and its ``closest`` single source sentence (negation)."""
    failed = [f"number {n}" for n in sorted(_numbers(sentence) - _numbers(window))]
    months = {m.group(1).lower() for m in _MONTH.finditer(sentence)}
    failed += [f"date {m}" for m in sorted(months - sources.months)]
    for spellings in _entities(sentence):
        if not any(f" {_normalised(name)} " in sources.normalised for name in spellings if name):
            failed.append(f"entity {spellings[0]}")
    if _negated(sentence) != _negated(closest):
        failed.append("negation")
    return tuple(failed)


def grounding_scores(
    response: str,
    sources: Sequence[str],
    query: str | None = None,
    *,
    embedder: Any = None,
    threshold: float = 0.4,
    hard_checks: bool = True,
) -> GroundingScores:
    """How well ``response`` is grounded in ``sources`` and answers ``query`` (see the module's docstring):
    ``grounding`` 0-1, ``relevance`` 0-1 (None without a query), the sentences whose support is below
    ``threshold`` or that fail a hard check, and the method. For the evaluation harness and the guardrail."""
    relevance = _relevance(response, query, embedder) if query else None
    passages = [s for s in sources if s and s.strip()]
    claims = _claims(response)
    if not passages:
        return GroundingScores(1.0 if not claims else 0.0, relevance, tuple(claims), "none", (), threshold)
    with _entailment_lock:
        entail = _entailment[0] if _entailment else None
    method = entail[0] if entail else ("embeddings" if embedder is not None else "lexical")
    if not claims:
        return GroundingScores(1.0, relevance, (), method, (), threshold)
    index, windows = _indexed(tuple(passages), embedder)
    similarity: Any = None
    if embedder is not None:
        similarity = embedder.encode(claims) @ windows.T
    judged: list[SentenceSupport] = []
    for row, sentence in enumerate(claims):
        lexical, where, closest = _lexical(set(content_words(sentence)), index)
        cosine = None
        support = lexical
        if similarity is not None:
            best = int(np.argmax(similarity[row]))
            cosine = float(max(similarity[row, best], 0.0))
            if cosine > float(similarity[row, where]) + 0.1:
                where = best  # the window closest in meaning, when it is clearly closer than the best by words
            support = (lexical + cosine) / 2
        window = index.windows[where]
        if entail is not None:
            support = float(entail[1](window, sentence))
        failed = _failed(sentence, window, index.windows[closest], index) if hard_checks else ()
        judged.append(SentenceSupport(sentence, 0.0 if failed else support, lexical, cosine, window, failed))
    grounding = min(s.support for s in judged)
    unsupported = tuple(s.sentence for s in judged if s.support < threshold)
    return GroundingScores(grounding, relevance, unsupported, method, tuple(judged), threshold)


def _relevance(response: str, query: str, embedder: Any) -> float:
    if not response.strip():
        return 0.0
    if embedder is not None:
        parts = [response[a:b] for a, b in sentences(response)][:64]
        vectors = embedder.encode([query, response, *parts])
        return float(np.clip(np.max(vectors[1:] @ vectors[0]), 0.0, 1.0))
    asked = set(content_words(query))
    if not asked:
        return 1.0
    said = set(content_words(response))
    return len(asked & said) / len(asked)


_ACTIONS: dict[str, FindingAction] = {"block": "BLOCKED", "detect": "NONE"}


class GroundingCheck:
    """The compiled ``grounding`` section: judges responses (``OUTPUT``) against the request's sources and query."""

    section = "grounding"

    def __init__(
        self,
        embedder: Any,
        grounding_threshold: float | None,
        relevance_threshold: float | None,
        hard_checks: bool,
        action: str,
    ) -> None:
        self.embedder = embedder
        self.grounding_threshold = grounding_threshold
        self.relevance_threshold = relevance_threshold
        self.hard_checks = hard_checks
        self.action: FindingAction = _ACTIONS.get(action, "NONE")
        self.method = "embeddings" if embedder is not None else "lexical"

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        if request.source != "OUTPUT" or not text.strip():
            return []
        ground = self.grounding_threshold is not None and bool(request.sources)
        relate = self.relevance_threshold is not None and bool(request.query)
        if not ground and not relate:
            return []
        scores = grounding_scores(
            text,
            request.sources if ground else (),
            request.query if relate else None,
            embedder=self.embedder,
            threshold=self.grounding_threshold or 0.0,
            hard_checks=self.hard_checks,
        )
        findings: list[Finding] = []
        if ground and self.grounding_threshold is not None and scores.grounding < self.grounding_threshold:
            weak = [s.to_dict() for s in scores.sentences if s.sentence in scores.unsupported]
            findings.append(
                Finding(
                    self.section, "filters", "GROUNDING", self.action, score=scores.grounding,
                    threshold=self.grounding_threshold, block=block, method=scores.method,
                    detail={"unsupported": weak},
                )
            )  # fmt: skip
        relevance = scores.relevance
        limit = self.relevance_threshold
        if relate and limit is not None and relevance is not None and relevance < limit:
            findings.append(
                Finding(
                    self.section, "filters", "RELEVANCE", self.action, score=relevance, threshold=limit,
                    block=block, method="embeddings" if self.embedder is not None else "lexical",
                )
            )  # fmt: skip
        return findings


def build(policy: GuardPolicy, context: Context) -> GroundingCheck | None:
    """The ``grounding`` check, or None when the policy has no such section or its action is off."""
    section = policy.grounding
    if section is None or section.action == "off":
        return None
    embedder = None if section.method == "lexical" else context.embedder
    if section.method == "embeddings" and embedder is None:
        from assay.errors import InvalidInput

        raise InvalidInput(
            "grounding.method is embeddings but the embedding extra is not installed: install it "
            "(docs/guardrails.md, 'The embedding extra') or use method auto or lexical"
        )
    return GroundingCheck(
        embedder, section.grounding_threshold, section.relevance_threshold, section.hard_checks, section.action
    )
