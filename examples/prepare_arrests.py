"""Prepare the demo data: Toronto arrests (scikit-lego, MIT) with a simple model's predictions.

The question: is the decision to release an arrestee with a summons (``released = Yes``) fair by skin
colour and sex? We train a plain logistic regression on the non-sensitive columns (age, employment,
citizenship, number of police database checks) and write the data with its out-of-fold predicted
probability; with ``--model`` the model fitted on all rows is saved too (joblib), to be registered.

    python examples/prepare_arrests.py OUT.csv [--model MODEL.joblib]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklego.datasets import load_arrests


def main(out: str, model_path: str | None = None) -> None:
    df = load_arrests(as_frame=True)
    x = pd.DataFrame(
        {
            "age": df["age"],
            "checks": df["checks"],
            "employed": (df["employed"] == "Yes").astype(int),
            "citizen": (df["citizen"] == "Yes").astype(int),
        }
    )
    y = (df["released"] == "Yes").astype(int)
    # out-of-fold probabilities, so that the assessment sees predictions on data the model did not fit
    model = LogisticRegression(max_iter=1000)
    proba = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    df = df.assign(p_released=proba.round(6))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(f"wrote {len(df):,} rows to {out}")
    if model_path is not None:
        joblib.dump(model.fit(x, y), model_path)
        print(f"wrote the model (scikit-learn {sklearn.__version__} LogisticRegression) to {model_path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="demo-output/arrests.csv")
    parser.add_argument("--model", help="also save the model fitted on all rows here (joblib)")
    arguments = parser.parse_args()
    main(arguments.out, arguments.model)
