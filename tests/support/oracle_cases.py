"""Oracle cases: inputs whose SageMaker Clarify (smclarify 0.5) results are pinned in tests/data/oracle/.

This module is imported both by the test-suite and by tests/oracle/make_expected.py, which runs in the
separate oracle virtualenv (smclarify 0.5 + pandas 2.2). It therefore depends only on numpy, pandas
(2.2 or 3.x) and the standard library, and must never import ``assay``.

Real cases
    ``REAL_CASES`` lists (dataset, facet) combinations on the shared data sets.
    ``load_real(case, shared_dir)`` returns the exact frame that was given to smclarify: columns facet, label,
    predicted, group, *features, in that order and nothing else.
    Expected values: ``tests/data/oracle/real/<case.name>.json``.

Synthetic cases
    ``synthetic_case(i)`` for ``i in range(N_SYNTHETIC)`` returns a small deterministic frame (columns
    facet, label, pred, group, x1, x2) and a spec dict; the smclarify values (direct mode) are in
    ``tests/data/oracle/synthetic.json`` under ``cases[i]["direct"]``.

Shared data location: ``shared_data_dir()`` reads ``ASSAY_SHARED_DATA`` (a relative value is taken relative to
the repository root) and defaults to ``<repo root>/../shared/data``.
"""

from __future__ import annotations

import gzip
import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
ORACLE_DIR = TESTS_DIR / "data" / "oracle"
REAL_EXPECTED_DIR = ORACLE_DIR / "real"
SYNTHETIC_EXPECTED = ORACLE_DIR / "synthetic.json"
PREDICTIONS_DIR = TESTS_DIR / "data" / "predictions"

# Datasets without model output: predictions of a fixed scikit-learn model, made once by
# tests/oracle/make_expected.py (--retrain-predictions) and committed here, one 0/1 per raw-file row.
PREDICTED_DATASETS = ("adult", "german_credit", "bank_marketing")


def shared_data_dir() -> pathlib.Path:
    """``$ASSAY_SHARED_DATA`` (relative values resolve against the repo root), default ``../shared/data``."""
    raw = os.environ.get("ASSAY_SHARED_DATA", "../shared/data")
    path = pathlib.Path(raw).expanduser()
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path.resolve()


# --------------------------------------------------------------------------------------------------------
# Real cases
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealCase:
    name: str  # file stem of the expected JSON
    dataset: str  # "compas" | "adult" | "german_credit" | "bank_marketing"
    label: str
    label_values: list  # positive label values, typed as in the loaded frame
    facet: str
    facet_values: list | None  # sensitive values (None = one-vs-all over every facet value)
    facet_threshold: float | None  # continuous facet: facet d = value > threshold (Clarify semantics)
    predicted: str  # predicted-label column: binary, same type and positive values as the label
    group: str  # group column for CDDL / CDDPL (categorical strings)
    features: list[str] = field(default_factory=list)  # numeric kNN features of the Flip Test (FT)


PREDICTED = "predicted"

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]

_COMPAS_FEATURES = ["age", "priors_count", "start", "end"]
_ADULT_FEATURES = ["age", "fnlwgt", "education-num", "hours-per-week"]
_GERMAN_FEATURES = [
    "month",
    "credit_amount",
    "investment_as_income_percentage",
    "residence_since",
    "number_of_credits",
]
_BANK_FEATURES = ["balance", "duration", "campaign", "pdays"]

_COMPAS = {"dataset": "compas", "label": "two_year_recid", "label_values": [1], "predicted": PREDICTED}
_ADULT = {"dataset": "adult", "label": "income", "label_values": [">50K"], "predicted": PREDICTED}
_GERMAN = {"dataset": "german_credit", "label": "credit", "label_values": [1], "predicted": PREDICTED}
_BANK = {"dataset": "bank_marketing", "label": "y", "label_values": ["yes"], "predicted": PREDICTED}

