"""A small labelled set of realistic feedback comments (written for Assay; the names, addresses and numbers are
made up: the e-mail domains are example domains, the phone numbers from the ranges kept for drama and tests, the
IBANs the standard's published examples), and the measure of redaction on it: recall per entity type and false
redactions. Used by tests/checks/test_redact.py and benchmarks/feedback.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (comment, [(entity type, the text that must not survive), ...])
COMMENTS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "The loan was refused but my income is fine. Email me at maria.lopez@example.com",
        [("EMAIL_ADDRESS", "maria.lopez@example.com")],
    ),
    ("wrong answer!!! contact j.smith+bank@example.org asap", [("EMAIL_ADDRESS", "j.smith+bank@example.org")]),
    ("Please call me back on +44 20 7946 0958, the decision makes no sense", [("PHONE_NUMBER", "+44 20 7946 0958")]),
    ("call (415) 555-0132 before 5pm, I need to understand why", [("PHONE_NUMBER", "(415) 555-0132")]),
    ("Mon numéro: 06 12 34 56 78, la réponse n'est pas claire", [("PHONE_NUMBER", "06 12 34 56 78")]),
    ("Rückruf bitte unter +49 30 901820, Entscheidung unverständlich", [("PHONE_NUMBER", "+49 30 901820")]),
    ("my phone is 212-555-0187 and nobody answered", [("PHONE_NUMBER", "212-555-0187")]),
    ("Refund to DE89 3704 0044 0532 0130 00 please, the fee was wrong", [("IBAN_CODE", "DE89 3704 0044 0532 0130 00")]),
    ("IBAN GB29NWBK60161331926819 was rejected for no reason", [("IBAN_CODE", "GB29NWBK60161331926819")]),
    ("pay into FR14 2004 1010 0505 0001 3M02 606", [("IBAN_CODE", "FR14 2004 1010 0505 0001 3M02 606")]),
    ("account NL91ABNA0417164300, why was the transfer blocked?", [("IBAN_CODE", "NL91ABNA0417164300")]),
    ("My name is Anna Berg and I was treated unfairly", [("PERSON", "Anna Berg")]),
    ("I'm Tom, the chatbot gave me the wrong opening hours", [("PERSON", "Tom")]),
    ("Dr. Okafor said the summary of my file was unclear", [("PERSON", "Okafor")]),
    ("Not helpful at all. Regards, Peter Novak", [("PERSON", "Peter Novak")]),
    ("This is Sofia Rossi, the form rejected my application twice", [("PERSON", "Sofia Rossi")]),
    ("Mrs Helen Carter asked me to report that the answer was offensive", [("PERSON", "Helen Carter")]),
    ("Thanks, Lukas", [("PERSON", "Lukas")]),
    # bare names without a cue: no offline recogniser finds them (counted as misses)
    ("Ask Kevin Brown in the branch, he agrees it is wrong", [("PERSON", "Kevin Brown")]),
    ("Jennifer from support told me something else", [("PERSON", "Jennifer")]),
    ("card 4111 1111 1111 1111 was charged twice", [("CREDIT_CARD", "4111 1111 1111 1111")]),
    (
        "I'm Maria Lopez, write to maria.lopez@example.com or call +34 912 345 678",
        [("PERSON", "Maria Lopez"), ("EMAIL_ADDRESS", "maria.lopez@example.com"), ("PHONE_NUMBER", "+34 912 345 678")],
    ),
    ("from 10.20.30.40 the page kept failing", [("IP_ADDRESS", "10.20.30.40")]),
    ("Contact: ops-team@example.net, ticket 4471", [("EMAIL_ADDRESS", "ops-team@example.net")]),
    # no personal data (numbers, dates, amounts, versions, ids that are not personal)
    ("The answer was wrong for 3 of my 5 questions", []),
    ("Interest rate shown as 4.9% but the contract says 5.2%", []),
    ("It took 12 minutes to get a reply on 2026-11-03", []),
    ("The amount of 1,250.00 EUR is not what I asked for", []),
    ("Very clear, thank you!", []),
    ("I am happy with the explanation", []),
    ("This is unfair to older applicants", []),
    ("Version 2.13.1 of the app shows a blank page", []),
    ("Order 20261103 still not delivered after 10 days", []),
    ("the chatbot kept repeating itself", []),
    ("Answer was offensive and rude", []),
    ("Loan term 36 months, monthly payment 412.50, seems off", []),
    ("Great service, 5 stars", []),
    ("Why does it ask for my postcode twice?", []),
    ("Reference number 7731-22 in your letter is wrong", []),
    ("I am Very disappointed by the tone", []),
    ("The Credit Team never explained the score", []),
    ("Page 3 of 7 is missing the totals", []),
]


def measure(redact: Callable[[str], Any]) -> dict[str, Any]:
    """Recall per entity type (a span is found when its text no longer appears in the redacted comment) and false
    redactions (tags beyond the spans found)."""
    expected: dict[str, int] = {}
    found: dict[str, int] = {}
    false = 0
    clean_with_tags = 0
    for text, spans in COMMENTS:
        result = redact(text)
        hits = 0
        for entity, value in spans:
            expected[entity] = expected.get(entity, 0) + 1
            if value not in result.text:
                found[entity] = found.get(entity, 0) + 1
                hits += 1
        tags = sum(result.counts.values())
        false += max(0, tags - hits)
        if not spans and tags:
            clean_with_tags += 1
    total_expected, total_found = sum(expected.values()), sum(found.values())
    return {
        "comments": len(COMMENTS),
        "with_personal_data": sum(1 for _, spans in COMMENTS if spans),
        "recall": {entity: (found.get(entity, 0), n) for entity, n in sorted(expected.items())},
        "recall_all": total_found / total_expected,
        "false_redactions": false,
        "clean_comments_touched": clean_with_tags,
        "clean_comments": sum(1 for _, spans in COMMENTS if not spans),
    }
