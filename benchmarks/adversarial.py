"""Adversarial robustness on adult (``assay run adversarial``): a gradient boosting model (scikit-learn's
HistGradientBoostingClassifier at its defaults) and a fully grown decision tree, both trained on the first 16,000
complete rows of adult.data, attacked on rows of adult.test at the kind's default settings (200 correctly predicted
rows, HopSkipJump, ZOO and the greedy category search, facet sex, which stays fixed). Prints the time (the attack,
scoring included, the model fit excluded), the success rate per attack and per group, the success rate of the judged
rows (predicted with probability 0.9 or more), and the queries. The false alarms and detection of the verdict on every
shared dataset: benchmarks/verdicts.py --only adversarial.

Run: ``PYTHONPATH=src python benchmarks/adversarial.py [--data /work/shared/data] [--set NAME=JSON ...]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.tree import DecisionTreeClassifier

from assay.adapters import load_model
from assay.services.compute import Inputs, compute

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
FEATURES = COLUMNS[:-1]


def _read(path: Path, skip: int) -> pd.DataFrame:
    frame = pd.read_csv(path, names=COLUMNS, skipinitialspace=True, na_values="?", skiprows=skip).dropna()
    frame["y"] = frame["income"].str.rstrip(".").eq(">50K").astype(int)
    return frame.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--set", action="append", default=[], help="an option, NAME=JSON")
    args = parser.parse_args()
    train = _read(args.data / "adult/adult.data", 0).iloc[:16_000]
    test = _read(args.data / "adult/adult.test", 1)
    texts = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(train[c])]
    options = {"label": "y", "facet": "sex"}
    for given in args.set:
        name, _, value = given.partition("=")
        options[name] = json.loads(value)
    models = {"gradient boosting": HistGradientBoostingClassifier(random_state=0),
              "deep tree": DecisionTreeClassifier(random_state=0)}  # fmt: skip
    print("| model | success [95% CI] | judged: success / rows [95% CI] | Male | Female | p (Male) | HSJ | ZOO "
          "| categories | median change | queries/row | verdict | attack s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, estimator in models.items():
        encode = make_column_transformer(
            (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), texts), remainder="passthrough"
        )
        model = load_model(make_pipeline(encode, estimator).fit(train[FEATURES], train["y"]))
        start = time.perf_counter()
        doc = compute("adversarial", Inputs(test, model=model), options).to_dict()
        seconds = time.perf_counter() - start
        r = doc["result"]
        o = r["overall"]
        groups = {g["value"]: g for g in r["groups"]}
        rates = {a["name"]: a["success_rate"] for a in r["attacks"]}
        print(
            f"| {name} | {o['success_rate']} {o['interval']} | {o['judged']['successes']} / {o['judged']['rows']} "
            f"{o['judged']['interval']} | {groups['Male']['success_rate']} | "
            f"{groups['Female']['success_rate']} | {groups['Male']['p_value']} | {rates.get('hop-skip-jump')} | "
            f"{rates.get('zoo')} | {rates.get('categories')} | {o['median_distance']} | {r['queries']['per_row']} | "
            f"{doc['status']} | {seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
