"""Perturbation robustness on adult (``assay run robustness``): a gradient boosting model (scikit-learn's
HistGradientBoostingClassifier behind an ordinal encoder, missing values handled natively) trained on adult.data,
its suite run on adult.test (facet sex, then race) with every corruption at severities 0.1, 0.2, 0.5 and 1.0.
Prints the time of the suite (scoring included, the model fit excluded; target under 60 s), the status, the
findings, the accuracy drop per corruption and severity overall and per group, and the per-column sensitivity.

Run: ``PYTHONPATH=src python benchmarks/robustness.py [--data /work/shared/data] [--sample 5000]``
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


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, names=COLUMNS, skipinitialspace=True, na_values="?", comment="|")
    frame["income"] = frame["income"].str.rstrip(".")
    frame["y"] = (frame["income"] == ">50K").astype(int)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--sample", type=int, default=5000)
    args = parser.parse_args()
    train, test = _read(args.data / "adult/adult.data"), _read(args.data / "adult/adult.test")
    texts = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(train[c])]
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), texts), remainder="passthrough"
    )
    booster = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    model = load_model(make_pipeline(encode, booster).fit(train[FEATURES], train["y"]))
    for facet in ("sex", "race"):
        started, cpu = time.perf_counter(), time.process_time()
        result = compute("robustness", Inputs(test[[*FEATURES, "y"]], model=model),
                         {"label": "y", "facet": facet, "sample": args.sample})  # fmt: skip
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        document = result.to_dict()
        print(
            f"\nfacet {facet}: {seconds:.1f} s ({cpu:.1f} s CPU) on {document['data']['sampled']} rows; "
            f"status {document['status']}"
        )
        print(f"  {document['summary']}")
        print(f"  clean accuracy {document['result']['clean']['accuracy']}")
        for corruption in document["result"]["corruptions"]:
            for step in corruption["severities"]:
                groups = ", ".join(f"{g['value']} {g['accuracy_drop']:+.3f} (excess {g['excess_drop']:+.3f})"
                                   for g in step["groups"])  # fmt: skip
                print(f"  {corruption['name']:8s} {step['severity']:<4} drop {step['accuracy_drop']:+.3f}  {groups}")
        print("  per column (each alone at severity 0.2), ranked:")
        for column in document["result"]["columns"] or []:
            print(f"  {column['rank']:2d} {column['column']:15s} {column['corruption']:5s} drop "
                  f"{column['accuracy_drop']:+.4f}  largest DI shift {column['max_DI_shift']}")  # fmt: skip


if __name__ == "__main__":
    main()
