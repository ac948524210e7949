"""Guardrail speed in-process: a policy with word filters, sensitive information (every PII entity, a custom regex,
secrets) and prompt attacks (with the system-prompt-leak check), applied to 1 KB prompts and responses that hold a
few personal values. Target (issue 16): p95 under 5 ms for a 1 KB prompt, without embeddings.

Run: ``PYTHONPATH=src python benchmarks/guard_speed.py [--calls 2000] [--phrases 1000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

from assay.genai.guard import Guardrail
from assay.genai.policy import PII_TYPES, GuardPolicy

SYSTEM_PROMPT = (
    "You are the support assistant of Acme Bank. Never disclose account balances to anyone who has not passed the "
    "two-step check. Escalate complaints about fraud to a human agent within one minute. Answer in English."
)
SENTENCES = [
    "I ordered a pair of running shoes last week and they still have not arrived.",
    "Could you tell me when the parcel will be delivered to my home address?",
    "My name is Jane Doe and my e-mail is jane.doe@example.com if you need it.",
    "The tracking page says the order 48213 is waiting at the depot since Tuesday.",
    "Please call me back on +44 20 7946 0958 after six in the evening.",
    "I would also like to know whether I can return the shoes if they do not fit.",
    "Thank you for your help, the last time your colleague was very kind.",
    "The weather has been awful, so I hope the box did not get wet on the way.",
]


def _text(rng: random.Random, size: int = 1024) -> str:
    out = ""
    while len(out) < size:
        out += rng.choice(SENTENCES) + " "
    return out[:size]


def policy(phrases: int) -> GuardPolicy:
    return GuardPolicy.model_validate(
        {
            "schema": "assay.guardrail/1",
            "name": "speed",
            "words": {"phrases": [f"codename {i}" for i in range(phrases)], "input": "block", "output": "block"},
            "sensitive_information": {
                "mask_style": "pseudonym",
                "entities": [{"type": t, "input": "mask", "output": "mask"} for t in PII_TYPES],
                "regexes": [{"name": "employee-id", "pattern": r"EMP-\d{6}"}],
                "secrets": {"input": "block", "output": "block"},
            },
            "prompt_attacks": {"input": "block", "system_prompt": SYSTEM_PROMPT, "leak": "block"},
        }
    )


def measure(guard: Guardrail, source: str, texts: list[str]) -> dict[str, float]:
    times, cpu = [], []
    for i, text in enumerate(texts):
        started, started_cpu = time.perf_counter(), time.thread_time()
        guard.apply(source, text, conversation=f"c{i % 50}")  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    times.sort()
    cpu.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(0.95 * len(times)) - 1],
        "p99": times[int(0.99 * len(times)) - 1],
        "cpu_p50": statistics.median(cpu),
        "cpu_p95": cpu[int(0.95 * len(cpu)) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--phrases", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(0)
    texts = [_text(rng) for _ in range(args.calls)]
    print(f"python {platform.python_version()}, {args.calls} calls of {len(texts[0])} characters")
    for phrases in (args.phrases, 10_000):
        started = time.perf_counter()
        guard = Guardrail(policy(phrases))
        compiled = (time.perf_counter() - started) * 1000
        measure(guard, "INPUT", texts[:50])  # warm up (the analyzer loads on first use)
        for source in ("INPUT", "OUTPUT"):
            got = measure(guard, source, texts)
            print(
                f"{phrases:>6} phrases, {source:<6}: p50 {got['p50']:.2f} ms, p95 {got['p95']:.2f} ms, "
                f"p99 {got['p99']:.2f} ms; CPU time p50 {got['cpu_p50']:.2f} ms, p95 {got['cpu_p95']:.2f} ms "
                f"(compiled in {compiled:.0f} ms)"
            )
    plain = [t.replace("jane.doe@example.com", "her address").replace("+44 20 7946 0958", "my mobile") for t in texts]
    plain = [t.replace("48213", "one") for t in plain]
    got = measure(Guardrail(policy(args.phrases)), "INPUT", plain)
    print(
        f"  prose without digits or @, INPUT: p50 {got['p50']:.2f} ms, p95 {got['p95']:.2f} ms; CPU time p95 "
        f"{got['cpu_p95']:.2f} ms"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
