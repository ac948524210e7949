"""Guardrail tests' shared pieces: policies, and the ``words`` check while the guard-filters part is not merged.

``use_words_check(monkeypatch)`` points the guardrail's ``words`` section at :func:`build` below only when
``assay.genai.words`` (the real check, guard-filters' part) is not installed; once it is, the real check runs and the
tests judge only what both agree on (a listed phrase in a prompt blocks it; other text passes).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from typing import Any

import pytest

from assay.genai import guard as engine
from assay.genai.guard import Finding, Request
from assay.genai.policy import GuardPolicy

WORDS = """\
schema: assay.guardrail/1
name: support-bot
description: blocks the internal codename
words: {phrases: [project falcon], input: block, output: block}
"""

WORDS_KEEP = """\
schema: assay.guardrail/1
name: keeper
words: {phrases: [project falcon], input: block, output: detect}
recording: {keep_content: true}
"""


def use_words_check(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("assay.genai.words") is None:
        monkeypatch.setitem(engine.BUILDERS, "words", __name__)  # type: ignore[index]


@dataclass(frozen=True)
class _Words:
    phrases: tuple[str, ...]
    actions: dict[str, str]
    section: str = "words"
    method: str = "keywords"

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        action = self.actions[request.source]
        if action == "off":
            return []
        found = []
        for phrase in self.phrases:
            for match in re.finditer(re.escape(phrase), text, flags=re.IGNORECASE):
                found.append(Finding(
                    "words", "customWords", "CUSTOM_WORD", "BLOCKED" if action == "block" else "NONE",
                    match=match.group(0), span=match.span(), block=block, method="keywords",
                ))  # fmt: skip
        return found


def build(policy: GuardPolicy, context: Any) -> _Words | None:
    """A minimal words check (the test stand-in for ``assay.genai.words.build``)."""
    if policy.words is None:
        return None
    return _Words(tuple(policy.words.phrases), {"INPUT": policy.words.input, "OUTPUT": policy.words.output})
