"""The explanation of single decisions on adult (UCI census income): for refused people of adult.test, how often a
counterfactual over actionable features is found, how many features it changes, and what it costs (model calls,
rows scored, seconds), with the SHAP factors' time alongside.

Model: a scikit-learn pipeline (one-hot encoding of the six categorical features, HistGradientBoostingClassifier
with 60 iterations) trained on the first 20,000 complete rows of adult.data; background: 2,000 rows of adult.data.
Actionable: hours-per-week, education, capital-gain, occupation (never age, sex, race, marital status).

    python benchmarks/counterfactuals.py [--data /work/shared/data] [--people 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from assay.adapters import load_model
from assay.explain.decision import explain_decision, find_counterfactual

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
FEATURES = ["age", "workclass", "education", "marital-status", "occupation", "sex", "race", "capital-gain",
            "capital-loss", "hours-per-week"]  # fmt: skip
CATEGORIES = ["workclass", "education", "marital-status", "occupation", "sex", "race"]
ACTIONABLE = ["hours-per-week", "education", "capital-gain", "occupation"]


def _adult(folder: Path, split: str) -> pd.DataFrame:
    frame = pd.read_csv(folder / "adult" / f"adult.{split}", names=COLUMNS, skipinitialspace=True, na_values="?",
                        skiprows=1 if split == "test" else 0).dropna().reset_index(drop=True)  # fmt: skip
    frame["y"] = (frame["income"].str.rstrip(".") == ">50K").astype(int)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--people", type=int, default=300, help="Refused people of adult.test to explain.")
    args = parser.parse_args()
    train, test = _adult(args.data, "data"), _adult(args.data, "test")
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORIES), remainder="passthrough"
    )
    pipeline = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=60, random_state=0))
    pipeline.fit(train.iloc[:20_000][FEATURES], train.iloc[:20_000]["y"])
    model = load_model(pipeline)
    background = train.iloc[20_000:22_000][FEATURES].reset_index(drop=True)
    scores = model.predict_proba(test[FEATURES])
    refused = test[scores < 0.5].sample(args.people, random_state=0).reset_index(drop=True)
    explain_decision(model, refused.iloc[[0]][FEATURES], background, counterfactual=False)  # warm-up (imports)
    found, changed, calls, rows, cf_seconds, shap_seconds = 0, [], [], [], [], []
    for i in range(len(refused)):
        person = refused.iloc[[i]][FEATURES]
        start = time.perf_counter()
        explain_decision(model, person, background, counterfactual=False)
        shap_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        cf = find_counterfactual(model, person, background, actionable=ACTIONABLE)
        cf_seconds.append(time.perf_counter() - start)
        calls.append(cf.model_calls)
        rows.append(cf.rows_scored)
        if cf.found:
            assert cf.verified
            found += 1
            changed.append(len(cf.changes))
    print(f"refused people explained: {len(refused)} (of {int((scores < 0.5).sum())} refusals in adult.test)")
    print(f"counterfactual found: {found} ({found / len(refused):.1%})")
    print(f"features changed: median {statistics.median(changed)}, "
          f"distribution {dict(sorted(pd.Series(changed).value_counts().to_dict().items()))}")  # fmt: skip
    print(f"model calls per decision: median {statistics.median(calls)}, max {max(calls)}")
    print(f"rows scored per decision: median {statistics.median(rows)}, max {max(rows)}")
    print(f"counterfactual seconds per decision: median {statistics.median(cf_seconds):.3f}, "
          f"p95 {np.percentile(cf_seconds, 95):.3f}")  # fmt: skip
    print(f"SHAP factors seconds per decision: median {statistics.median(shap_seconds):.3f}, "
          f"p95 {np.percentile(shap_seconds, 95):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
