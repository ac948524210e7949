"""False alarms and detection of every data check's pass/fail verdict at its defaults, on the shared datasets.

Clean: each dataset (exact duplicate rows removed first, so that "clean" means clean for every check) is split at
random into two halves A and B, `--splits` times; a check that fails on a clean split is a false alarm:

- validate: baseline of A, B validated against it (any violation);
- duplicates: B alone; leakage: B against A (the label excluded);
- target-leakage: B with its label; label-issues: a sample of B (`--label-sample` rows);
- representativeness: B's facet against the facet's shares in the whole dataset;
- pii: B's columns (the shared datasets hold no identifier in values; compas' name columns are named, so only
  value findings count there).

Planted (detection = the share of planted splits the check fails): B with 1% of its rows duplicated; 1% of A's rows
copied into B; a column that is the label with 0.5% of values flipped, as text; 10% of the labels flipped; half of
the smallest facet group dropped; a column of valid card numbers; for validate, 5 points more missing values in one
column (completeness), a category no baseline row has in 20% of one text column, and (counted only when that
column's baseline_drift_check fires) a numeric column shifted by half its standard deviation and 15% of a text
column's values moved to its rarest value. Drift has its own benchmark
(benchmarks/drift_verdicts.py, the same splits).

    PYTHONPATH=src python benchmarks/verdicts.py [--splits 5] [--label-sample 3000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from assay.checks import (
    find_duplicates,
    find_label_issues,
    representativeness,
    scan_pii,
    shared_rows,
    suggest_baseline,
    target_leakage,
    validate,
)

ADULT = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship",
    "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
]  # fmt: skip

# name: (loader, label column, facet column)
DATASETS: dict[str, tuple[Callable[[Path], pd.DataFrame], str, str]] = {
    "acs_sample": (lambda r: pd.read_parquet(r / "acs_folktables/ACS_sample.train.parquet"), "PINCP", "RAC1P"),
    "adult": (
        lambda r: pd.read_csv(r / "adult/adult.data", names=ADULT, skipinitialspace=True, na_values="?"),
        "income",
        "race",
    ),
    "bank": (lambda r: pd.read_csv(r / "bank_marketing/bank-full.csv", sep=";"), "y", "marital"),
    "communities": (lambda r: pd.read_csv(r / "communities_crime/communities_crime.csv"), "class", "Black"),
    "compas": (lambda r: pd.read_csv(r / "compas/compas-scores-two-years.csv"), "two_year_recid", "race"),
    "credit_default": (lambda r: pd.read_csv(r / "credit_card_default/UCI_Credit_Card.csv"), "Y", "X2"),
    "german": (lambda r: pd.read_csv(r / "german_credit/german.csv"), "credit", "personal_status"),
    "law_school": (lambda r: pd.read_csv(r / "law_school/law_school_clean.csv"), "pass_bar", "race"),
    "ricci": (lambda r: pd.read_csv(r / "ricci/ricci.csv"), "Combine", "Race"),
}
CHECKS = ["validate", "duplicates", "leakage", "target-leakage", "label-issues", "representativeness", "pii"]


def load(root: Path, name: str) -> pd.DataFrame:
    frame = DATASETS[name][0](root)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    features = [c for c in frame.columns if c != DATASETS[name][1]]
    return frame.drop_duplicates(subset=features).reset_index(drop=True)


def halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:]].reset_index(drop=True)


def binary_label(frame: pd.DataFrame, label: str) -> pd.Series:
    values = frame[label]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 2:
        return (values >= values.median()).astype(int)  # ricci's combined score
    return (values == sorted(values.dropna().unique(), key=str)[-1]).astype(int)


def luhn(rng: np.random.Generator) -> str:
    digits = [4] + [int(d) for d in rng.integers(0, 10, 14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        doubled = d * 2 if i % 2 == 0 else d
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def run_check(check: str, a: pd.DataFrame, b: pd.DataFrame, whole: pd.DataFrame, label: str, facet: str,
              args: argparse.Namespace, seed: int) -> tuple[bool, str]:  # fmt: skip
    """(failed, what it said) for one check at its defaults."""
    if check == "validate":
        found = validate(b, suggest_baseline(a).constraints, suggest_baseline(a).statistics)
        kinds = sorted({f"{v.constraint_check_type}:{v.feature_name}" for v in found.violations})
        return bool(found.violations), ",".join(kinds)
    if check == "duplicates":
        dup = find_duplicates(b)
        return not dup.passed, f"{dup.duplicate_rows}"
    if check == "leakage":
        shared = shared_rows(b, a, exclude=[label])
        return not shared.passed, f"{shared.data_rows_shared}"
    if check == "target-leakage":
        data = b.assign(**{label: binary_label(b, label)})
        if label == "class":  # communities: the label is ViolentCrimesPerPop >= 0.7, a real leak (found every time)
            data = data.drop(columns=["ViolentCrimesPerPop"])
        leak = target_leakage(data, label, positive=1)
        return bool(leak.leaking), ",".join(f.feature for f in leak.leaking)
    if check == "label-issues":
        data = b.assign(**{label: binary_label(b, label)})
        issues = find_label_issues(data, label, sample=min(args.label_sample, len(data)), seed=seed)
        return not issues.passed, f"{issues.share:.3f} vs {issues.expected_share:.3f}"
    if check == "representativeness":
        shares = whole[facet].astype(str).value_counts(normalize=True).to_dict()
        test = representativeness(b.assign(**{facet: b[facet].astype(str)}), {facet: shares})
        return not test.passed, f"p={test.tests[0].p_value:.3g}"
    if check == "pii":
        scan = scan_pii(b, sample=100, seed=seed)
        values = [c.column for c in scan.columns if any(e in c.value_entities for e in c.entities)]
        return bool(values), ",".join(values)
    raise ValueError(check)


def planted(check: str, a: pd.DataFrame, b: pd.DataFrame, label: str, facet: str, rng: np.random.Generator
            ) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:  # fmt: skip
    """(problem, A, B) with the problem planted."""
    n = len(b)
    if check == "validate":
        out = []
        numeric = [c for c in b.columns if pd.api.types.is_numeric_dtype(b[c]) and c != label]
        if numeric:
            column = numeric[0]
            shown = b[column].astype("float64")
            gone = b.assign(**{column: shown.where(rng.random(n) > 0.05)})
            out.append(("5 points more missing", a, gone))
            out.append((f"drift:{column}: shifted by half its standard deviation", a,
                        b.assign(**{column: shown + 0.5 * shown.std()})))  # fmt: skip
        text = [c for c in b.columns if not pd.api.types.is_numeric_dtype(b[c]) and b[c].nunique() <= 50]
        if text:
            column = text[0]
            values = b[column].to_numpy(dtype=object).copy()
            values[rng.random(n) < 0.2] = "__new__"
            out.append(("20% new category", a, b.assign(**{column: values})))
            values = b[column].to_numpy(dtype=object).copy()
            rare = b[column].value_counts().index[-1]
            values[rng.random(n) < 0.15] = rare
            out.append((f"drift:{column}: 15% of values moved to its rarest value", a, b.assign(**{column: values})))
        return out
    if check == "duplicates":
        extra = b.iloc[rng.choice(n, max(1, n // 100), replace=False)]
        return [("1% rows duplicated", a, pd.concat([b, extra], ignore_index=True))]
    if check == "leakage":
        extra = a.iloc[rng.choice(len(a), max(1, len(a) // 100), replace=False)]
        return [("1% of A in B", a, pd.concat([b, extra], ignore_index=True))]
    if check == "target-leakage":
        y = binary_label(b, label).to_numpy()
        noisy = np.where(rng.random(n) < 0.005, 1 - y, y)
        return [("label copy, 0.5% flipped", a, b.assign(leak=np.where(noisy == 1, "yes", "no")))]
    if check == "label-issues":
        y = binary_label(b, label).to_numpy()
        flip = rng.random(n) < 0.10
        return [("10% labels flipped", a, b.assign(**{label: np.where(flip, 1 - y, y)}))]
    if check == "representativeness":
        counts = b[facet].astype(str).value_counts()
        small = counts.index[-1] if counts.iloc[-1] >= 20 else counts.index[counts >= 20][-1]
        drop = (b[facet].astype(str) == small).to_numpy() & (rng.random(n) < 0.5)
        return [("half of smallest group dropped", a, b[~drop].reset_index(drop=True))]
    if check == "pii":
        return [("card numbers column", a, b.assign(payment=[luhn(rng) for _ in range(n)]))]
    raise ValueError(check)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--label-sample", type=int, default=3000)
    parser.add_argument("--only", nargs="*", default=CHECKS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    clean = {c: [0, 0] for c in args.only}
    caught = {c: [0, 0] for c in args.only}
    notes: dict[str, list[str]] = {c: [] for c in args.only}
    started = time.perf_counter()
    for name, (_, label, facet) in DATASETS.items():
        whole = load(args.data.resolve(), name)
        for split in range(args.splits):
            a, b = halves(whole, split)
            rng = np.random.default_rng(1000 + split)
            for check in args.only:
                failed, said = run_check(check, a, b, whole, label, facet, args, split)
                clean[check][0] += failed
                clean[check][1] += 1
                if failed:
                    notes[check].append(f"{name}#{split}: {said}")
                for problem, pa, pb in planted(check, a, b, label, facet, rng):
                    hit, said = run_check(check, pa, pb, whole, label, facet, args, split)
                    if problem.startswith("drift:"):  # planted drift: found only by that column's drift check
                        hit = f"baseline_drift_check:{problem.split(':')[1]}" in said.split(",")
                    caught[check][0] += hit
                    caught[check][1] += 1
                    if not hit:
                        notes[check].append(f"missed {problem} on {name}#{split}: {said}")
        print(f"{name} done at {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\n{len(DATASETS)} datasets x {args.splits} random half splits (duplicates removed first)\n")
    print("| check | false alarms on clean splits | planted problems detected |")
    print("|---|---:|---:|")
    for check in args.only:
        f, t = clean[check]
        h, p = caught[check]
        print(f"| {check} | {f} of {t} ({f / t:.0%}) | {h} of {p} ({h / p:.0%}) |")
    for check in args.only:
        if notes[check]:
            print(f"\n{check}: " + "; ".join(notes[check][:12]) + (" ..." if len(notes[check]) > 12 else ""))


if __name__ == "__main__":
    main()
