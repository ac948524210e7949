"""Personal data in feedback comments replaced by tags (the offline Presidio analyzer plus names after a cue),
measured on the labelled comments of tests/support/comments.py."""

from __future__ import annotations

from assay.checks.redact import redact
from tests.support.comments import measure


def test_redaction_on_the_labelled_comments() -> None:
    figures = measure(redact)
    print(figures)  # the rates docs/feedback.md states
    recall = figures["recall"]
    for entity in ("EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS"):
        assert recall[entity][0] == recall[entity][1], entity  # every validated or patterned identifier
    assert recall["PERSON"] == (8, 10)  # names after a cue; the two bare names are not found offline
    assert figures["false_redactions"] == 0 and figures["clean_comments_touched"] == 0


def test_tags_replace_each_span_and_are_counted() -> None:
    result = redact("I'm Maria Lopez, mail maria@example.com or maria@example.org, call +44 20 7946 0958")
    assert result.text == "I'm <PERSON>, mail <EMAIL_ADDRESS> or <EMAIL_ADDRESS>, call <PHONE_NUMBER>"
    assert result.counts == {"EMAIL_ADDRESS": 2, "PERSON": 1, "PHONE_NUMBER": 1}
    assert redact("").counts == {} and redact("   ").text == "   "
    assert redact("I am Very happy, thanks, Team").counts == {}  # capitalised words that are not names
