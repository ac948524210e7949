"""The protected-content index and check (pure): verbatim spans found with their exact length, near copies by
MinHash LSH, findings that never quote more than a few words, and the guardrail blocking a copied response."""

from __future__ import annotations

import random

import pytest

from assay.errors import InvalidInput
from assay.genai.guard import Context, Guardrail
from assay.genai.policy import parse_guard_policy
from assay.genai.protected import QUOTE_WORDS, CorpusIndex, build

VOCAB = [f"term{i}" for i in range(3000)]


def prose(words: int, rng: random.Random) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words))


@pytest.fixture(scope="module")
def corpus() -> tuple[CorpusIndex, list[str]]:
    rng = random.Random(1)
    documents = [prose(300, rng) for _ in range(40)]
    documents.append("The quick brown fox jumps over the lazy dog, and the Dog's owner says: it's fine.")
    names = [f"doc-{i}" for i in range(len(documents))]
    return CorpusIndex.from_documents(documents, name="house-style", names=names), documents


@pytest.mark.parametrize("length", [5, 12, 20, 40])
def test_a_planted_verbatim_span_is_found_with_its_exact_length(
    corpus: tuple[CorpusIndex, list[str]], length: int
) -> None:
    index, documents = corpus
    rng = random.Random(length)
    copied = " ".join(documents[7].split()[50 : 50 + length])
    text = f"{prose(60, rng)} {copied} {prose(60, rng)}"
    match = index.overlap(text)
    assert match.longest_words == length
    assert match.spans[0].name == "doc-7"
    assert text[match.spans[0].start : match.spans[0].end] == copied
    assert match.documents == ("doc-7",)


def test_original_text_and_short_shared_phrases_are_not_copies(corpus: tuple[CorpusIndex, list[str]]) -> None:
    index, _ = corpus
    match = index.overlap(prose(200, random.Random(99)) + " the quick brown fox")
    assert match.longest_words == 0 and match.share == 0.0 and match.spans == ()
    assert index.overlap("").words == 0


def test_matching_ignores_case_and_punctuation_but_keeps_the_response_characters(
    corpus: tuple[CorpusIndex, list[str]],
) -> None:
    index, _ = corpus
    text = "Intro: THE QUICK BROWN FOX — jumps over the lazy dog and the dog's owner says it's fine!"
    match = index.overlap(text)
    assert match.longest_words == 16
    assert text[match.spans[0].start : match.spans[0].end].startswith("THE QUICK")


def test_the_share_counts_patchwork_copying(corpus: tuple[CorpusIndex, list[str]]) -> None:
    index, documents = corpus
    pieces = [" ".join(documents[i].split()[10:19]) for i in range(5)]  # five 9-word spans
    text = " ".join(f"{p} {prose(8, random.Random(100 + i))}" for i, p in enumerate(pieces))
    match = index.overlap(text)
    assert match.longest_words == 9
    assert match.share == pytest.approx(45 / 85)


def test_an_edited_copy_is_a_near_copy_not_a_verbatim_one(corpus: tuple[CorpusIndex, list[str]]) -> None:
    index, documents = corpus
    words = documents[3].split()[48:96]
    for i in range(0, len(words), 12):
        words[i] = "changed"
    text = f"{prose(30, random.Random(5))} {' '.join(words)}"
    match = index.overlap(text, near=True)
    assert match.longest_words < 12
    assert match.near is not None and match.near >= 0.4 and match.near_document == "doc-3"
    assert index.overlap(prose(80, random.Random(6)), near=True).near is None


def policy(extra: str = "") -> str:
    return f"schema: assay.guardrail/1\nname: ip\nprotected_content: {{corpus: house-style{extra}}}\n"


def test_the_guardrail_blocks_a_response_that_copies_and_quotes_only_a_few_words(
    corpus: tuple[CorpusIndex, list[str]],
) -> None:
    index, documents = corpus
    guard = Guardrail(parse_guard_policy(policy()), Context(corpus=index))
    copied = " ".join(documents[2].split()[0:30])
    result = guard.apply("OUTPUT", f"Here is the answer. {copied}. Thanks.")
    assert result.blocked and result.outputs == (guard.policy.messages.blocked_output,)
    finding = result.findings[0]
    assert (finding.section, finding.kind, finding.type, finding.method) == (
        "protected_content", "matches", "house-style", "ngrams+minhash",
    )  # fmt: skip
    assert finding.match is not None and len(finding.match.rstrip("…").split()) == QUOTE_WORDS
    assert finding.detail is not None and finding.detail["longest_words"] == 30
    assert all(len(s["quote"].rstrip("…").split()) <= QUOTE_WORDS for s in finding.detail["spans"])
    body = result.to_dict()
    assert body["assessments"][0]["protectedContentPolicy"]["matches"][0]["type"] == "house-style"
    # prompts are not checked unless the policy says so; an original response passes
    assert guard.apply("INPUT", copied).findings == ()
    assert guard.apply("OUTPUT", prose(60, random.Random(3))).action == "NONE"


def test_detect_only_and_prompts_and_near_copies_when_the_policy_asks(corpus: tuple[CorpusIndex, list[str]]) -> None:
    index, documents = corpus
    guard = Guardrail(
        parse_guard_policy(policy(", action: detect, input: block, near_threshold: 0.5")), Context(corpus=index)
    )
    copied = " ".join(documents[2].split()[0:30])
    out = guard.apply("OUTPUT", copied)
    assert out.action == "NONE" and out.findings[0].action == "NONE"
    assert guard.apply("INPUT", copied).blocked
    words = documents[4].split()[24:72]
    for i in range(0, len(words), 12):
        words[i] = "changed"
    near = guard.apply("OUTPUT", " ".join(words)).findings
    assert near and near[0].detail is not None and "near" in near[0].detail["reasons"]


def test_build_needs_the_named_corpus_index() -> None:
    parsed = parse_guard_policy(policy())
    with pytest.raises(InvalidInput, match="no index of it was given"):
        build(parsed, Context())
    other = CorpusIndex.from_documents(["a b c d e f"], name="other")
    with pytest.raises(InvalidInput, match="the index is 'other'"):
        build(parsed, Context(corpus=other))
    coarse = CorpusIndex.from_documents(["a b c d e f"], n=20, name="house-style")
    with pytest.raises(InvalidInput, match="min_words is 12, below the corpus index's n-gram size 20"):
        build(parsed, Context(corpus=coarse))
    with pytest.raises(InvalidInput, match="from 3 to 50"):
        CorpusIndex.from_documents(["x"], n=2)
