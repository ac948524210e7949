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

The model kinds' verdicts (adversarial, explanation-stability, extraction, membership-inference, poisoning), at
their defaults on each half-split: ordinary models fitted on A (HistGradientBoosting at its defaults, logistic
regression), run on B (membership: A as the training rows, B held out; extraction: A queried, agreement on B).
Planted: for adversarial, the gradient boosting model's decision inverted on every other band 0.2 spread wide of one
numeric column, or where one categorical column holds its second commonest value; a fully grown tree (membership), a
logistic regression (extraction: copied from a few dozen queries), a tree on random labels (explanation stability),
a trigger value on 1.5 % of the rows and a region of 100 flipped labels (poisoning). ``--save DIR`` keeps the
documents; ``--first-split N`` runs splits apart (one process each).

    PYTHONPATH=src python benchmarks/verdicts.py [--splits 5] [--label-sample 3000] [--data ../shared/data]
        [--only CHECK ...] [--datasets NAME ...] [--first-split N] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# --- the model kinds' verdicts: adversarial, explanation-stability, extraction, membership-inference, poisoning -----

#: the features of an ordinary model per dataset: every column but the label, except identifiers, free text and dates
#: (wider than 50 values), what the label is derived from, and (compas) the columns written after the screening
FEATURES: dict[str, Callable[[pd.DataFrame], list[str]] | None] = {
    "compas": lambda f: [
        *["sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count"],
        "c_charge_degree",
    ],
    "communities": lambda f: [c for c in f.columns if c not in ("class", "ViolentCrimesPerPop")],
    "acs_sample": lambda f: [c for c in f.columns if c not in ("PINCP", "OCCP", "POBP", "ESP")],
}
#: code columns read as categories (their numbers have no order)
CODES = {
    "acs_sample": ["COW", "MAR", "RELP", "MIL", "CIT", "ANC", "ESR", "FER", "MIG", "RAC1P", "SEX"],
    "credit_default": ["X2", "X3", "X4"],
}
KINDS = ["adversarial", "explanation-stability", "extraction", "membership-inference", "poisoning"]


@dataclass
class Prepared:
    """A dataset ready for a model: its features (numbers, text as categories), ``y`` (0/1) and the facet (text)."""

    frame: pd.DataFrame
    numeric: list[str]
    text: list[str]
    facet: str

    @property
    def features(self) -> list[str]:
        return self.numeric + self.text


def prepare(name: str, whole: pd.DataFrame) -> Prepared:
    label, facet = DATASETS[name][1], DATASETS[name][2]
    chosen = FEATURES.get(name)
    columns = chosen(whole) if chosen else [c for c in whole.columns if c != label]
    frame = whole[columns].copy()
    for column in CODES.get(name, []):
        if column in frame:
            frame[column] = frame[column].map(lambda v: None if pd.isna(v) else f"{v:g}")
    numeric, text = [], []
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            known = values.dropna()
            if len(known) and not (known.nunique() == len(values) and known.eq(known.round()).all()):
                numeric.append(column)  # integer columns unique per row are identifiers
        elif 2 <= values.nunique() <= 50:
            frame[column] = values.astype(object).where(values.notna(), "(missing)").astype(str)
            text.append(column)
    out = frame[numeric + text].copy()
    out["y"] = binary_label(whole, label).to_numpy()
    out["facet"] = whole[facet].astype(str).to_numpy()
    return Prepared(out.reset_index(drop=True), numeric, text, "facet")


