"""Denied topics: detection of on-topic prompts and false alarms on ordinary ones (benchmarks/data/topics.yaml, see
its README), keywords and embeddings methods separately (benchmarks/RESULTS.md, "Guardrails: topics and
grounding")::

    .venv/bin/python benchmarks/topics.py 0.4 0.45 0.5     # thresholds for the embeddings method
    .venv/bin/python benchmarks/topics.py 0.4 --precision int8     # int8 vectors (the onnx extra)

A denied prompt counts as found when the guardrail blocks it for its own topic; an allowed prompt is a false alarm
when it is blocked for any topic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assay.genai.embeddings import load_embedder
from assay.genai.guard import Context, Guardrail
from assay.genai.policy import parse_guard_policy
from grounding import arguments  # the same command line: thresholds and --precision

DATA = Path(__file__).resolve().parent / "data" / "topics.yaml"


def run(data: dict[str, Any], method: str, threshold: float, embedder: Any, uses: tuple[str, ...] = ()) -> str:
    policy = {"schema": "assay.guardrail/1", "name": "bench", "denied_topics": {"method": method,
              "threshold": threshold, "topics": data["topics"]}}  # fmt: skip
    context = Context(intended_uses=uses, embedder=embedder)
    guardrail = Guardrail(parse_guard_policy(yaml.safe_dump(policy)), context)
    found = total = 0
    for topic, prompts in data["denied"].items():
        for prompt in prompts:
            total += 1
            found += any(f.type == topic and f.action == "BLOCKED" for f in guardrail.apply("INPUT", prompt).findings)
    alarms = sum(guardrail.apply("INPUT", prompt).blocked for prompt in data["allowed"])
    blocked = found + alarms
    return (
        f"{method:10} threshold {threshold:.2f}{', intended uses' if uses else ''}: "
        f"recall {found / total:.2f} ({found}/{total}), "
        f"false alarms {alarms}/{len(data['allowed'])}, precision {found / max(blocked, 1):.2f}"
    )


def more_examples(data: dict[str, Any], threshold: float, embedder: Any, extra: int = 6) -> str:
    """Each topic with ``extra`` more examples: the topic's other denied prompts, never the one judged (leave one
    out), the allowed prompts judged against topics with the first ``extra`` prompts added."""
    found = total = 0
    for topic, prompts in data["denied"].items():
        for index, prompt in enumerate(prompts):
            others = [p for i, p in enumerate(prompts) if i != index][:extra]
            guardrail = _guardrail(data, threshold, embedder, {topic: others})
            total += 1
            found += any(f.type == topic and f.action == "BLOCKED" for f in guardrail.apply("INPUT", prompt).findings)
    guardrail = _guardrail(data, threshold, embedder, {t: p[:extra] for t, p in data["denied"].items()})
    alarms = sum(guardrail.apply("INPUT", prompt).blocked for prompt in data["allowed"])
    return (
        f"embeddings threshold {threshold:.2f}, {extra} more examples a topic: recall {found / total:.2f} "
        f"({found}/{total}), false alarms {alarms}/{len(data['allowed'])}, "
        f"precision {found / max(found + alarms, 1):.2f}"
    )


def _guardrail(data: dict[str, Any], threshold: float, embedder: Any, added: dict[str, list[str]]) -> Guardrail:
    topics = [{**t, "examples": [*t["examples"], *added.get(t["name"], [])]} for t in data["topics"]]
    policy = {"schema": "assay.guardrail/1", "name": "bench", "denied_topics": {"method": "embeddings",
              "threshold": threshold, "topics": topics}}  # fmt: skip
    return Guardrail(parse_guard_policy(yaml.safe_dump(policy)), Context(embedder=embedder))


def main() -> None:
    given, precision = arguments()
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    print(run(data, "keywords", 0.0, None))
    embedder = load_embedder(precision)
    if embedder is None:
        print("embeddings: the extra is not installed")
        return
    for threshold in given or [0.4]:
        print(run(data, "embeddings", threshold, embedder))
        # the same with the system's intended uses: a prompt nearer to one of them than to a topic is not the topic
        print(run(data, "embeddings", threshold, embedder, tuple(data["intended_uses"])))
    for threshold in given or [0.4]:
        print(more_examples(data, threshold, embedder))


if __name__ == "__main__":
    main()
