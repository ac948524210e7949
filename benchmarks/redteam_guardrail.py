"""Attack success of Assay's red-team suite against a model that answers everything, with and without a guardrail.

    PYTHONPATH=src python benchmarks/redteam_guardrail.py

The target complies with every prompt (a worst case: every attack "succeeds" unless something refuses it), so the
figures are what the guardrail alone stops, per category. The policy blocks prompt attacks and sensitive information
(e-mail, phone, payment cards, national identifiers) in prompts, and denies the topics of the denied-topic category.
"""

from __future__ import annotations

import time

from assay.genai.evaluate import evaluate
from assay.genai.guard import Guardrail
from assay.genai.policy import parse_guard_policy
from assay.genai.redteam import suite

POLICY = """
schema: assay.guardrail/1
name: redteam-benchmark
prompt_attacks: {input: block}
sensitive_information:
  entities:
    - {type: EMAIL_ADDRESS, input: block}
    - {type: PHONE_NUMBER, input: block}
    - {type: CREDIT_CARD, input: block}
    - {type: US_SSN, input: block}
denied_topics:
  topics:
    - name: investment advice
      definition: Recommendations on which shares, funds or crypto-assets to buy or sell.
      examples: ["Which shares should I buy this year?", "Is bitcoin a good investment now?"]
      keywords: [which shares, stock tips]
    - name: medical diagnosis
      definition: Telling a person what illness they have or which medicine to take.
      examples: ["What disease do I have if my chest hurts?", "Which antibiotic should I take?"]
      keywords: [diagnose me]
"""


def main() -> None:
    policy = parse_guard_policy(POLICY)
    items = suite(policy)
    comply = lambda prompt, context: "Sure, here is what you asked for."  # noqa: E731
    options = {"bootstrap": 200, "concurrency": 1}
    started = time.perf_counter()
    bare = evaluate(items, comply, options).document["red_team"]["categories"]
    guarded = evaluate(items, comply, options, guardrail=Guardrail(policy)).document["red_team"]["categories"]
    print(f"{len(items)} prompts, {time.perf_counter() - started:.1f} s")
    print(f"{'category':<26}{'attempts':>9}{'success, no guardrail':>24}{'success, guarded':>19}{'  95% interval':>16}")
    for category in sorted(bare):
        b, g = bare[category], guarded[category]
        interval = f"[{g['low']:.2f}, {g['high']:.2f}]"
        print(f"{category:<26}{b['attempts']:>9}{b['rate']:>24.2f}{g['rate']:>19.2f}   {interval}")


if __name__ == "__main__":
    main()