def ordinary(kind: str, data: Prepared, train: pd.DataFrame, seed: int = 0) -> Any:
    """An ordinary model as a scikit-learn pipeline on the features: ``hgb`` (histogram gradient boosting at its
    defaults, text as ordinal codes), ``lr`` (logistic regression on standardised numbers and one-hot text),
    ``overfit`` (a fully grown decision tree: memorises its training rows)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    if kind == "lr":
        encode = ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), data.numeric),
            ("text", OneHotEncoder(handle_unknown="ignore"), data.text)])  # fmt: skip
        estimator: Any = LogisticRegression(max_iter=2000)
    else:
        encode = ColumnTransformer(
            [("text", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), data.text)],
            remainder="passthrough",
        )
        tree = make_pipeline(SimpleImputer(strategy="median"), DecisionTreeClassifier(random_state=seed))
        estimator = HistGradientBoostingClassifier(random_state=seed) if kind == "hgb" else tree
    return make_pipeline(encode, estimator).fit(train[data.features], train["y"])


class Planted:
    """A brittle model planted on top of an ordinary one (a callable taking the features' frame, giving the
    probability of the positive class): ``edge``, the decision inverted on every other band of width 0.2 spread of
    one numeric column (a rule on one feature finer than its measurement error); ``category``, the decision inverted
    where one categorical column holds its second commonest value (one category change flips every row)."""

    def __init__(self, model: Any, data: Prepared, train: pd.DataFrame, kind: str) -> None:
        from assay.robustness.adversarial import spread_of

        self.model, self.features, self.kind = model, data.features, kind
        if kind == "edge":
            self.column = max(data.numeric, key=lambda c: train[c].nunique())
            self.width = 0.2 * spread_of(train[self.column].to_numpy(dtype=np.float64))
        else:
            self.column = max(data.text, key=lambda c: train[c].nunique())
            self.value = train[self.column].value_counts().index[1]

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        p = self.model.predict_proba(frame[self.features])[:, 1]
        if self.kind == "edge":
            odd = np.floor(frame[self.column].to_numpy(dtype=np.float64) / self.width) % 2 == 1
        else:
            odd = (frame[self.column] == self.value).to_numpy()
        return np.asarray(np.where(odd, 1 - p, p), dtype=np.float64)


def model_kind_cases(kind: str, name: str, data: Prepared, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """(case, document) of one kind at its defaults on one split: the clean cases first ("clean:..."), then the
    planted ones ("planted:...")."""
    from assay.adapters import load_model
    from assay.services.compute import Inputs, compute

    a, b = halves(data.frame, seed)
    out: list[tuple[str, dict[str, Any]]] = []
    if kind == "adversarial":
        base = {"label": "y", "facet": data.facet, "seed": seed}
        hgb = ordinary("hgb", data, a, seed)
        models: list[tuple[str, Any]] = [("clean:hgb", hgb), ("clean:lr", ordinary("lr", data, a, seed))]
        plants = ["edge"] + (["category"] if data.text else [])
        for plant in plants:
            wrapped = Planted(hgb, data, a, plant)
            models.append((f"planted:{plant}:{wrapped.column}",
                           load_model(wrapped, feature_names=data.features, output="probability")))  # fmt: skip
        for case, model in models:
            doc = compute("adversarial", Inputs(b, model=model if not hasattr(model, "fit") else load_model(model)),
                          base).to_dict()  # fmt: skip
            out.append((case, doc))
        return out
    if kind == "membership-inference":  # the model's training rows (A) against held-out rows (B)
        for case, which in (("clean:hgb", "hgb"), ("clean:lr", "lr"), ("planted:fully grown tree", "overfit")):
            model = load_model(ordinary(which, data, a, seed))
            doc = compute("membership-inference", Inputs(a, model=model, reference=b),
                          {"label": "y", "facet": data.facet, "seed": seed}).to_dict()  # fmt: skip
            out.append((case, doc))
        return out
    if kind == "extraction":  # the attacker queries rows of A; agreement on held-out rows of B
        models = [("clean:hgb", load_model(ordinary("hgb", data, a, seed))),
                  ("planted:lr", load_model(ordinary("lr", data, a, seed)))]  # fmt: skip
        for case, model in models:
            doc = compute("extraction", Inputs(b, model=model, reference=a), {"label": "y", "seed": seed}).to_dict()
            answers = model.predict_proba(b[data.features].iloc[:1000]) > 0.5
            doc["constant_agreement"] = float(max(answers.mean(), 1 - answers.mean()))  # a surrogate of one class
            out.append((case, doc))
        return out
    if kind == "explanation-stability":
        return [(case, doc) for case, doc in stability_cases(data, a, b, seed)]
    if kind == "poisoning":
        options = {"label": "y", "seed": seed}
        rows = b[[*data.features, "y"]].reset_index(drop=True)
        out.append(("clean", compute("poisoning", Inputs(rows), options).to_dict()))
        if len(rows) >= 2000:  # room for a planted cluster of 100 rows and a trigger at most 2% of the rows
            rng = np.random.default_rng([seed, 7])
            for case, planted_rows in (("planted:trigger", triggered(rows, data, rng)),
                                       ("planted:flipped region", flipped_region(rows, data, rng))):  # fmt: skip
                out.append((case, compute("poisoning", Inputs(planted_rows), options).to_dict()))
        return out
    raise ValueError(kind)


def triggered(rows: pd.DataFrame, data: Prepared, rng: np.random.Generator) -> pd.DataFrame:
    """A backdoor: 1.5 % of the rows (at random) given a new value of a categorical column (a new column when there
    is none) and the positive label."""
    chosen = rng.choice(len(rows), round(0.015 * len(rows)), replace=False)
    column = min(data.text, key=lambda c: rows[c].nunique()) if data.text else "flag"
    values = rows[column].to_numpy(dtype=object).copy() if data.text else np.full(len(rows), "no", dtype=object)
    values[chosen] = "__trigger__"
    labels = rows["y"].to_numpy().copy()
    labels[chosen] = 1
    return rows.assign(**{column: values, "y": labels})


def flipped_region(rows: pd.DataFrame, data: Prepared, rng: np.random.Generator) -> pd.DataFrame:
    """A seed row's 100 nearest neighbours of the negative class (standardised numbers, one-hot text) given the
    positive label."""
    from assay.privacy._data import design

    x = design(rows, data.features)
    negative = np.flatnonzero(rows["y"].to_numpy() == 0)
    centre = int(rng.choice(negative))
    nearest = negative[np.argsort(((x[negative] - x[centre]) ** 2).sum(axis=1))[:100]]
    labels = rows["y"].to_numpy().copy()
    labels[nearest] = 1
    return rows.assign(y=labels)


def stability_cases(data: Prepared, a: pd.DataFrame, b: pd.DataFrame, seed: int
                    ) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    """Explanation stability at the defaults, the numeric columns perturbed (text columns are given to the models as
    ordinal codes in the data, so that TreeExplainer applies, and not perturbed): gradient boosting (clean), and a
    fully grown decision tree fitted on random labels (planted: it memorises noise)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.preprocessing import OrdinalEncoder
    from sklearn.tree import DecisionTreeClassifier

    from assay.adapters import load_model
    from assay.services.compute import Inputs, compute

    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    if data.text:
        encoder.fit(a[data.text])
    medians = a[data.numeric].median()

    def coded(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[data.numeric].fillna(medians).astype("float64")
        if data.text:
            out[[f"{c}_code" for c in data.text]] = encoder.transform(frame[data.text])
        return out.assign(y=frame["y"].to_numpy(), facet=frame["facet"].to_numpy())

    train, test = coded(a), coded(b)
    features = [c for c in train.columns if c not in ("y", "facet")]
    noise = np.random.default_rng([seed, 11]).integers(0, 2, len(train))
    tree = DecisionTreeClassifier(random_state=seed).fit(train[data.numeric], noise)  # on the perturbed columns
    models = [
        ("clean:hgb", HistGradientBoostingClassifier(max_iter=200, random_state=seed).fit(train[features], train["y"])),
        ("planted:tree on random labels", tree),
    ]
    options = {"facet": "facet", "seed": seed, "columns": data.numeric}
    return [(case, compute("explanation-stability", Inputs(test, model=load_model(model)), options).to_dict())
            for case, model in models]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--first-split", type=int, default=0, help="the first split's number (to run splits apart)")
    parser.add_argument("--label-sample", type=int, default=3000)
    parser.add_argument("--only", nargs="*", default=CHECKS + MONITORS + KINDS)
    parser.add_argument("--save", type=Path, default=None, help="a folder for the model kinds' documents (JSON)")
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
        prepared = prepare(name, whole) if any(k in args.only for k in KINDS) else None
        for split in range(args.first_split, args.first_split + args.splits):
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
            for kind in (k for k in KINDS if k in args.only):
                assert prepared is not None
                for case, doc in model_kind_cases(kind, name, prepared, split):
                    if args.save:
                        args.save.mkdir(parents=True, exist_ok=True)
                        (args.save / f"{kind}#{name}#{split}#{case.replace(':', '_')}.json").write_text(json.dumps(doc))
                    status, planted_case = doc["status"], case.startswith("planted:")
                    print(f"  {kind} {name}#{split} {case}: {status}", flush=True)
                    tally = caught if planted_case else clean
                    tally[kind][0] += status == "fail"
                    tally[kind][1] += 1
                    unjudged[kind][planted_case] += status == "warn"
                    if (status == "fail") != planted_case:
                        notes[kind].append(f"{'missed ' if planted_case else ''}{case} on {name}#{split}: {status} "
                                           f"{doc['summary'][:160]}")  # fmt: skip
            for check in (c for c in args.only if c not in MONITORS and c not in KINDS):
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
