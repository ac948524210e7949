"""False alarms and detection of every data check's pass/fail verdict at its defaults, on the shared datasets.

Clean: each dataset (exact duplicate rows removed first, so that "clean" means clean for every check) is split at
random into two halves A and B, `--splits` times; a check that fails on a clean split is a false alarm:

- validate: baseline of A, B validated against it (any violation);
- duplicates: B alone; leakage: B against A (the label excluded);
- target-leakage: B with its label; label-issues: a sample of B (`--label-sample` rows), cross-validated on B, and
  (label-issues+reference) with the model fitted on a sample of A's labels, the trusted reference;
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

The monitors' verdicts (model-quality, bias-drift), at their defaults through the compute kinds: each dataset split
at random into thirds, `--splits` times; a gradient boosting model is fitted on the first third, the second is the
baseline (a model-quality baseline run, or the bias assessment of the facet with the model's predictions), the third
the monitored window; a window that fails is a false alarm (one that is too small to judge is `warn`, counted apart).
Planted in the window: 10 % of the labels flipped, and a fifth of the scores replaced by random ones (a degraded
model), for model-quality; the second largest facet group's positive label rate, and its positive prediction rate,
raised by 0.2 (twice the default band), for bias-drift.

    PYTHONPATH=src python benchmarks/verdicts.py [--splits 5] [--label-sample 3000] [--data ../shared/data]
        [--only CHECK ...] [--datasets NAME ...]
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
CHECKS = [
    "validate",
    "duplicates",
    "leakage",
    "target-leakage",
    "label-issues",
    "label-issues+reference",
    "representativeness",
    "pii",
]
MONITORS = ["model-quality", "bias-drift"]


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
    if check == "label-issues+reference":  # A's labels are the trusted reference
        data = b.assign(**{label: binary_label(b, label)})
        trusted = a.assign(**{label: binary_label(a, label)})
        sample = min(args.label_sample, len(data))
        issues = find_label_issues(data, label, sample=sample, seed=seed, reference=trusted)
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
    if check in ("label-issues", "label-issues+reference"):
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


# --- the monitors' verdicts: model-quality and bias-drift ------------------------------------------------------------


def thirds(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng([seed, 3]).permutation(len(frame))
    third = len(frame) // 3
    parts = order[:third], order[third : 2 * third], order[2 * third :]
    return tuple(frame.iloc[p].reset_index(drop=True) for p in parts)  # type: ignore[return-value]


def scored(train: pd.DataFrame, label: str, facet: str, others: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """A gradient boosting model fitted on ``train`` (numbers as they are, text of at most 50 values as categories;
    wider text and empty columns left out), and each of ``others`` with its label as 0/1 ``y``, ``score``, ``pred``
    and ``facet`` (as text)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = [c for c in train.columns if c != label]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(train[c]) and train[c].notna().any()]
    text = [c for c in features if not pd.api.types.is_numeric_dtype(train[c]) and 2 <= train[c].nunique() <= 50]
    levels = {c: sorted(train[c].dropna().astype(str).unique()) for c in text}

    def design(frame: pd.DataFrame) -> np.ndarray:
        cols = [frame[c].astype("float64").to_numpy() for c in numeric]
        for c in text:
            codes = pd.Categorical(frame[c].astype(str).where(frame[c].notna()), categories=levels[c]).codes
            cols.append(np.where(codes < 0, np.nan, codes).astype("float64"))
        return np.column_stack(cols)

    model = HistGradientBoostingClassifier(
        max_iter=100, random_state=0, categorical_features=[False] * len(numeric) + [True] * len(text)
    )
    model.fit(design(train), binary_label(train, label))
    out = []
    for frame in others:
        score = model.predict_proba(design(frame))[:, 1]
        out.append(
            pd.DataFrame(
                {
                    "y": binary_label(frame, label).to_numpy(),
                    "score": score,
                    "pred": (score > 0.5).astype(int),
                    "facet": frame[facet].astype(str),
                }
            )
        )
    return out


