"""Protected content: responses that copy long verbatim spans of a registered corpus (documents the organisation must
not reproduce) are flagged by the guardrail's ``protected_content`` section.

:class:`CorpusIndex` holds two indexes of the corpus, built once (``services.genai.corpora`` caches them per corpus
version):

- **exact word n-grams** (``n`` words, 5 by default): every n-gram of every document, lower-cased and hashed to 64
  bits, in one sorted NumPy array with its document and position. :meth:`CorpusIndex.overlap` looks up every n-gram
  of the response (a binary search, vectorised) and follows the matches along their diagonals (response position
  minus document position) to find each maximal verbatim span: a span of ``k`` words copied from one document is
  ``k - n + 1`` consecutive matches on one diagonal. This finds every verbatim span of at least ``n`` words, and
  says how long it is, exactly (up to hash collisions, about one in 2**64 per pair);
- **MinHash locality-sensitive hashing** (``datasketch``'s ``MinHash`` and ``MinHashLSH``) over overlapping chunks
  of each document (3-word shingles): windows of the response whose shingles resemble a chunk's (estimated Jaccard
  similarity at least :data:`NEAR_THRESHOLD`) name the candidate documents of a *near* copy, one edited word by word
  so that no exact span is long. It is reported as ``near`` (the best similarity and its document) and flags only
  where the policy sets ``near_threshold``. datasketch is a well-kept library (MIT) used widely for this; writing
  MinHash and the banding of LSH by hand would be more code to get wrong.

The check flags a response (``kind`` ``matches``, ``type`` the corpus's name) when its longest verbatim span has at
least ``min_words`` words, when the share of its words inside verbatim spans of at least :data:`SHARE_WORDS` words
reaches ``threshold`` (patchwork copying), or when ``near_threshold`` is set and reached. A finding quotes at most
:data:`QUOTE_WORDS` words of the protected text (the start of the longest span), never the span itself.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.genai.guard import Context, Finding, Request
from assay.genai.policy import GuardPolicy, ProtectedContent

__all__ = [
    "MAX_DOCUMENTS",
    "MAX_WORDS",
    "CorpusIndex",
    "CorpusMatch",
    "ProtectedContentCheck",
    "Span",
    "build",
]

#: The most documents and words (all documents together) one corpus index holds; more is refused, not truncated.
MAX_DOCUMENTS: Final = 100_000
MAX_WORDS: Final = 20_000_000
#: Spans at least this long count towards the share of copied words.
SHARE_WORDS: Final = 8
#: The most words of protected text a finding quotes.
QUOTE_WORDS: Final = 5
#: An n-gram found in more places than this is followed in the first this many only (boilerplate).
MAX_OCCURRENCES: Final = 256
#: Near copies: chunk and window length (words), chunk stride, shingle size, MinHash permutations, LSH threshold.
CHUNK_WORDS: Final = 24
CHUNK_STRIDE: Final = 24  # chunks do not overlap: a response window (every 6 words) meets one closely
WINDOW_STRIDE: Final = 6
SHINGLE: Final = 3
PERMUTATIONS: Final = 64
NEAR_THRESHOLD: Final = 0.4

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_PRIME: Final = np.uint64(1_099_511_628_211)  # the 64-bit FNV prime, as the polynomial's base


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _tokens(text: str) -> tuple[NDArray[np.uint64], list[tuple[int, int]]]:
    """The hashes of the words of ``text`` (lower-cased) and each word's character span."""
    spans, hashes = [], []
    for match in _WORD.finditer(text):
        spans.append(match.span())
        hashes.append(_word_hash(match.group().lower()))
    return np.array(hashes, dtype=np.uint64), spans


def _ngrams(words: NDArray[np.uint64], n: int) -> NDArray[np.uint64]:
    """The hash of every run of ``n`` words (a polynomial of the word hashes, wrapping at 2**64)."""
    count = len(words) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    out = words[:count].copy()
    for k in range(1, n):
        out *= _PRIME
        out += words[k : k + count]
    return out


