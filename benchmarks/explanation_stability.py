"""Explanation stability on the shared datasets (``assay run explanation-stability``): a gradient boosting model
(scikit-learn's HistGradientBoostingClassifier, 200 iterations, behind an ordinal encoder for the text columns, so the
permutation explainer runs; or fit on the numeric columns only, so TreeExplainer runs) trained on half of each
dataset, the test run at its defaults on the other half. Prints the time (the model fit excluded), the status and the
figures: the false-alarm check of the default threshold (``min_rank_correlation`` 0.7).

Run: ``PYTHONPATH=src python benchmarks/explanation_stability.py [--data /work/shared/data] [--datasets adult,...]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from assay.adapters import load_model
from assay.services.compute import Inputs, compute

ADULT = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
         "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
         "income"]  # fmt: skip


def _adult(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    def read(path: Path) -> pd.DataFrame:
        frame = pd.read_csv(path, names=ADULT, skipinitialspace=True, na_values="?", comment="|")
        frame["y"] = (frame.pop("income").str.rstrip(".") == ">50K").astype(int)
        return frame

    return read(folder / "adult/adult.data"), read(folder / "adult/adult.test"), "y", "sex"


def _csv(frame: pd.DataFrame, label: str, positive: Any, facet: str) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    frame = frame.copy()
    frame["y"] = (frame.pop(label).astype(str) == str(positive)).astype(int)
    half = np.random.default_rng(0).permutation(len(frame))
    cut = len(frame) // 2
    return frame.iloc[half[:cut]], frame.iloc[half[cut:]], "y", facet


def _encoded(train: pd.DataFrame, test: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The text columns as ordinal codes in the data itself (so the booster is fit directly on numbers and
    TreeExplainer runs), and the columns that were numbers (the ones perturbed)."""
    texts = [c for c in train.columns if c != label and not pd.api.types.is_numeric_dtype(train[c])]
    numbers = [c for c in train.columns if c != label and c not in texts]
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2)
    encoder.fit(train[texts].astype(str))
    out = []
    for frame in (train, test):
        frame = frame.copy()
        frame[[f"{c}_code" for c in texts]] = encoder.transform(frame[texts].astype(str))
        out.append(frame)
    return out[0], out[1], numbers


def _model(train: pd.DataFrame, label: str, direct: list[str] | None) -> Any:
    features = [c for c in train.columns if c != label]
    texts = [c for c in features if not pd.api.types.is_numeric_dtype(train[c])]
    booster = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    if direct is not None:
        return load_model(booster.fit(train[direct], train[label]))
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), texts), remainder="passthrough"
    )
    return load_model(make_pipeline(encode, booster).fit(train[features], train[label]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--datasets", default="adult")
    parser.add_argument("--pipeline", action="store_true", help="ordinal encoder + booster (permutation explainer)")
    parser.add_argument("--set", action="append", default=[], help="NAME=JSON option")
    args = parser.parse_args()
    import json

    extra = {k: json.loads(v) for k, _, v in (s.partition("=") for s in args.set)}
    for name in args.datasets.split(","):
        train, test, label, facet = _adult(args.data) if name == "adult" else _csv(*DATASETS[name](args.data))
        options: dict[str, Any] = {"facet": facet, **extra}
        if args.pipeline:
            model = _model(train, label, None)
        else:
            train, test, numbers = _encoded(train, test, label)
            model = _model(
                train, label, [c for c in train.columns if (c != label and c in numbers) or c.endswith("_code")]
            )
            options["columns"] = numbers
        started, cpu = time.perf_counter(), time.process_time()
        result = compute("explanation-stability", Inputs(test, model=model), options)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        d = result.to_dict()
        rows = d["result"]["rows"]
        print(
            f"{name} ({d['method']['shap_explainer']}): {seconds:.1f} s ({cpu:.1f} s CPU); {d['status']}: "
            f"{d['summary']}"
        )
        print(f"  spearman {rows['spearman']}  kendall {rows['kendall']['mean']}  jaccard {rows['jaccard']}")
        print(f"  lipschitz {rows['lipschitz']}  global {d['result']['global']['spearman']}")
        for g in d["result"]["groups"]:
            print(f"  {facet}={g['value']}: rows {g['rows']} rho {g['spearman']['mean']} gap {g['gap']} "
                  f"{g['gap_interval']}")  # fmt: skip


COMPAS = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count", "c_charge_degree", "sex", "race",
          "two_year_recid"]  # fmt: skip

# name: (path, label, positive value, facet), the rows read by pandas; label as text compared with the positive value
DATASETS: dict[str, Any] = {
    "bank": lambda r: (pd.read_csv(r / "bank_marketing/bank-full.csv", sep=";"), "y", "yes", "marital"),
    "compas": lambda r: (pd.read_csv(r / "compas/compas-scores-two-years.csv")[COMPAS], "two_year_recid", "1", "race"),
    "credit_default": lambda r: (
        pd.read_csv(r / "credit_card_default/UCI_Credit_Card.csv").drop(columns="ID"),
        "Y",
        "1",
        "X2",
    ),
    "german": lambda r: (pd.read_csv(r / "german_credit/german.csv"), "credit", "1", "personal_status"),
    "law_school": lambda r: (pd.read_csv(r / "law_school/law_school_clean.csv"), "pass_bar", "1.0", "race"),
}


if __name__ == "__main__":
    main()