REAL_CASES: list[RealCase] = [
    # COMPAS: prediction = ProPublica's "higher risk" (decile_score >= 5, i.e. score_text Medium/High).
    RealCase(
        name="compas_race",
        **_COMPAS,
        facet="race",
        facet_values=["African-American"],
        facet_threshold=None,
        group="age_cat",
        features=_COMPAS_FEATURES,
    ),
    RealCase(
        name="compas_sex",
        **_COMPAS,
        facet="sex",
        facet_values=["Female"],
        facet_threshold=None,
        group="age_cat",
        features=_COMPAS_FEATURES,
    ),
    # One-vs-all over the six race values (Native American n=18, Asian n=32): report mode, plus
    # direct mode per facet value (see tests/oracle/README.md for the JSON layout).
    RealCase(
        name="compas_race_ova",
        **_COMPAS,
        facet="race",
        facet_values=None,
        facet_threshold=None,
        group="age_cat",
        features=_COMPAS_FEATURES,
    ),
    # Adult (adult.data, 32561 rows): leading spaces stripped; prediction = committed
    # LogisticRegression output.
    RealCase(
        name="adult_sex",
        **_ADULT,
        facet="sex",
        facet_values=["Female"],
        facet_threshold=None,
        group="education",
        features=_ADULT_FEATURES,
    ),
    RealCase(
        name="adult_race",
        **_ADULT,
        facet="race",
        facet_values=["Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"],
        facet_threshold=None,
        group="workclass",
        features=_ADULT_FEATURES,
    ),
    # German credit (german.csv): label credit 1 = good / 2 = bad; sex from personal_status (A92 = female).
    RealCase(
        name="german_sex",
        **_GERMAN,
        facet="sex",
        facet_values=["female"],
        facet_threshold=None,
        group="purpose",
        features=_GERMAN_FEATURES,
    ),
    # age is float64 so Clarify's report mode infers it CONTINUOUS; facet d = age > 25 (the AIF360
    # privileged side: Clarify's threshold always selects the values above it).
    RealCase(
        name="german_age",
        **_GERMAN,
        facet="age",
        facet_values=None,
        facet_threshold=25.0,
        group="housing",
        features=_GERMAN_FEATURES,
    ),
    # Bank marketing (bank-full.csv, 45211 rows): facet d = age > 59 (i.e. >= 60), float64 as above.
    RealCase(
        name="bank_age",
        **_BANK,
        facet="age",
        facet_values=None,
        facet_threshold=59.0,
        group="job",
        features=_BANK_FEATURES,
    ),
    RealCase(
        name="bank_marital",
        **_BANK,
        facet="marital",
        facet_values=["married"],
        facet_threshold=None,
        group="education",
        features=_BANK_FEATURES,
    ),
]

REAL_CASES_BY_NAME: dict[str, RealCase] = {c.name: c for c in REAL_CASES}


def read_raw(dataset: str, shared_dir: pathlib.Path) -> pd.DataFrame:
    """The raw table of a shared data set, all rows in file order.

    Adult: strings stripped of their leading space; German credit: a derived ``sex`` column is added.
    """
    shared_dir = pathlib.Path(shared_dir)
    if dataset == "compas":
        # duplicate header names: pandas renames the second copies to decile_score.1 / priors_count.1
        return pd.read_csv(shared_dir / "compas" / "compas-scores-two-years.csv")
    if dataset == "adult":
        df = pd.read_csv(shared_dir / "adult" / "adult.data", header=None, names=ADULT_COLUMNS, skipinitialspace=True)
        for col in df.columns:
            if not pd.api.types.is_numeric_dtype(df[col]):
                df[col] = df[col].astype(str).str.strip()
        return df
    if dataset == "german_credit":
        df = pd.read_csv(shared_dir / "german_credit" / "german.csv")
        df["sex"] = np.where(df["personal_status"].astype(str) == "A92", "female", "male")
        return df
    if dataset == "bank_marketing":
        return pd.read_csv(shared_dir / "bank_marketing" / "bank-full.csv", sep=";")
    raise ValueError(f"unknown dataset {dataset!r}")