@dataclass(frozen=True)
class Span:
    """A verbatim span of the response: its characters ``start:end``, its length in words, the document it was
    copied from (index and name) and the first words of it (at most :data:`QUOTE_WORDS`)."""

    start: int
    end: int
    words: int
    document: int
    name: str
    quote: str
    start_word: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"span": [self.start, self.end], "words": self.words, "document": self.name, "quote": self.quote}


@dataclass(frozen=True)
class CorpusMatch:
    """How much of a text is copied from the corpus: ``share`` of its words inside verbatim spans of at least
    :data:`SHARE_WORDS` words, the ``longest_words`` verbatim span, the ``spans`` (longest first, not overlapping),
    and ``near``: the best estimated Jaccard similarity of a window to a corpus chunk (and its document's name), or
    None when no window came near."""

    share: float
    longest_words: int
    spans: tuple[Span, ...]
    words: int
    near: float | None = None
    near_document: str | None = None

    @property
    def documents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.name for s in self.spans))


class CorpusIndex:
    """The indexes of a protected corpus (see the module's docstring). Build with :meth:`from_documents`."""

    def __init__(
        self,
        name: str,
        n: int,
        names: tuple[str, ...],
        hashes: NDArray[np.uint64],
        documents: NDArray[np.int32],
        positions: NDArray[np.int32],
        tokens: list[NDArray[np.uint64]],
        words: int,
    ) -> None:
        self.name, self.n, self.names, self.words = name, n, names, words
        self._hashes, self._documents, self._positions = hashes, documents, positions
        self._tokens = tokens  # each document's word hashes, for the near-copy index
        self._near_index: tuple[NDArray[np.uint32], NDArray[np.int32], Any] | None = None
        self._lock = threading.Lock()

    @property
    def documents(self) -> int:
        return len(self.names)

    @classmethod
    def from_documents(
        cls,
        texts: Sequence[str],
        n: int = 5,
        *,
        name: str = "corpus",
        names: Sequence[str] | None = None,
        near: bool = False,
    ) -> CorpusIndex:
        """Index ``texts`` (one per document; ``names`` name them in findings, default ``#1``, ``#2``, ...) by word
        ``n``-grams; the MinHash LSH index of near copies is built on the first :meth:`overlap` that asks for it
        (it costs about ten times the exact index), or now with ``near``."""
        if not 3 <= n <= 50:
            raise InvalidInput(f"the n-gram size n must be from 3 to 50 words, not {n}")
        if len(texts) > MAX_DOCUMENTS:
            raise InvalidInput(f"the corpus has {len(texts)} documents, more than the limit of {MAX_DOCUMENTS}")
        labels = tuple(names) if names is not None else tuple(f"#{i + 1}" for i in range(len(texts)))
        if len(labels) != len(texts):
            raise InvalidInput(f"{len(labels)} names for {len(texts)} documents")
        all_hashes, all_docs, all_pos, words = [], [], [], 0
        tokens: list[NDArray[np.uint64]] = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidInput(f"document {labels[index]} is not text")
            hashes, _spans = _tokens(text)
            words += len(hashes)
            if words > MAX_WORDS:
                raise InvalidInput(f"the corpus has more than {MAX_WORDS} words, the limit: split it into corpora")
            tokens.append(hashes)
            grams = _ngrams(hashes, n)
            all_hashes.append(grams)
            all_docs.append(np.full(len(grams), index, dtype=np.int32))
            all_pos.append(np.arange(len(grams), dtype=np.int32))
        hashes = np.concatenate(all_hashes) if all_hashes else np.empty(0, dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        docs = np.concatenate(all_docs) if all_docs else np.empty(0, dtype=np.int32)
        pos = np.concatenate(all_pos) if all_pos else np.empty(0, dtype=np.int32)
        built = cls(name, n, labels, hashes[order], docs[order], pos[order], tokens, words)
        if near:
            built.near_index()
        return built

    def near_index(self) -> tuple[NDArray[np.uint32], NDArray[np.int32], Any]:
        """The MinHash LSH index of the corpus's chunks (built once, on first use)."""
        with self._lock:
            if self._near_index is None:
                self._near_index = _near_index(self._tokens)
            return self._near_index

    def overlap(self, text: str, *, near: bool = False) -> CorpusMatch:
        """How much of ``text`` is copied from the corpus (see :class:`CorpusMatch`); ``near`` also looks for near
        copies (``CorpusMatch.near``)."""
        words, char_spans = _tokens(text)
        total = len(words)
        grams = _ngrams(words, self.n)
        spans: list[Span] = []
        if len(grams) and len(self._hashes):
            spans = self._runs(text, grams, char_spans)
        covered = np.zeros(total, dtype=bool)
        for span in spans:
            if span.words >= SHARE_WORDS:
                covered[span.start_word : span.start_word + span.words] = True
        near_value, near_doc = self._near(words) if near else (None, None)
        return CorpusMatch(
            share=float(covered.sum()) / total if total else 0.0,
            longest_words=max((s.words for s in spans), default=0),
            spans=tuple(spans),
            words=total,
            near=near_value,
            near_document=near_doc,
        )

    def _runs(self, text: str, grams: NDArray[np.uint64], char_spans: list[tuple[int, int]]) -> list[Span]:
        left = np.searchsorted(self._hashes, grams, side="left")
        right = np.searchsorted(self._hashes, grams, side="right")
        counts = np.minimum(right - left, MAX_OCCURRENCES)
        hit = counts > 0
        if not hit.any():
            return []
        query = np.repeat(np.arange(len(grams)), counts)
        starts = np.repeat(left, counts)
        firsts = np.repeat(np.cumsum(counts) - counts, counts)
        rows = starts + (np.arange(len(query)) - firsts)
        doc = self._documents[rows].astype(np.int64)
        diagonal = self._positions[rows].astype(np.int64) - query
        order = np.lexsort((query, diagonal, doc))
        doc, diagonal, query = doc[order], diagonal[order], query[order]
        new_run = np.ones(len(query), dtype=bool)
        new_run[1:] = (doc[1:] != doc[:-1]) | (diagonal[1:] != diagonal[:-1]) | (query[1:] != query[:-1] + 1)
        run_starts = np.flatnonzero(new_run)
        run_ends = np.append(run_starts[1:], len(query)) - 1
        found = sorted(
            (
                (int(query[e] - query[s]) + self.n, int(query[s]), int(doc[s]))
                for s, e in zip(run_starts, run_ends, strict=True)
            ),
            key=lambda r: (-r[0], r[1], r[2]),
        )
        taken = np.zeros(len(char_spans), dtype=bool)
        spans: list[Span] = []
        for length, first, document in found:  # longest first; a span overlapping a longer one is left out
            if taken[first : first + length].any():
                continue
            taken[first : first + length] = True
            start, end = char_spans[first][0], char_spans[first + length - 1][1]
            quote_end = char_spans[first + min(length, QUOTE_WORDS) - 1][1]
            quote = text[start:quote_end] + ("…" if length > QUOTE_WORDS else "")
            spans.append(Span(start, end, length, document, self.names[document], quote, first))
        return spans

    def _near(self, words: NDArray[np.uint64]) -> tuple[float | None, str | None]:
        chunks, owners, lsh = self.near_index()
        windows = _shingle_windows(words, WINDOW_STRIDE)
        if not windows:
            return None, None
        best, best_doc = 0.0, -1
        for minhash in _minhashes(windows):
            for key in lsh.query(minhash):
                similarity = float(np.mean(chunks[key] == minhash.hashvalues))
                if similarity > best:
                    best, best_doc = similarity, int(owners[key])
        if best_doc < 0:
            return None, None
        return best, self.names[best_doc]


def _shingle_windows(words: NDArray[np.uint64], stride: int) -> list[NDArray[np.uint64]]:
    """The 3-word shingles of each window of :data:`CHUNK_WORDS` words (every ``stride`` words; one window for a
    shorter text of at least a shingle)."""
    shingles = _ngrams(words, SHINGLE) & np.uint64(0xFFFFFFFF)  # 32 bits: datasketch's classic scheme
    if len(shingles) == 0:
        return []
    per = CHUNK_WORDS - SHINGLE + 1
    if len(shingles) <= per:
        return [shingles]
    return [shingles[i : i + per] for i in range(0, len(shingles) - per + stride, stride)]


@lru_cache(maxsize=1)
def _template() -> Any:
    """A MinHash whose permutations every other one shares (making them anew for each costs more than hashing)."""
    from datasketch import MinHash

    return MinHash(num_perm=PERMUTATIONS, hashfunc=int, seed=1)


def _minhashes(windows: list[NDArray[np.uint64]]) -> list[Any]:
    from datasketch import MinHash

    template = _template()
    out = []
    for window in windows:
        minhash = MinHash(
            num_perm=PERMUTATIONS, hashfunc=int, seed=1, permutations=template.permutations, scheme=template.scheme
        )
        minhash.update_batch(window.tolist())
        out.append(minhash)
    return out


def _near_index(tokens: list[NDArray[np.uint64]]) -> tuple[NDArray[np.uint32], NDArray[np.int32], Any]:
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=PERMUTATIONS)
    signatures: list[NDArray[np.uint64]] = []
    owners: list[int] = []
    for document, words in enumerate(tokens):
        for minhash in _minhashes(_shingle_windows(words, CHUNK_STRIDE)):
            key = len(signatures)
            lsh.insert(key, minhash, check_duplication=False)
            signatures.append(minhash.hashvalues)
            owners.append(document)
    chunks = np.array(signatures, dtype=np.uint32).reshape(len(signatures), PERMUTATIONS)
    return chunks, np.array(owners, dtype=np.int32), lsh


