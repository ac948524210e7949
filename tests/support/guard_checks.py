"""Stand-ins for guardrail checks whose modules are not on this branch yet, registered through
:data:`assay.genai.guard.BUILDERS` only where the real module is missing (so tests use the real check once it is
merged). They follow the check interface of ``assay.genai.guard``: ``build(policy, context) -> Check | None`` and
``check(text, block, request) -> list[Finding]`` honouring the section's action for the request's source.

- ``words``: the policy's phrases, case-insensitive, on word boundaries (``customWords``);
- ``sensitive_information``: only the ``regexes`` (``regexes``), masked as ``{NAME}`` tags.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from typing import Any

import pytest

from assay.genai import guard
from assay.genai.guard import Context, Finding, Request
from assay.genai.policy import GuardPolicy

__all__ = ["install"]

_ACTIONS = {"block": "BLOCKED", "mask": "ANONYMIZED", "detect": "NONE"}


class _Words:
    section = "words"
    method = "keywords"

    def __init__(self, policy: GuardPolicy) -> None:
        assert policy.words is not None
        self.rule = policy.words
        self.pattern = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in self.rule.phrases) + r")\b", re.I)

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        action = self.rule.input if request.source == "INPUT" else self.rule.output
        if action == "off":
            return []
        return [
            Finding(
                "words",
                "customWords",
                "CUSTOM_WORD",
                _ACTIONS[action],
                match=m.group(0),
                span=m.span(),
                block=block,
                method="keywords",
            )
            for m in self.pattern.finditer(text)
        ]


class _Regexes:
    section = "sensitive_information"
    method = "regex"

    def __init__(self, policy: GuardPolicy) -> None:
        assert policy.sensitive_information is not None
        self.rules = [(r, re.compile(r.pattern)) for r in policy.sensitive_information.regexes]

    def __call__(self, text: str, block: int, request: Request) -> list[Finding]:
        out = []
        for rule, pattern in self.rules:
            action = rule.input if request.source == "INPUT" else rule.output
            if action == "off":
                continue
            for m in pattern.finditer(text):
                out.append(
                    Finding(
                        "sensitive_information",
                        "regexes",
                        rule.name,
                        _ACTIONS[action],
                        match="REDACTED",
                        span=m.span(),
                        replacement="{" + rule.name.upper() + "}",
                        block=block,
                        method="regex",
                    )
                )
        return out


def build_words(policy: GuardPolicy, context: Context) -> Any:
    return _Words(policy) if policy.words is not None else None


def build_regexes(policy: GuardPolicy, context: Context) -> Any:
    return _Regexes(policy) if policy.sensitive_information is not None else None


def install(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Register the stand-ins for the sections whose module is missing; the sections stood in for."""
    stood_in = []
    for section, build in (("words", build_words), ("sensitive_information", build_regexes)):
        module = guard.BUILDERS[section]
        if importlib.util.find_spec(module) is None:
            name = f"tests.support.guard_checks_{section}"
            module_object = types.ModuleType(name)
            module_object.build = build  # type: ignore[attr-defined]
            monkeypatch.setitem(sys.modules, name, module_object)
            monkeypatch.setitem(guard.BUILDERS, section, name)  # type: ignore[arg-type]
            stood_in.append(section)
    return stood_in
