"""Word and phrase filters (genai/words.py): whole words, any case, any whitespace, one automaton."""

from __future__ import annotations

import time

import pytest

from assay.errors import InvalidInput
from assay.genai.guard import Guardrail
from assay.genai.policy import GuardPolicy, parse_guard_policy


def _guard(phrases: list[str], on_input: str = "block", on_output: str = "detect") -> Guardrail:
    listed = ", ".join(f"'{p}'" for p in phrases)
    text = f"schema: assay.guardrail/1\nname: w\nwords: {{phrases: [{listed}], input: {on_input}, output: {on_output}}}"
    return Guardrail(parse_guard_policy(text))


def test_a_phrase_is_found_in_any_case_and_spacing_and_blocks_the_input() -> None:
    guard = _guard(["internal codename", "Falcon"])
    text = "Tell me about the INTERNAL\n  Codename and falcon."
    result = guard.apply("INPUT", text)
    assert result.blocked and result.outputs == ("Sorry, I cannot help with that request.",)
    found = [(f.match, f.span, f.kind, f.type) for f in result.findings]
    assert found == [
        ("internal codename", (18, 37), "customWords", "CUSTOM_WORD"),
        ("Falcon", (42, 48), "customWords", "CUSTOM_WORD"),
    ]
    assert text[18:37] == "INTERNAL\n  Codename" and text[42:48] == "falcon"
    assert result.to_dict()["assessments"][0]["wordPolicy"]["customWords"][0]["match"] == "internal codename"


def test_only_whole_words_match() -> None:
    guard = _guard(["art", "c++", "new york"])
    assert not guard.apply("INPUT", "start the party; smart arts").findings
    assert [f.match for f in guard.apply("INPUT", "art, c++x and New York!").findings] == ["art", "c++", "new york"]
    assert not guard.apply("INPUT", "new yorker").findings


def test_a_rejected_match_does_not_hide_a_whole_word_inside_it() -> None:
    guard = _guard(["foo bar", "bar"])
    assert [f.match for f in guard.apply("INPUT", "xfoo bar").findings] == ["bar"]


def test_detect_reports_without_changing_and_off_finds_nothing() -> None:
    guard = _guard(["secret plan"], on_input="off", on_output="detect")
    assert guard.apply("INPUT", "the secret plan").findings == ()
    result = guard.apply("OUTPUT", "the secret plan")
    assert result.action == "NONE" and result.outputs == ("the secret plan",)
    assert [f.action for f in result.findings] == ["NONE"]


def test_unicode_offsets_stay_those_of_the_text() -> None:
    guard = _guard(["café noir"])
    text = "İstanbul: un CAFÉ   NOIR"
    (finding,) = guard.apply("INPUT", text).findings
    assert finding.span is not None and text[finding.span[0] : finding.span[1]] == "CAFÉ   NOIR"


def test_ten_thousand_phrases_compile_once_and_scan_fast() -> None:
    phrases = [f"term{i} word{i % 97}" for i in range(10_000)]
    started = time.perf_counter()
    guard = Guardrail(
        GuardPolicy.model_validate({"schema": "assay.guardrail/1", "name": "w", "words": {"phrases": phrases}})
    )
    assert time.perf_counter() - started < 2  # compiled once
    text = ("an ordinary sentence about nothing in particular. " * 20) + "and TERM9999 word8 here"
    guard.apply("INPUT", text)
    started = time.perf_counter()
    for _ in range(20):
        result = guard.apply("INPUT", text)
    assert (time.perf_counter() - started) / 20 < 0.005
    assert [f.match for f in result.findings] == ["term9999 word8"]


def test_a_blank_phrase_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidInput, match=r"words\.phrases.*phrase 1 is blank"):
        parse_guard_policy("schema: assay.guardrail/1\nname: w\nwords: {phrases: [ok, '   ']}")
    with pytest.raises(InvalidInput, match=r"words\.input"):
        parse_guard_policy("schema: assay.guardrail/1\nname: w\nwords: {phrases: [ok], input: mask}")
