"""Disclosure to end users: finding the disclosure text in a response (tolerant of case, spacing, typography and
the punctuation at its ends, not of changed words) and adding it once, before or after."""

from __future__ import annotations

import pytest

from assay.errors import InvalidInput
from assay.genai.disclosure import disclosed, disclosure_text, normalise, with_disclosure
from assay.genai.policy import parse_guard_policy

TEXT = "You are talking to an AI assistant. Answers may be wrong."


@pytest.mark.parametrize(
    "response",
    [
        f"Hello.\n\n{TEXT}",
        "hello! YOU ARE TALKING TO AN AI ASSISTANT. answers may be wrong.",
        "You are talking\nto an  AI\tassistant. Answers may be wrong!",  # spacing and the closing punctuation
        "“You are talking to an AI assistant. Answers may be wrong”",
        "You\u00a0are talking to an ＡＩ assistant. Answers may be wrong.",  # non-breaking space, full-width letters
    ],
)
def test_the_disclosure_is_found_whatever_its_spacing_and_case(response: str) -> None:
    assert disclosed(response, TEXT)


@pytest.mark.parametrize(
    "response",
    [
        "Hello.",
        "You are talking to an AI. Answers may be wrong.",  # a word missing
        "You are talking to an AI assistant. Answers may be right.",  # a word changed
        "You are talking to an AI assistant.",  # half of it
    ],
)
def test_a_changed_or_missing_disclosure_is_not_found(response: str) -> None:
    assert not disclosed(response, TEXT)


def test_the_disclosure_is_added_once_before_or_after() -> None:
    assert with_disclosure("Hello.", TEXT) == f"Hello.\n\n{TEXT}"
    assert with_disclosure("Hello.", TEXT, "prepend") == f"{TEXT}\n\nHello."
    assert with_disclosure(f"Hello.\n\n{TEXT}", TEXT, "prepend") == f"Hello.\n\n{TEXT}"  # already there
    assert with_disclosure(with_disclosure("Hi.", TEXT), TEXT) == with_disclosure("Hi.", TEXT)
    assert with_disclosure("  ", TEXT) == TEXT
    with pytest.raises(InvalidInput, match="placement must be prepend or append, not 'middle'"):
        with_disclosure("Hi.", TEXT, "middle")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="the disclosure text is empty"):
        disclosed("Hi.", " .. ")
    assert normalise(" A\u2014B\n ‘c’ ") == "a-b 'c'"


def test_the_text_comes_from_the_policy_or_else_the_system() -> None:
    def policy(section: str) -> str:
        return f"schema: assay.guardrail/1\nname: p\n{section}"

    assert disclosure_text(parse_guard_policy(policy("")), "System text.") is None
    assert disclosure_text(parse_guard_policy(policy("disclosure: {required: false}")), "System text.") is None
    required = parse_guard_policy(policy("disclosure: {required: true}"))
    assert disclosure_text(required, "System text.") == "System text."
    own = parse_guard_policy(policy("disclosure: {required: true, text: Own text.}"))
    assert disclosure_text(own, "System text.") == "Own text."
    with pytest.raises(InvalidInput, match=r"guardrail policy 'p': disclosure.required is true but there is no text"):
        disclosure_text(required, None)
