"""The policy shown in docs/guardrails.md ("Writing a policy") is a valid policy with every section."""

from __future__ import annotations

import re
from pathlib import Path

from assay.genai.policy import SECTIONS, parse_guard_policy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "guardrails.md"


def test_the_documented_policy_parses_with_every_section() -> None:
    text = DOCS.read_text(encoding="utf-8")
    part = text.split("## Writing a policy", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", part, re.S)
    assert block is not None
    policy = parse_guard_policy(block.group(1), "docs/guardrails.md")
    assert policy.sections == SECTIONS and policy.disclosure is not None and policy.disclosure.required