def predictions_path(dataset: str) -> pathlib.Path:
    """Committed 0/1 predictions (``<dataset>.txt`` or ``<dataset>.txt.gz``)."""
    plain = PREDICTIONS_DIR / f"{dataset}.txt"
    gz = PREDICTIONS_DIR / f"{dataset}.txt.gz"
    return gz if gz.exists() and not plain.exists() else plain


def read_predictions(dataset: str) -> np.ndarray:
    """Committed predictions as an int64 0/1 array in raw-file row order."""
    path = predictions_path(dataset)
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    values = np.array([int(tok) for tok in data.decode("ascii").split()], dtype=np.int64)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"{path}: predictions must be 0/1")
    return values


def _predicted_binary(dataset: str, raw: pd.DataFrame) -> np.ndarray:
    """1 = predicted positive, one per raw row."""
    if dataset == "compas":
        return (raw["decile_score"] >= 5).to_numpy().astype(np.int64)
    pred = read_predictions(dataset)
    if len(pred) != len(raw):
        raise ValueError(f"{dataset}: {len(pred)} predictions for {len(raw)} rows")
    return pred


def load_real(case: RealCase, shared_dir: pathlib.Path) -> pd.DataFrame:
    """The exact frame given to smclarify: columns facet, label, predicted, group, *features, nothing else."""
    raw = read_raw(case.dataset, shared_dir)
    hit = _predicted_binary(case.dataset, raw) == 1
    if case.dataset == "compas":
        predicted = hit.astype(np.int64)  # label two_year_recid is int 0/1
    elif case.dataset == "adult":
        predicted = np.where(hit, ">50K", "<=50K")
    elif case.dataset == "german_credit":
        predicted = np.where(hit, 1, 2).astype(np.int64)  # credit: 1 good, 2 bad
    elif case.dataset == "bank_marketing":
        predicted = np.where(hit, "yes", "no")
    else:  # pragma: no cover
        raise ValueError(case.dataset)
    facet = raw[case.facet]
    if case.facet_threshold is not None:
        # float64: smclarify's report mode treats any float column as CONTINUOUS (threshold semantics)
        facet = facet.astype(np.float64)
    frame = pd.DataFrame(
        {
            case.facet: facet.to_numpy(),
            case.label: raw[case.label].to_numpy(),
            case.predicted: predicted,
            case.group: raw[case.group].to_numpy(),
        }
    )
    for col in case.features:
        frame[col] = raw[col].to_numpy()
    return frame


# --------------------------------------------------------------------------------------------------------
# Synthetic cases (smclarify direct mode)
# --------------------------------------------------------------------------------------------------------

SCENARIOS: tuple[str, ...] = (
    "baseline",
    "string_facet",
    "multi_value_facet",
    "tiny",
    "d_no_pos_label",
    "d_all_pos_label",
    "d_size_1",
    "all_pred_pos",
    "all_pred_neg",
    "all_label_pos",
    "all_label_neg",
    "group_no_pos",
    "a_small",
    "d_empty",
    "a_empty",
    "all_false_negative",
    "a_no_pred_pos",
    "perfect_pred",
    "d_no_pred_pos",
    "d_no_false_pos",
    "inverted_pred",
    "a_all_pos_label",
    "tiny_string_facet",
    "d_all_pred_pos",
)
N_SYNTHETIC = 10 * len(SCENARIOS)  # 240

SYNTHETIC_COLUMNS = ["facet", "label", "pred", "group", "x1", "x2"]
_LETTERS = ["a", "b", "c", "d"]


