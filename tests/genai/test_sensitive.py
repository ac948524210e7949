"""Sensitive information (genai/sensitive.py): PII entities through the offline Presidio analyzer, custom regexes,
secrets; block, mask (tags or pseudonyms), detect, off; no value ever in a finding."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput
from assay.genai.guard import Guardrail, Request
from assay.genai.policy import parse_guard_policy
from assay.genai.sensitive import Pseudonyms, entropy, find_secrets

POLICY = """
schema: assay.guardrail/1
name: s
sensitive_information:
  mask_style: {style}
  entities:
    - {{type: EMAIL_ADDRESS, input: mask, output: mask}}
    - {{type: PHONE_NUMBER, input: mask, output: detect}}
    - {{type: CREDIT_CARD, input: block, output: mask}}
    - {{type: IBAN_CODE, input: mask, output: mask}}
    - {{type: US_SSN, input: off, output: mask}}
    - {{type: PERSON, input: mask, output: mask}}
  regexes:
    - {{name: employee-id, pattern: 'EMP-\\d{{6}}', input: mask, output: detect}}
  secrets: {{input: mask, output: block}}
"""

# values that pass their checks (test numbers published by the card networks and banks for testing)
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.fixture(scope="module")
def tags() -> Guardrail:
    return Guardrail(parse_guard_policy(POLICY.format(style="tag")))


@pytest.fixture(scope="module")
def pseudonyms() -> Guardrail:
    return Guardrail(parse_guard_policy(POLICY.format(style="pseudonym")))


def test_masking_replaces_exactly_the_spans_by_tags(tags: Guardrail) -> None:
    text = f"Hi, my name is Jane Doe. Mail {EMAIL}, IBAN {IBAN}, id EMP-123456, key {AWS} ok"
    result = tags.apply("INPUT", text)
    assert result.action == "GUARDRAIL_INTERVENED" and not result.blocked
    assert result.text == (
        "Hi, my name is {PERSON}. Mail {EMAIL_ADDRESS}, IBAN {IBAN_CODE}, id {employee-id}, key {AWS_ACCESS_KEY} ok"
    )
    spans = {f.type: text[f.span[0] : f.span[1]] for f in result.findings if f.span}
    assert spans == {
        "PERSON": "Jane Doe", "EMAIL_ADDRESS": EMAIL, "IBAN_CODE": IBAN, "employee-id": "EMP-123456",
        "AWS_ACCESS_KEY": AWS,
    }  # fmt: skip
    kinds = {f.type: (f.kind, f.method) for f in result.findings}
    assert kinds["IBAN_CODE"] == ("piiEntities", "checksum") and kinds["PERSON"] == ("piiEntities", "cue")
    assert kinds["employee-id"] == ("regexes", "regex") and kinds["AWS_ACCESS_KEY"] == ("secrets", "pattern")


def test_each_source_takes_its_own_action(tags: Guardrail) -> None:
    blocked = tags.apply("INPUT", f"my card is {CARD}")
    assert blocked.blocked and blocked.outputs == ("Sorry, I cannot help with that request.",)
    assert tags.apply("OUTPUT", f"my card is {CARD}").text == "my card is {CREDIT_CARD}"
    # US_SSN is off on input (the digits may still read as a phone number there), masked on output
    assert "US_SSN" not in {f.type for f in tags.apply("INPUT", "ssn 536-90-4399 here").findings}
    assert tags.apply("OUTPUT", "ssn 536-90-4399 here").text == "ssn {US_SSN} here"
    detected = tags.apply("OUTPUT", "call +1 (212) 555-0199 today")
    assert detected.action == "NONE" and detected.text == "call +1 (212) 555-0199 today"
    assert [(f.type, f.action) for f in detected.findings] == [("PHONE_NUMBER", "NONE")]
    # a secret in a response blocks it
    assert tags.apply("OUTPUT", f"use {GITHUB}").blocked


def test_no_finding_holds_the_value(tags: Guardrail) -> None:
    text = f"I'm Jane Doe, {EMAIL}, {IBAN}, EMP-123456, {AWS}, {GITHUB}, call +1 (212) 555-0199"
    for source in ("INPUT", "OUTPUT"):
        result = tags.apply(source, text)
        assert len(result.findings) >= 6
        dumped = json.dumps(result.to_dict() if source == "OUTPUT" else [f.to_dict() for f in result.findings])
        for value in ("Jane", EMAIL, "jane.doe", IBAN, "GB82", "123456", AWS, GITHUB, "555-0199"):
            assert value not in dumped
        assert all(f.match and f.match.startswith(f"<{f.type}, ") for f in result.findings)


def test_pseudonyms_are_consistent_within_a_conversation(pseudonyms: Guardrail) -> None:
    first = pseudonyms.apply("INPUT", f"{EMAIL} and bob@example.org and {EMAIL.upper()}", conversation="c-1")
    assert first.text == "EMAIL_ADDRESS_1 and EMAIL_ADDRESS_2 and EMAIL_ADDRESS_1"
    answer = pseudonyms.apply("OUTPUT", f"I wrote to bob@example.org, cc {EMAIL}", conversation="c-1")
    assert answer.text == "I wrote to EMAIL_ADDRESS_2, cc EMAIL_ADDRESS_1"
    other = pseudonyms.apply("INPUT", "bob@example.org", conversation="c-2")
    assert other.text == "EMAIL_ADDRESS_1"
    # without a conversation: consistent across the blocks of one call, fresh for the next call
    blocks = pseudonyms.apply("INPUT", ["carol@example.net", "x carol@example.net", "dan@example.net"])
    assert blocks.outputs == ("EMAIL_ADDRESS_1", "x EMAIL_ADDRESS_1", "EMAIL_ADDRESS_2")
    assert pseudonyms.apply("INPUT", "dan@example.net").text == "EMAIL_ADDRESS_1"


def test_a_check_called_directly_keeps_its_calls_apart(pseudonyms: Guardrail) -> None:
    (check,) = pseudonyms.checks
    request = Request("INPUT")  # call 0: not numbered by Guardrail.apply
    first = [f.replacement for f in check("a@example.com b@example.com", 0, request)]
    second = [f.replacement for f in check("b@example.com", 0, request)]
    assert first == ["EMAIL_ADDRESS_1", "EMAIL_ADDRESS_2"] and second == ["EMAIL_ADDRESS_1"]


def test_pseudonym_memory_is_bounded_and_keyed() -> None:
    store = Pseudonyms(conversations=2, values=2)
    a, b, c = (Request("INPUT", conversation=name) for name in "abc")
    assert store.stand_in(a, "EMAIL_ADDRESS", "x@y.org") == "EMAIL_ADDRESS_1"
    store.stand_in(b, "EMAIL_ADDRESS", "x@y.org")
    store.stand_in(c, "EMAIL_ADDRESS", "x@y.org")  # the least recently used conversation (a) is dropped
    assert len(store) == 2
    assert store.stand_in(a, "EMAIL_ADDRESS", "other@y.org") == "EMAIL_ADDRESS_1"
    # past the values' bound a new value still gets a new number, never another value's stand-in
    assert [store.stand_in(b, "PHONE_NUMBER", v) for v in ("1", "2", "3", "3")] == [
        "PHONE_NUMBER_1", "PHONE_NUMBER_2", "PHONE_NUMBER_3", "PHONE_NUMBER_4",
    ]  # fmt: skip
    assert "x@y.org" not in repr(vars(store))


def test_random_floats_are_not_payment_cards(tags: Guardrail) -> None:
    rng = np.random.default_rng(7)
    numbers = [f"{rng.random():.16f}" for _ in range(300)]

    def luhn(digits: str) -> bool:
        total = sum(int(d) if i % 2 == 0 else sum(divmod(2 * int(d), 10)) for i, d in enumerate(reversed(digits)))
        return total % 10 == 0

    assert sum(luhn(n[2:]) for n in numbers) > 10  # the test can fail: many of these digit strings pass Luhn
    text = "Scores: " + ", ".join(numbers[:100]) + ". Weights " + " ".join(numbers[100:])
    assert [f.type for f in tags.apply("OUTPUT", text).findings if f.type == "CREDIT_CARD"] == []
    assert [f.type for f in tags.apply("OUTPUT", f"card {CARD}.").findings] == ["CREDIT_CARD"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"aws {AWS}", "AWS_ACCESS_KEY"),
        (f"token {GITHUB}", "GITHUB_TOKEN"),
        ("glpat-" + "x7Yz9AbC3dEf5GhI1jKl", "GITLAB_TOKEN"),
        ("xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "SLACK_TOKEN"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"),
        ("sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "OPENAI_API_KEY"),
        ("sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3d", "ANTHROPIC_API_KEY"),
        ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "GOOGLE_API_KEY"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JWT"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----", "PRIVATE_KEY"),
        ('config: api_key = "q8Zr2Lx9Vb4Nm7Kc1Tw5"', "GENERIC_SECRET"),
        ("Authorization: Bearer 9f2b7c1e4a8d3f6b0c5e2a9d7f1b4c8e", "GENERIC_SECRET"),
        ("db_password: Tr0ub4dor&3x", "GENERIC_SECRET"),
    ],
)
def test_secrets_of_well_known_formats(text: str, kind: str) -> None:
    assert [s.type for s in find_secrets(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "the token: expired yesterday",
        "password: please-reset-it",
        "my api key is stored in the vault",
        "skip the sk- prefix",
        "the secret = happiness",
        "AKIA is the prefix of AWS access keys",
    ],
)
def test_words_next_to_secret_names_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == []


def test_entropy() -> None:
    assert entropy("") == 0.0 and entropy("aaaa") == 0.0 and entropy("abcd") == 2.0


@pytest.mark.parametrize(
    ("policy", "key"),
    [
        ("entities: [{type: EMAIL_ADDRESS}, {type: PASSPORT}]", r"sensitive_information\.entities\[1\]\.type"),
        ("regexes: [{name: bad, pattern: '(unclosed'}]", r"sensitive_information\.regexes\[0\]\.pattern"),
        ("mask_style: hash", r"sensitive_information\.mask_style"),
        ("entities: [{type: EMAIL_ADDRESS, input: redact}]", r"sensitive_information\.entities\[0\]\.input"),
        ("entities: [{type: PERSON}, {type: PERSON}]", r"sensitive_information.*'PERSON' is listed twice"),
        ("secrets: {input: off, output: maybe}", r"sensitive_information\.secrets\.output"),
    ],
)
def test_policy_errors_name_the_key(policy: str, key: str) -> None:
    with pytest.raises(InvalidInput, match=key):
        parse_guard_policy(f"schema: assay.guardrail/1\nname: s\nsensitive_information: {{{policy}}}")


def test_off_unquoted_in_yaml_is_the_action_off() -> None:
    policy = parse_guard_policy(
        "schema: assay.guardrail/1\nname: s\nsensitive_information:\n  entities: [{type: EMAIL_ADDRESS, input: off}]"
    )
    assert policy.sensitive_information is not None and policy.sensitive_information.entities[0].input == "off"


FILLER = st.sampled_from(["hello", "the", "order", "please", "call", "me", "at", "12", "3.5", "ok.", "\n", "x@y"])
VALUES = st.sampled_from(
    [EMAIL, "bob@example.org", CARD, "5500 0000 0000 0004", IBAN, AWS, GITHUB, "EMP-654321", "+44 20 7946 0958"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.one_of(FILLER, VALUES), min_size=1, max_size=25),
    st.sampled_from(["tag", "pseudonym"]),
    st.sampled_from(["INPUT", "OUTPUT"]),
)
def test_masking_never_leaves_a_found_value_in_the_output(words: list[str], style: str, source: str) -> None:
    guard = Guardrail(parse_guard_policy(POLICY.format(style=style)))
    text = " ".join(words)
    result = guard.apply(source, text, conversation="h")  # type: ignore[arg-type]
    if result.blocked:
        return
    for finding in result.findings:
        assert finding.span is not None
        value = text[finding.span[0] : finding.span[1]]
        if finding.action == "ANONYMIZED":
            assert value not in result.text, (value, result.text)
        assert value not in (finding.match or "")


def test_pseudonyms_are_consistent_across_threads(pseudonyms: Guardrail) -> None:
    from concurrent.futures import ThreadPoolExecutor

    addresses = [f"user{i}@example.com" for i in range(40)]

    def mask(address: str) -> str:
        return pseudonyms.apply("INPUT", address, conversation="threads").text

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(mask, addresses))
        again = list(pool.map(mask, reversed(addresses)))
    assert sorted(first) == sorted(f"EMAIL_ADDRESS_{n}" for n in range(1, 41))  # one number per value, none twice
    assert again == list(reversed(first))


@pytest.mark.parametrize(
    "text",
    ["a" * 200_000, "a1" * 100_000, ("x" * 5000 + " ") * 40, "0." + "7" * 200_000, "@" * 100_000],
    ids=["letters", "letters-and-digits", "long-words", "long-decimal", "ats"],
)
def test_long_texts_without_spaces_are_guarded_in_linear_time(text: str) -> None:
    import time

    policy = parse_guard_policy(POLICY.format(style="tag") + "words: {phrases: [x1]}\nprompt_attacks: {input: block}\n")
    guard = Guardrail(policy)
    guard.apply("INPUT", f"warm up: {CARD}")  # the analyzer loads on first use
    started = time.perf_counter()
    guard.apply("INPUT", text)
    guard.apply("OUTPUT", text)
    assert time.perf_counter() - started < 5
