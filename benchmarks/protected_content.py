"""Measure the guardrail's protected-content check (the figures of docs/guardrails.md and benchmarks/RESULTS.md):

- detection of planted verbatim copies: spans of 12, 20 and 40 words of a corpus document inserted at a random
  word of an original response of about 1 KB;
- near copies: a 40-word span with every 10th (or 6th) word replaced, found by MinHash LSH (``near_threshold``);
- false alarms on original responses of the same kind of English (sharing its common phrases);
- the speed of ``CorpusIndex.overlap`` on a 1 KB response against a corpus of about 1,000 documents, and of
  building the index.

The text is real English found on every machine with Python: the docstrings of the standard library (technical
prose full of shared phrasing: "Return a new ...", "If the argument is ...", "This function is ..."), grouped into
documents of about 300 words. The corpus is made of the documents of one half of the projects (each top-level module
or package of the standard library; scikit-learn, pandas, SciPy, SQLAlchemy, pydantic, FastAPI, rich, click), the
original responses of the other half, so that a response shares phrases with the corpus but was not copied from it
(where it was, e.g. a licence notice, the alarm is printed).

    PYTHONPATH=src python benchmarks/protected_content.py [--documents 1000] [--trials 300]
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assay.genai.guard import Context, Guardrail  # noqa: E402
from assay.genai.policy import parse_guard_policy  # noqa: E402
from assay.genai.protected import CorpusIndex  # noqa: E402

POLICY = "schema: assay.guardrail/1\nname: bench\nprotected_content: {corpus: stdlib%s}\n"


def docstring_documents(words_per_document: int = 300) -> tuple[list[str], list[str]]:
    """(corpus documents, original documents): docstrings, deduplicated by paragraph, in documents of about
    ``words_per_document`` words; each project goes wholly to one set."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = Path(sysconfig.get_paths()["purelib"])
    seen: set[str] = set()
    sets: tuple[list[str], list[str]] = ([], [])
    files = [(stdlib, p) for p in sorted(stdlib.glob("*.py"))]
    files += [(stdlib, p) for p in sorted(stdlib.glob("*/*.py")) if "site-packages" not in str(p)]
    for package in ("sklearn", "pandas", "scipy", "sqlalchemy", "pydantic", "fastapi", "rich", "click"):
        files += [(packages, p) for p in sorted((packages / package).rglob("*.py"))]
    files = [(root, p) for root, p in files if "test" not in str(p.relative_to(root)) and "idlelib" not in str(p)]
    # whole projects go to one set or the other (the standard library's top-level modules and packages count as
    # projects): documentation is often copied within a project, rarely between them
    by_project: dict[str, list[str]] = {}
    for root, file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        paragraphs = by_project.setdefault(file.relative_to(root).parts[0].removesuffix(".py"), [])
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                for paragraph in re.split(r"\n\s*\n", ast.get_docstring(node) or ""):
                    text = " ".join(paragraph.split())
                    key = text.lower()
                    if len(text.split()) >= 12 and key not in seen and not re.search(r">>>|::|\$ |---|===", text):
                        seen.add(key)
                        paragraphs.append(text)
    # the biggest projects first, each to the side with fewer words so far (the two sides about equal)
    sizes = [0, 0]
    for name in sorted(by_project, key=lambda n: (-sum(len(p.split()) for p in by_project[n]), n)):
        side = 0 if sizes[0] <= sizes[1] else 1
        current: list[str] = []
        for paragraph in by_project[name]:
            current.append(paragraph)
            if sum(len(p.split()) for p in current) >= words_per_document:
                sets[side].append(" ".join(current))
                sizes[side] += sum(len(p.split()) for p in current)
                current = []
    return sets


WORD = re.compile(r"\w+(?:['’]\w+)*")  # the words as the index sees them


def response(original: str, rng: random.Random, words: int = 170) -> list[str]:
    """About 1 KB of an original document (``words`` words from a random start)."""
    tokens = WORD.findall(original)
    start = rng.randrange(max(1, len(tokens) - words))
    return tokens[start : start + words]


def plant(base: list[str], copied: list[str], rng: random.Random) -> str:
    at = rng.randrange(len(base) + 1)
    return " ".join(base[:at] + copied + base[at:])