def synthetic_case(i: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Deterministic small case ``i`` (``numpy.random.default_rng(i)``).

    Returns ``(frame, spec)``; frame columns facet (int or str, 2-4 categories), label (0/1), pred (0/1),
    group (0..k-1), x1, x2 (continuous float64, so the Flip Test's kNN has no distance ties). spec keys:
    label, label_values ([1]), facet, facet_values, predicted ("pred"), group ("group"), features (FT's kNN
    columns in direct mode: group, x1, x2), scenario, properties (edge-case flags computed from the frame).
    """
    if not 0 <= i < N_SYNTHETIC:
        raise IndexError(i)
    rng = np.random.default_rng(i)
    scenario = SCENARIOS[i % len(SCENARIOS)]

    # ---- size and facet encoding
    if scenario in ("tiny", "tiny_string_facet"):
        n = int(rng.integers(10, 41))
    elif scenario == "a_small":
        n = int(rng.integers(12, 120))
    else:
        n = int(rng.integers(10, 401))
    if scenario in ("string_facet", "tiny_string_facet"):
        use_str = True
    elif scenario in ("tiny", "multi_value_facet"):
        use_str = False
    else:
        use_str = bool(rng.random() < 0.35)
    n_cat = 4 if scenario == "multi_value_facet" else int(rng.integers(2, 5))
    if use_str:
        cats: list[Any] = _LETTERS[:n_cat]
    else:
        base = int(rng.integers(0, 2))
        cats = list(range(base, base + n_cat))
    n_d_values = 2 if scenario == "multi_value_facet" else 1
    d_cats = [cats[j] for j in sorted(rng.choice(n_cat, size=n_d_values, replace=False))]
    a_cats = [c for c in cats if c not in d_cats]

    # ---- facet assignment: d has probability p_d
    p_d = float(rng.uniform(0.15, 0.6))
    is_d = rng.random(n) < p_d
    if scenario == "d_size_1":
        is_d = np.zeros(n, dtype=bool)
        is_d[int(rng.integers(0, n))] = True
    elif scenario == "a_small":
        n_a = int(rng.integers(1, 10))
        is_d = np.ones(n, dtype=bool)
        is_d[rng.choice(n, size=n_a, replace=False)] = False
    elif scenario == "d_empty":
        is_d = np.zeros(n, dtype=bool)
    elif scenario == "a_empty":
        is_d = np.ones(n, dtype=bool)
    else:
        # keep both facets non-empty
        if not is_d.any():
            is_d[int(rng.integers(0, n))] = True
        if is_d.all():
            is_d[int(rng.integers(0, n))] = False
    facet_vals = np.empty(n, dtype=object)
    facet_vals[is_d] = [d_cats[j] for j in rng.integers(0, len(d_cats), int(is_d.sum()))]
    facet_vals[~is_d] = [a_cats[j] for j in rng.integers(0, len(a_cats), int((~is_d).sum()))]

    # ---- group, features, label, prediction
    k = int(rng.integers(2, 6))
    group = rng.integers(0, k, n).astype(np.int64)
    # 6 decimals: survives the CSV round trip bit-for-bit (pandas' default float parser is not
    # round-trip exact for 17-digit reprs) and still leaves no kNN distance ties
    x1 = np.round(rng.normal(0.0, 1.0, n), 6)
    x2 = np.round(rng.normal(0.0, 1.0, n), 6)
    effect = float(rng.normal(-0.6, 0.5))
    logit = -0.2 + 0.9 * x1 - 0.6 * x2 + effect * is_d + 0.2 * (group - (k - 1) / 2)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    noisy = logit + rng.normal(0.0, 0.8, n) + float(rng.normal(-0.2, 0.3)) * is_d
    pred = (noisy > 0).astype(np.int64)

    # ---- scenario-specific edge cases
    if scenario == "d_no_pos_label":
        label[is_d] = 0
    elif scenario == "d_all_pos_label":
        label[is_d] = 1
    elif scenario == "all_pred_pos":
        pred[:] = 1
    elif scenario == "all_pred_neg":
        pred[:] = 0
    elif scenario == "all_label_pos":
        label[:] = 1
    elif scenario == "all_label_neg":
        label[:] = 0
    elif scenario == "group_no_pos":
        g0, g1 = int(rng.integers(0, k)), int(rng.integers(0, k))
        label[group == g0] = 0
        pred[group == g1] = 0
    elif scenario == "all_false_negative":
        label[:] = 1
        pred[:] = 0
    elif scenario == "a_no_pred_pos":
        pred[~is_d] = 0
        pred[np.flatnonzero(is_d)[0]] = 1
    elif scenario == "perfect_pred":
        pred = label.copy()
    elif scenario == "d_no_pred_pos":
        pred[is_d] = 0
    elif scenario == "d_no_false_pos":
        pred[is_d] = pred[is_d] & label[is_d]
    elif scenario == "inverted_pred":
        pred = 1 - label
    elif scenario == "a_all_pos_label":
        label[~is_d] = 1
    elif scenario == "d_all_pred_pos":
        pred[is_d] = 1

    facet_col = pd.Series([str(v) for v in facet_vals]) if use_str else pd.Series(facet_vals.astype(np.int64))
    frame = pd.DataFrame(
        {
            "facet": facet_col,
            "label": label,
            "pred": pred,
            "group": group,
            "x1": x1,
            "x2": x2,
        }
    )
    facet_values = [str(v) if use_str else int(v) for v in d_cats]
    spec: dict[str, Any] = {
        "label": "label",
        "label_values": [1],
        "facet": "facet",
        "facet_values": facet_values,
        "predicted": "pred",
        "group": "group",
        "features": ["group", "x1", "x2"],
        "scenario": scenario,
    }
    spec["properties"] = synthetic_properties(frame, facet_values, scenario)
    return frame, spec


def synthetic_properties(frame: pd.DataFrame, facet_values: list, scenario: str = "") -> dict[str, Any]:
    """Edge-case flags of a synthetic frame (computed from the data, not from the scenario's intent)."""
    d = frame["facet"].isin(facet_values).to_numpy()
    y = (frame["label"] == 1).to_numpy()
    yh = (frame["pred"] == 1).to_numpy()
    g = frame["group"].to_numpy()
    n, n_d = len(frame), int(d.sum())
    n_a = n - n_d
    groups = np.unique(g)

    def none_in(mask: np.ndarray, sel: np.ndarray) -> bool:
        return bool(sel.any()) and not bool((mask & sel).any())

    return {
        "scenario": scenario,
        "n": n,
        "n_d": n_d,
        "n_a": n_a,
        "facet_kind": "int" if pd.api.types.is_integer_dtype(frame["facet"]) else "str",
        "n_facet_categories": int(frame["facet"].nunique()),
        "n_facet_values": len(facet_values),
        "n_groups": len(groups),
        "tiny_n": n <= 40,  # report mode would infer an int 0/1 column CONTINUOUS here (2/n >= 0.05)
        "facet_d_empty": n_d == 0,
        "facet_a_empty": n_a == 0,
        "facet_d_size_1": n_d == 1,
        "facet_a_small_knn_k1": 0 < n_a <= 9,  # FT uses n_neighbors=1
        "single_valued_facet_column": int(frame["facet"].nunique()) == 1,
        "d_no_pos_label": none_in(y, d),
        "d_no_neg_label": none_in(~y, d),
        "a_no_pos_label": none_in(y, ~d),
        "a_no_neg_label": none_in(~y, ~d),
        "d_no_pos_pred": none_in(yh, d),
        "d_no_neg_pred": none_in(~yh, d),
        "a_no_pos_pred": none_in(yh, ~d),
        "a_no_neg_pred": none_in(~yh, ~d),
        "all_label_pos": bool(y.all()),
        "all_label_neg": not bool(y.any()),
        "all_pred_pos": bool(yh.all()),
        "all_pred_neg": not bool(yh.any()),
        "all_false_negative": bool((y & ~yh).all()),  # GE: mean benefit 0 -> error
        "group_without_pos_label": any(not (y & (g == v)).any() for v in groups),
        "group_without_neg_label": any(not (~y & (g == v)).any() for v in groups),
        "group_without_pos_pred": any(not (yh & (g == v)).any() for v in groups),
        "d_no_false_pos": none_in(~y & yh, d),
        "a_no_false_pos": none_in(~y & yh, ~d),
    }
