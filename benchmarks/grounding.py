"""Contextual grounding: detection of unsupported answers on a labelled set (benchmarks/data/grounding.yaml, see its
README), lexical and embeddings methods separately, and the speed of the check (benchmarks/RESULTS.md, "Guardrails:
topics and grounding")::

    .venv/bin/python benchmarks/grounding.py            # both methods (embeddings when the extra is installed)
    .venv/bin/python benchmarks/grounding.py 0.3 0.4 0.5 --precision int8    # int8 vectors (the onnx extra)

An answer counts as flagged when its grounding score is below the threshold or a hard check fails (that is, when
``grounding_scores(...).unsupported`` is not empty); precision and recall are those of "unsupported".
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from assay.genai.embeddings import load_embedder
from assay.genai.grounding import _indexed, grounding_scores

DATA = Path(__file__).resolve().parent / "data" / "grounding.yaml"
_AUXILIARIES = ("must", "can", "may", "will", "should", "is", "are", "has", "have", "does", "do")


def changed_number(text: str) -> str | None:
    """The answer with its first number changed (25 -> 26, 0.2 -> 0.3, 1,500 -> 1,600)."""
    match = re.search(r"\d+(?:[.,]\d+)?", text)
    if match is None:
        return None
    value = match.group()
    if "." in value:
        whole, part = value.split(".")
        new = f"{whole}.{int(part) + 1}"
    elif "," in value:
        whole, part = value.split(",")
        new = f"{whole},{(int(part) + 100) % 1000:03d}"
    else:
        new = str(int(value) + 1)
    return text[: match.start()] + new + text[match.end() :]


def flipped_negation(text: str) -> str | None:
    """The answer with its negation removed, or one added after its first auxiliary verb."""
    for negated, plain in ((" cannot ", " can "), (" not ", " "), (" no longer ", " still "), ("n't ", " ")):
        if negated in text:
            return text.replace(negated, plain, 1)
    for word in _AUXILIARIES:
        match = re.search(rf"\b{word}\b", text)
        if match is not None:
            insert = "not" if word != "can" else ""
            replaced = "cannot" if word == "can" else f"{word} {insert}"
            return text[: match.start()] + replaced + text[match.end() :]
    return None


def items() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in yaml.safe_load(DATA.read_text(encoding="utf-8")):
        base = {"id": item["id"], "query": item["query"], "sources": [item["source"]]}
        for text in item["supported"]:
            out.append({**base, "answer": text, "label": "supported", "kind": "supported"})
        for entry in item["unsupported"]:
            out.append({**base, "answer": entry["text"], "label": "unsupported", "kind": entry["kind"]})
        number = next(filter(None, (changed_number(t) for t in item["supported"])), None)
        negation = next(filter(None, (flipped_negation(t) for t in item["supported"][1:] + item["supported"][:1])))
        if number:
            out.append({**base, "answer": number, "label": "unsupported", "kind": "number"})
        out.append({**base, "answer": negation, "label": "unsupported", "kind": "negation"})
    return out


def evaluate(data: list[dict[str, Any]], embedder: Any, threshold: float) -> dict[str, Any]:
    flagged: list[bool] = []
    _indexed.cache_clear()  # each run starts cold: an item's sources are embedded once, by its first answer
    if embedder is not None:
        embedder.clear()
    started = time.process_time()
    for item in data:
        scores = grounding_scores(
            item["answer"], item["sources"], item["query"], embedder=embedder, threshold=threshold
        )
        flagged.append(bool(scores.unsupported))
    cpu = time.process_time() - started
    truth = [item["label"] == "unsupported" for item in data]
    tp = sum(f and t for f, t in zip(flagged, truth, strict=True))
    fp = sum(f and not t for f, t in zip(flagged, truth, strict=True))
    fn = sum(t and not f for f, t in zip(flagged, truth, strict=True))
    by_kind: Counter[str] = Counter()
    totals: Counter[str] = Counter(item["kind"] for item in data)
    for item, f in zip(data, flagged, strict=True):
        by_kind[item["kind"]] += f
    return {
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "flagged": {k: f"{by_kind[k]}/{totals[k]}" for k in sorted(totals)},
        "per_answer_ms": cpu / len(data) * 1000,
    }


def relevance(data: list[dict[str, Any]], embedder: Any, threshold: float) -> dict[str, float]:
    """Each supported answer against its own query (relevant) and against the next item's query (irrelevant)."""
    answers = [item for item in data if item["label"] == "supported"]
    queries = list(dict.fromkeys(item["query"] for item in answers))
    flagged_own = flagged_other = 0
    for item in answers:
        other = queries[(queries.index(item["query"]) + 1) % len(queries)]
        own = grounding_scores(item["answer"], [], item["query"], embedder=embedder).relevance
        off = grounding_scores(item["answer"], [], other, embedder=embedder).relevance
        flagged_own += own is not None and own < threshold
        flagged_other += off is not None and off < threshold
    return {
        "precision": flagged_other / max(flagged_own + flagged_other, 1),
        "recall": flagged_other / len(answers),
    }


def arguments() -> tuple[list[float], Any]:
    """The thresholds given, and ``--precision`` (exact or int8) for the embedder."""
    args = sys.argv[1:]
    precision = "exact"
    if "--precision" in args:
        at = args.index("--precision")
        precision = args[at + 1]
        del args[at : at + 2]
    return [float(t) for t in args], precision


def main() -> None:
    given, precision = arguments()
    data = items()
    counts = Counter(item["label"] for item in data)
    print(f"{len(data)} answers: {counts['supported']} supported, {counts['unsupported']} unsupported")
    embedder = load_embedder(precision)
    methods = [("lexical", None)] + ([("embeddings", embedder)] if embedder is not None else [])
    thresholds = given or [0.4]
    for name, model in methods:
        for threshold in (0.2, 0.3, 0.4):
            result = relevance(data, model, threshold)
            print(
                f"{name:10} relevance below {threshold:.2f} flags an answer to another question: precision "
                f"{result['precision']:.2f} recall {result['recall']:.2f}"
            )
        for threshold in thresholds:
            result = evaluate(data, model, threshold)
            print(
                f"{name:10} threshold {threshold:.2f}: precision {result['precision']:.2f} "
                f"recall {result['recall']:.2f} ({result['per_answer_ms']:.1f} ms CPU per answer)  "
                f"flagged by kind {result['flagged']}"
            )


if __name__ == "__main__":
    main()
