"""Membership inference on adult (``assay run membership-inference``): an overfit and a regularised gradient boosting
model trained on the first 16,000 complete rows of adult.data, attacked with the rest as held-out rows (5,000 rows
per side, 200 bootstrap replicates, facet sex). The overfit model must score clearly higher; the attack (scoring
included, the model fit excluded) should take under 60 s.

Run: ``PYTHONPATH=src python benchmarks/membership.py [--data /work/shared/data]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from assay.adapters import load_model
from assay.services.compute import Inputs, compute

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
FEATURES = COLUMNS[:-1]
MODELS = {
    "overfit": {"max_iter": 300, "max_leaf_nodes": 127, "min_samples_leaf": 1, "learning_rate": 0.3},
    "regularised": {"max_iter": 100, "max_depth": 3, "min_samples_leaf": 50, "l2_regularization": 1.0},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()
    frame = pd.read_csv(args.data / "adult/adult.data", names=COLUMNS, skipinitialspace=True, na_values="?")
    frame = frame.dropna().reset_index(drop=True)
    frame["y"] = (frame["income"] == ">50K").astype(int)
    train, held = frame.iloc[:16_000].reset_index(drop=True), frame.iloc[16_000:].reset_index(drop=True)
    texts = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(frame[c])]
    print(
        "| model | train acc | held-out acc | black-box AUC | loss-threshold AUC | strongest [95% CI] | advantage "
        "| Male | Female | verdict | fit s | attack s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, params in MODELS.items():
        start = time.perf_counter()
        encode = make_column_transformer(
            (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), texts), remainder="passthrough"
        )
        booster = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **params)  # type: ignore[arg-type]
        model = load_model(make_pipeline(encode, booster).fit(train[FEATURES], train["y"]))
        fit = time.perf_counter() - start
        start = time.perf_counter()
        doc = compute("membership-inference", Inputs(train, model=model, reference=held),
                      {"label": "y", "facet": "sex"}).to_dict()  # fmt: skip
        attack = time.perf_counter() - start
        r = doc["result"]
        aucs = {a["name"]: a["auc"] for a in r["attacks"]}
        groups = {g["value"]: g["auc"] for g in r["groups"]}
        print(
            f"| {name} | {r['accuracy']['training']} | {r['accuracy']['held_out']} | {aucs['black-box']} | "
            f"{aucs['loss-threshold']} | {r['auc']} {r['interval']} | {r['advantage']} | {groups.get('Male')} | "
            f"{groups.get('Female')} | {doc['status']} | {fit:.1f} | {attack:.1f} |"
        )


if __name__ == "__main__":
    main()
