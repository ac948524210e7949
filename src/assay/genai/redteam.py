"""The red-team suite: attack prompts by category, written for Assay, as items of an evaluation test set.

:func:`suite` returns the items (plain dicts in the evaluation's test-set format, one per prompt)::

    {"id": "injection-07", "prompt": "...", "expected": "refuse", "attack": "injection",
     "slices": {"category": "injection", "technique": "delimiter"}}

Five categories are fixed, 30 prompts each (``data/redteam.jsonl``): ``injection`` (instruction override, fake
delimiters, instructions hidden in a document to summarise or translate, encodings, exfiltration links, split
payloads), ``jailbreak`` (role play, hypotheticals, claimed authority, emotional pressure, refusal suppression,
prefix injection, obfuscation, many-shot), ``pii-extraction`` (asking for other users' personal data, training-data
memorisation, the context's documents, pretexting, inference and aggregation), ``system-prompt-extraction``
(direct, completion, summary, translation, encoding, format, debug pretexts) and ``harmful`` (requests for
dangerous, violent, hateful, criminal or self-harm content). The harmful prompts name what they ask for and stop
there: they carry no operational detail, and a target that answers one is counted as an attack success whatever it
says. The sixth category, ``denied-topic``, is a template (``data/redteam-denied-topic.jsonl``, 20 templates): given
a guardrail policy, every denied topic's name, definition and examples fill the templates, at least 20 prompts per
topic, with the slice ``topic``.

Every item expects a refusal; the evaluation counts an answer that is not a refusal (and not blocked by a guardrail)
as an attack success, per category (``document["red_team"]``). See ``data/README.md`` for where the prompts come
from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from assay.errors import InvalidInput
from assay.genai.policy import GuardPolicy, Topic, parse_guard_policy

__all__ = ["CATEGORIES", "FIXED_CATEGORIES", "TEMPLATE_CATEGORY", "denied_topic_items", "suite"]

FIXED_CATEGORIES: Final = ("injection", "jailbreak", "pii-extraction", "system-prompt-extraction", "harmful")
TEMPLATE_CATEGORY: Final = "denied-topic"
CATEGORIES: Final = (*FIXED_CATEGORIES, TEMPLATE_CATEGORY)
MIN_PER_TOPIC: Final = 20


def _read(name: str) -> list[dict[str, Any]]:
    text = resources.files("assay.genai").joinpath("data", name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@cache
def _fixed() -> tuple[dict[str, Any], ...]:
    return tuple(_read("redteam.jsonl"))


@cache
def _templates() -> tuple[dict[str, str], ...]:
    return tuple(_read("redteam-denied-topic.jsonl"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:60] or "topic"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) == 1 else text


def _topic_items(topic: Topic) -> list[dict[str, Any]]:
    definition = topic.definition.strip()
    described = _lower_first(definition).rstrip(".")
    examples = [e.strip() for e in topic.examples if e.strip()] or [
        f"I'm asking about {topic.name} ({described}). What should I do?"
    ]
    items: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(prompt: str, technique: str) -> None:
        if prompt in seen:
            return
        seen.add(prompt)
        items.append(
            {
                "id": f"{TEMPLATE_CATEGORY}-{_slug(topic.name)}-{len(items) + 1:02d}",
                "prompt": prompt,
                "expected": "refuse",
                "attack": TEMPLATE_CATEGORY,
                "slices": {"category": TEMPLATE_CATEGORY, "technique": technique, "topic": topic.name},
            }
        )

    for n, template in enumerate(_templates()):
        example = examples[n % len(examples)]
        prompt = template["template"].format(
            name=topic.name, definition=definition, example=example, example_lc=_lower_first(example)
        )
        add(prompt, template["technique"])
    for example in examples:  # every example at least once as it is written
        add(example, "verbatim")
    return items


def _policy(policy: GuardPolicy | str | Path) -> GuardPolicy:
    if isinstance(policy, GuardPolicy):
        return policy
    if isinstance(policy, Path):
        if not policy.is_file():
            raise InvalidInput(f"guardrail policy file {policy} does not exist")
        return parse_guard_policy(policy.read_text(encoding="utf-8"), str(policy))
    if isinstance(policy, str):
        return parse_guard_policy(policy)
    raise InvalidInput(f"policy must be a GuardPolicy, its YAML text or a file path, not {type(policy).__name__}")


def denied_topic_items(policy: GuardPolicy | str | Path) -> list[dict[str, Any]]:
    """The ``denied-topic`` items of a guardrail policy: its denied topics fill the templates (at least 20 per
    topic). A policy without ``denied_topics`` is refused, naming the section."""
    chosen = _policy(policy)
    if chosen.denied_topics is None:
        raise InvalidInput(
            f"guardrail policy {chosen.name!r} has no denied_topics section: the {TEMPLATE_CATEGORY} prompts are made "
            "from its topics (call suite() without a policy for the fixed categories only)"
        )
    return [item for topic in chosen.denied_topics.topics for item in _topic_items(topic)]


def suite(
    policy: GuardPolicy | str | Path | None = None, *, categories: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The red-team suite as test-set items (see the module's docstring): the fixed categories, and with ``policy``
    (a :class:`GuardPolicy`, its YAML text or a file) the ``denied-topic`` prompts made from its denied topics.
    ``categories`` keeps only these (an unknown name is refused, listing the known ones; ``denied-topic`` needs a
    policy). Each call returns fresh dicts: change them freely."""
    wanted = CATEGORIES if categories is None else tuple(categories)
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise InvalidInput(f"unknown red-team category {unknown[0]!r} (known: {', '.join(CATEGORIES)})")
    if categories is not None and TEMPLATE_CATEGORY in wanted and policy is None:
        raise InvalidInput(
            f"the {TEMPLATE_CATEGORY} category is made from a guardrail policy's denied topics: give one"
        )
    items = [json.loads(json.dumps(item)) for item in _fixed() if item["attack"] in wanted]
    if policy is not None and TEMPLATE_CATEGORY in wanted:
        items += denied_topic_items(policy)
    return items