def edited(words: list[str], every: int) -> list[str]:
    return [("altered" if i % every == every // 2 else w) for i, w in enumerate(words)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--originals", type=int, default=1000)
    parser.add_argument("--examples", type=int, default=10, help="how many alarms on original text to print")
    args = parser.parse_args()
    corpus_docs, originals = docstring_documents()
    corpus_docs = corpus_docs[: args.documents]
    words = sum(len(d.split()) for d in corpus_docs)
    print(f"corpus: {len(corpus_docs)} documents, {words} words; originals: {len(originals)} documents")

    started = time.perf_counter()
    index = CorpusIndex.from_documents(corpus_docs, name="stdlib")
    exact_build = time.perf_counter() - started
    started = time.perf_counter()
    index.near_index()
    near_build = time.perf_counter() - started
    print(f"build: exact n-gram index {exact_build:.2f} s, MinHash LSH {near_build:.2f} s")

    guard = Guardrail(parse_guard_policy(POLICY % ""), Context(corpus=index))
    near_guard = Guardrail(parse_guard_policy(POLICY % ", near_threshold: 0.5"), Context(corpus=index))
    rng = random.Random(16)
    sources = [WORD.findall(d) for d in corpus_docs]
    sources = [s for s in sources if len(s) >= 60]

    def copied_span(length: int) -> list[str]:
        source = rng.choice(sources)
        start = rng.randrange(len(source) - length)
        return source[start : start + length]

    print("\n| case | trials | flagged | exact length found | longest span found (median) |")
    print("|---|---|---|---|---|")
    for length in (12, 20, 40):
        flagged = exact = 0
        found = []
        for _ in range(args.trials):
            text = plant(response(rng.choice(originals), rng), copied_span(length), rng)
            result = guard.apply("OUTPUT", text)
            longest = index.overlap(text).longest_words
            found.append(longest)
            flagged += result.blocked
            exact += longest == length
        print(f"| verbatim {length} words | {args.trials} | {flagged / args.trials:.3f} | {exact / args.trials:.3f} | "
              f"{int(np.median(found))} |")  # fmt: skip
    for every in (10, 6):
        flagged = near_flagged = 0
        for _ in range(args.trials):
            text = plant(response(rng.choice(originals), rng), edited(copied_span(40), every), rng)
            flagged += guard.apply("OUTPUT", text).blocked
            near_flagged += near_guard.apply("OUTPUT", text).blocked
        print(f"| 40 words, every {every}th replaced | {args.trials} | exact rules {flagged / args.trials:.3f}, "
              f"with near_threshold 0.5: {near_flagged / args.trials:.3f} | | |")  # fmt: skip

    alarms = near_alarms = 0
    longest_seen: list[int] = []
    originals = originals[: args.originals]
    trials = len(originals)
    examples: list[str] = []
    for original in originals:
        text = " ".join(response(original, rng))
        match = index.overlap(text)
        longest_seen.append(match.longest_words)
        if guard.apply("OUTPUT", text).blocked:
            alarms += 1
            if match.spans:
                examples.append(f"{match.longest_words} words: {text[match.spans[0].start : match.spans[0].end][:100]}")
        near_alarms += near_guard.apply("OUTPUT", text).blocked
    counts = np.bincount(np.minimum(longest_seen, 20))
    print(f"\nfalse alarms on {trials} original responses: {alarms} ({alarms / trials:.4f}); with near_threshold 0.5: "
          f"{near_alarms} ({near_alarms / trials:.4f})")  # fmt: skip
    print("longest shared span in original responses (words: responses):",
          {int(k): int(v) for k, v in enumerate(counts) if v})  # fmt: skip
    for example in examples[: args.examples]:
        print("  alarm:", example)

    text = " ".join(response(rng.choice(originals), rng))
    print(f"\nspeed on a {len(text.encode())}-byte response:")
    for near in (False, True):
        times = []
        for _ in range(500):
            started = time.perf_counter()
            index.overlap(text, near=near)
            times.append((time.perf_counter() - started) * 1000)
        p50, p95 = np.percentile(times, [50, 95])
        print(f"  overlap(near={near}): p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    times = []
    for _ in range(500):
        started = time.perf_counter()
        guard.apply("OUTPUT", text)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    print(f"  guardrail with protected_content only: p50 {p50:.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
