"""Guardrail detection quality, published in benchmarks/RESULTS.md ("Guardrails").

1. PII masking: texts generated with a fixed seed from templates and valid entity values (payment cards with a
   correct Luhn digit, IBANs with a correct checksum, US SSNs in the issued ranges, phone numbers, e-mail and IP
   addresses, names after a cue), plus clean texts holding look-alike numbers (decimals, order and tracking numbers,
   dates, versions, prices, 16-digit numbers failing Luhn). A planted value counts as masked when a finding of its
   type covers it and it is gone from the output; a finding over no planted value is a false positive.
2. Prompt attacks: the three labelled sets of benchmarks/data (written for Assay, see its README: the set the rules
   were written against, the held-out set used once to broaden them, and the final set never used to change them),
   at the default threshold 0.5: precision and recall, recall per attack category, false positives per benign one.

Run: ``PYTHONPATH=src python benchmarks/guard_quality.py [--texts 1000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import random
import string
from collections import Counter
from pathlib import Path

from assay.genai.attacks import score_prompt
from assay.genai.guard import Guardrail
from assay.genai.policy import PII_TYPES, GuardPolicy

FIRST = ["Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena", "Mateo"]
LAST = ["Smith", "García", "Nowak", "Okafor", "Tanaka", "Müller", "Rossi", "Dubois", "Khan", "Larsen", "Silva"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk"]
TEMPLATES = [
    "Please send the invoice to {EMAIL_ADDRESS} before Friday.",
    "You can reach me on {PHONE_NUMBER} in the afternoon.",
    "My card number is {CREDIT_CARD}, expiry next year.",
    "Transfer the deposit to {IBAN_CODE} with the reference ORDER.",
    "The login came from {IP_ADDRESS} at night.",
    "For the form: SSN {US_SSN}, born in Ohio.",
    "Hello, my name is {PERSON} and I have a question about my bill.",
    "Kind regards, {PERSON}",
    "Contact {EMAIL_ADDRESS} or call {PHONE_NUMBER} if the card {CREDIT_CARD} is declined.",
    "Dr {PERSON} asked me to forward {EMAIL_ADDRESS} the results.",
]
CLEAN = [
    "The model's score was {decimal} and the baseline {decimal}.",
    "Order {order} shipped; tracking number {tracking}.",
    "The meeting is on {date} at {time}.",
    "Upgrade from version {version} to the next release.",
    "The laptop costs ${price} and the warranty ${price}.",
    "Reference {bad_card} was not recognised by the system.",
    "Coordinates {decimal}, {decimal} mark the depot.",
    "Batch {order} contained {count} items weighing {decimal} kg.",
]


def luhn_digit(partial: str) -> str:
    total = 0
    for i, d in enumerate(reversed(partial)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    body = rng.choice(["4", "51", "52", "53", "37"])
    length = 15 if body == "37" else 16
    body += "".join(rng.choice(string.digits) for _ in range(length - 1 - len(body)))
    number = body + luhn_digit(body)
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    return rng.choice([" ", "-", ""]).join(groups)


def bad_card(rng: random.Random) -> str:
    number = card(rng).replace(" ", "").replace("-", "")
    return number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)


def iban(rng: random.Random) -> str:
    bank = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
    account = "".join(rng.choice(string.digits) for _ in range(14))
    rearranged = bank + account + "GB00"
    digits = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(digits) % 97
    value = f"GB{check:02d}{bank}{account}"
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.5 else value


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng: random.Random) -> str:
    return rng.choice(
        [
            f"+44 20 7946 {rng.randint(0, 999):04d}",
            f"+1 212 555 {rng.randint(100, 199):04d}",
            f"(415) 555-{rng.randint(100, 199):04d}",
            f"+49 30 {rng.randint(1000000, 9999999)}",
            f"020 7946 {rng.randint(0, 999):04d}",
        ]
    )


def value(kind: str, rng: random.Random) -> str:
    if kind == "EMAIL_ADDRESS":
        return f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
    if kind == "PERSON":
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if kind == "IP_ADDRESS":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    return {"PHONE_NUMBER": phone, "CREDIT_CARD": card, "IBAN_CODE": iban, "US_SSN": ssn}[kind](rng)


def planted(rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    template = rng.choice(TEMPLATES)
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        kind, _, rest = after.partition("}")
        text += before
        got = value(kind, rng)
        spans.append((len(text), len(text) + len(got), kind))
        text += got
    return text + rest, spans


def clean(rng: random.Random) -> str:
    fillers = {
        "decimal": lambda: f"{rng.random():.{rng.randint(6, 16)}f}",
        "order": lambda: f"{rng.randint(10000, 99999999)}",
        "tracking": lambda: f"1Z{rng.randint(10**15, 10**16 - 1)}",
        "date": lambda: f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "time": lambda: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "version": lambda: f"{rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        "price": lambda: f"{rng.randint(10, 9999):,}.{rng.randint(0, 99):02d}",
        "bad_card": lambda: bad_card(rng),
        "count": lambda: str(rng.randint(2, 500)),
    }
    template = rng.choice(CLEAN)
    out, rest = "", template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        out += before + fillers[key]()
    return out + rest


def pii_quality(texts: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    policy = GuardPolicy.model_validate(
        {
            "schema": "assay.guardrail/1",
            "name": "quality",
            "sensitive_information": {"entities": [{"type": t} for t in PII_TYPES]},
        }
    )
    guard = Guardrail(policy)
    planted_n: Counter[str] = Counter()
    masked_n: Counter[str] = Counter()
    found_n: Counter[str] = Counter()
    false_n: Counter[str] = Counter()
    samples = [planted(rng) for _ in range(texts)] + [(clean(rng), []) for _ in range(texts // 2)]
    for text, spans in samples:
        result = guard.apply("INPUT", text)
        masked = [f for f in result.findings if f.action == "ANONYMIZED" and f.span]
        for start, end, kind in spans:
            planted_n[kind] += 1
            hit = any(f.type == kind and f.span and f.span[0] <= start and f.span[1] >= end for f in masked)
            if hit and text[start:end] not in result.text:
                masked_n[kind] += 1
        for f in masked:
            assert f.span is not None
            found_n[f.type] += 1
            if not any(f.type == kind and f.span[0] < end and start < f.span[1] for start, end, kind in spans):
                false_n[f.type] += 1
    out: dict[str, dict[str, float]] = {}
    for kind in sorted(set(planted_n) | set(found_n)):
        out[kind] = {
            "planted": planted_n[kind],
            "recall": masked_n[kind] / planted_n[kind] if planted_n[kind] else float("nan"),
            "found": found_n[kind],
            "precision": (found_n[kind] - false_n[kind]) / found_n[kind] if found_n[kind] else float("nan"),
        }
    total_p, total_f = sum(planted_n.values()), sum(found_n.values())
    out["all"] = {
        "planted": total_p,
        "recall": sum(masked_n.values()) / total_p,
        "found": total_f,
        "precision": (total_f - sum(false_n.values())) / total_f,
    }
    return out


def attack_quality(path: Path, threshold: float = 0.5) -> dict[str, object]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    per: dict[str, list[int]] = {}
    tp = fp = fn = tn = 0
    for row in rows:
        flagged = score_prompt(row["text"]).score >= threshold
        per.setdefault(f"{row['label']}:{row['category']}", []).append(int(flagged))
        if row["label"] == "attack":
            tp, fn = tp + flagged, fn + (not flagged)
        else:
            fp, tn = fp + flagged, tn + (not flagged)
    return {
        "attacks": tp + fn, "benign": fp + tn, "precision": tp / (tp + fp), "recall": tp / (tp + fn),
        "false_positive_rate": fp / (fp + tn),
        "by_category": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(per.items())},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pii = pii_quality(args.texts, args.seed)
    print(f"PII masking, {args.texts} texts with planted values + {args.texts // 2} clean texts (seed {args.seed}):")
    for kind, got in pii.items():
        print(
            f"  {kind:<14} planted {got['planted']:>5.0f}  recall {got['recall']:.3f}  "
            f"masked spans {got['found']:>5.0f}  precision {got['precision']:.3f}"
        )
    for name in ("prompt-attacks", "prompt-attacks-holdout", "prompt-attacks-final"):
        attacks = attack_quality(Path(__file__).with_name("data") / f"{name}.jsonl")
        print(f"Prompt attacks, {name}.jsonl, threshold 0.5: {json.dumps(attacks, indent=1)}")


if __name__ == "__main__":
    main()
