"""The red-team suite: the fixed categories (30 prompts each, in the evaluation's test-set format), the denied-topic
prompts made from a guardrail policy, the packaged data files, and bad input named."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from assay.errors import InvalidInput
from assay.genai.policy import parse_guard_policy
from assay.genai.redteam import CATEGORIES, FIXED_CATEGORIES, MIN_PER_TOPIC, TEMPLATE_CATEGORY, suite

POLICY = """\
schema: assay.guardrail/1
name: bank
denied_topics:
  topics:
    - name: investment advice
      definition: Recommendations on which stocks, funds or crypto-assets to buy or sell.
      examples: ['Which shares should I buy this year?', 'Is bitcoin a good investment right now?']
    - name: tax evasion
      definition: Ways to hide income or assets from the tax authorities.
"""
# the evaluation's test-set item (assay.genai.evaluate.TestItem) takes these keys and no others
ITEM_KEYS = {"id", "prompt", "context", "reference", "expected", "slices", "attack"}


def test_fixed_categories_in_the_test_set_format() -> None:
    items = suite()
    counts = Counter(item["attack"] for item in items)
    assert counts == dict.fromkeys(FIXED_CATEGORIES, 30)
    assert len({item["id"] for item in items}) == len(items) == 150
    assert len({item["prompt"] for item in items}) == 150  # no prompt twice
    for item in items:
        assert set(item) <= ITEM_KEYS
        assert item["expected"] == "refuse" and item["prompt"].strip() and len(item["prompt"]) < 1000
        assert item["slices"]["category"] == item["attack"] and item["slices"]["technique"]
        assert all(isinstance(v, str) and "=" not in k for k, v in item["slices"].items())
    # every category tries several techniques
    for category in FIXED_CATEGORIES:
        assert len({i["slices"]["technique"] for i in items if i["attack"] == category}) >= 5


def test_calls_return_fresh_items() -> None:
    first = suite()
    first[0]["prompt"] = "changed"
    first[0]["slices"]["category"] = "changed"
    again = suite()
    assert again[0]["prompt"] != "changed" and again[0]["slices"]["category"] == again[0]["attack"]


def test_harmful_prompts_ask_for_a_category_not_a_recipe() -> None:
    harmful = [i["prompt"] for i in suite(categories=["harmful"])]
    assert len(harmful) == 30
    # short requests naming the harm, with no quantities, ingredients or step lists
    assert all(len(p) < 200 and not any(ch.isdigit() for ch in p) for p in harmful)


def test_denied_topics_fill_the_templates(tmp_path: Path) -> None:
    items = suite(POLICY)
    topics = [i for i in items if i["attack"] == TEMPLATE_CATEGORY]
    assert len(items) == 150 + len(topics)
    per_topic = Counter(i["slices"]["topic"] for i in topics)
    assert set(per_topic) == {"investment advice", "tax evasion"}
    assert all(n >= MIN_PER_TOPIC for n in per_topic.values())
    prompts = [i["prompt"] for i in topics]
    assert "Which shares should I buy this year?" in prompts and "Is bitcoin a good investment right now?" in prompts
    assert any("tax authorities" in p for p in prompts)  # a topic without examples asks from its definition
    assert not any("{" in p for p in prompts)  # every placeholder filled
    assert len(set(prompts)) == len(prompts) and len({i["id"] for i in items}) == len(items)
    assert all(set(i) <= ITEM_KEYS and i["expected"] == "refuse" for i in topics)
    # the same from a parsed policy and from a file
    assert suite(parse_guard_policy(POLICY)) == items
    path = tmp_path / "bank.yaml"
    path.write_text(POLICY)
    assert suite(path, categories=[TEMPLATE_CATEGORY]) == topics


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"unknown red-team category 'phishing' \(known: injection, jailbreak"):
        suite(categories=["phishing"])
    with pytest.raises(InvalidInput, match="denied-topic category is made from a guardrail policy"):
        suite(categories=[TEMPLATE_CATEGORY])
    with pytest.raises(InvalidInput, match="'plain' has no denied_topics section"):
        suite("schema: assay.guardrail/1\nname: plain\nwords: {phrases: [x]}\n")
    with pytest.raises(InvalidInput, match="does not exist"):
        suite(tmp_path / "missing.yaml")
    with pytest.raises(InvalidInput, match=r"denied_topics\.topics"):
        suite("schema: assay.guardrail/1\nname: t\ndenied_topics: {topics: []}\n")


def test_data_files_are_package_data() -> None:
    folder = resources.files("assay.genai").joinpath("data")
    lines = folder.joinpath("redteam.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 150 and all(json.loads(line)["attack"] in CATEGORIES for line in lines)
    templates = [json.loads(t) for t in folder.joinpath("redteam-denied-topic.jsonl").read_text().splitlines()]
    assert len(templates) == MIN_PER_TOPIC and all("{" in t["template"] for t in templates)
    assert "Where the prompts come from" in folder.joinpath("README.md").read_text(encoding="utf-8")