@dataclass
class ProtectedContentCheck:
    """The compiled ``protected_content`` section: flags responses (and, where ``input`` is on, prompts) that copy
    the corpus."""

    settings: ProtectedContent
    corpus: CorpusIndex
    section: str = "protected_content"
    method: str = "ngrams+minhash"

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        action = self.settings.action if request.source == "OUTPUT" else self.settings.input
        if action == "off" or not text:
            return []
        match = self.corpus.overlap(text, near=self.settings.near_threshold is not None)
        s = self.settings
        reasons = []
        if match.longest_words >= s.min_words:
            reasons.append("verbatim")
        if match.share >= s.threshold and match.share > 0:
            reasons.append("share")
        if s.near_threshold is not None and match.near is not None and match.near >= s.near_threshold:
            reasons.append("near")
        if not reasons:
            return []
        longest = match.spans[0] if match.spans else None
        detail: dict[str, Any] = {
            "reasons": reasons,
            "longest_words": match.longest_words,
            "min_words": s.min_words,
            "share": round(match.share, 4),
            "documents": list(match.documents[:10]),
            "spans": [sp.to_dict() for sp in match.spans[:10]],
        }
        if match.near is not None:
            detail["near"] = {"similarity": round(match.near, 4), "document": match.near_document}
        return [
            Finding(
                section=self.section,
                kind="matches",
                type=self.corpus.name,
                action="BLOCKED" if action == "block" else "NONE",
                match=None if longest is None else longest.quote,
                score=match.share,
                threshold=s.threshold,
                span=None if longest is None else (longest.start, longest.end),
                block=block,
                method=self.method,
                detail=detail,
            )
        ]


def build(policy: GuardPolicy, context: Context) -> ProtectedContentCheck | None:
    """The ``protected_content`` check of ``policy`` over the corpus index the context gives (``context.corpus``)."""
    settings = policy.protected_content
    if settings is None:
        return None
    corpus = context.corpus
    if not isinstance(corpus, CorpusIndex):
        raise InvalidInput(
            f"protected_content: the policy names corpus {settings.corpus!r} but no index of it was given: register "
            f"it with `assay guard corpus add {settings.corpus} PATH`"
        )
    if corpus.name != settings.corpus:
        raise InvalidInput(
            f"protected_content: the policy names corpus {settings.corpus!r}, the index is {corpus.name!r}"
        )
    if settings.min_words < corpus.n:
        raise InvalidInput(
            f"protected_content.min_words is {settings.min_words}, below the corpus index's n-gram size {corpus.n}: "
            f"set min_words to at least {corpus.n}"
        )
    return ProtectedContentCheck(settings, corpus)