def monitor_verdicts(whole: pd.DataFrame, label: str, facet: str, seed: int
                     ) -> dict[str, list[tuple[str, str, str]]]:  # fmt: skip
    """Per monitor kind: (case, status, what it said) on the clean third and each planted problem."""
    from assay.services.compute import Inputs, compute

    train, base, window = thirds(whole, seed)
    base, window = scored(train, label, facet, [base, window])
    rng = np.random.default_rng([seed, 19])
    n = len(window)
    counts = window["facet"].value_counts()
    group = counts.index[1] if len(counts) > 1 else counts.index[0]  # the second largest group
    quality = {"label": "y", "predicted": "pred", "score": "score"}
    bias = {"label": "y", "facets": ["facet"], "predicted": "pred"}
    flipped = window.assign(y=np.where(rng.random(n) < 0.10, 1 - window["y"], window["y"]))
    noisy = rng.random(n) < 0.20  # a degraded model: a fifth of its scores are noise
    degraded = window.assign(score=np.where(noisy, rng.random(n), window["score"]))
    degraded = degraded.assign(pred=(degraded["score"] > 0.5).astype(int))
    in_group = (window["facet"] == group).to_numpy()

    def raised(column: str) -> pd.DataFrame:
        """The group's share of positive ``column`` raised by 0.2 (twice the default band): negatives made positive
        at random."""
        negatives = np.flatnonzero(in_group & (window[column] == 0).to_numpy())
        chosen = rng.choice(negatives, min(len(negatives), round(0.2 * in_group.sum())), replace=False)
        values = window[column].to_numpy().copy()
        values[chosen] = 1
        return window.assign(**{column: values})

    out: dict[str, list[tuple[str, str, str]]] = {}
    qbase = compute("model-quality", Inputs(base), quality).to_dict()
    rows = []
    for case, frame in (("clean", window), ("10% labels flipped", flipped), ("20% of scores random", degraded)):
        doc = compute("model-quality", Inputs(frame, baseline_document=qbase), quality).to_dict()
        rows.append((case, doc["status"], ",".join(v["metric_name"] for v in doc["violations"])))
    out["model-quality"] = rows
    bbase = compute("bias", Inputs(base), bias).to_dict()
    rows = []
    for case, frame in (("clean", window), (f"{group}'s positive label rate +0.2", raised("y")),
                        (f"{group}'s positive prediction rate +0.2", raised("pred"))):  # fmt: skip
        doc = compute("bias-drift", Inputs(frame, baseline_document=bbase), bias).to_dict()
        said = ",".join(f"{v['facet_value']}:{v['metric_name']}" for v in doc["violations"])
        rows.append((case, doc["status"], said))
    out["bias-drift"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--label-sample", type=int, default=3000)
    parser.add_argument("--only", nargs="*", default=CHECKS + MONITORS)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    clean = {c: [0, 0] for c in args.only}
    caught = {c: [0, 0] for c in args.only}
    unjudged = {c: [0, 0] for c in args.only}  # monitors: windows too small to judge (warn), clean and planted
    notes: dict[str, list[str]] = {c: [] for c in args.only}
    started = time.perf_counter()
    for name, (_, label, facet) in ((n, DATASETS[n]) for n in args.datasets):
        whole = load(args.data.resolve(), name)
        for split in range(args.splits):
            a, b = halves(whole, split)
            rng = np.random.default_rng(1000 + split)
            monitored = [m for m in MONITORS if m in args.only]
            for check, rows in (monitor_verdicts(whole, label, facet, split) if monitored else {}).items():
                if check not in args.only:
                    continue
                for case, status, said in rows:
                    tally = clean if case == "clean" else caught
                    tally[check][0] += status == "fail"
                    tally[check][1] += 1
                    unjudged[check][case != "clean"] += status == "warn"
                    if (status == "fail") == (case == "clean"):
                        notes[check].append(f"{'' if case == 'clean' else 'missed '}{case} on {name}#{split}: "
                                            f"{status} {said}")  # fmt: skip
            for check in (c for c in args.only if c not in MONITORS):
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
        so_far = "; ".join(f"{c}: {clean[c][0]}/{clean[c][1]} false alarms, {caught[c][0]}/{caught[c][1]} caught"
                           for c in args.only)  # fmt: skip
        print(f"{name} done at {time.perf_counter() - started:.0f} s ({so_far})", flush=True)
    print(f"\n{len(args.datasets)} datasets x {args.splits} random splits (duplicates removed first)\n")
    print("| check | false alarms on clean splits | planted problems detected |")
    print("|---|---:|---:|")
    for check in args.only:
        f, t = clean[check]
        h, p = caught[check]
        warned = f" ({unjudged[check][0]} clean and {unjudged[check][1]} planted too small to judge: warn)"
        print(
            f"| {check} | {f} of {t} ({f / t:.0%}) | {h} of {p} ({h / p:.0%}) |"
            + (warned if any(unjudged[check]) else "")
        )
    for check in args.only:
        if notes[check]:
            print(f"\n{check}: " + "; ".join(notes[check][:12]) + (" ..." if len(notes[check]) > 12 else ""))


if __name__ == "__main__":
    main()
