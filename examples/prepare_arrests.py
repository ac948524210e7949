"""Prepare the demo data: Toronto arrests (scikit-lego, MIT) with a simple model's predictions.

The question: is the decision to release an arrestee with a summons (``released = Yes``) fair by skin
colour and sex? We train a plain logistic regression (in a scikit-learn pipeline that encodes the yes/no
columns) on the non-sensitive columns (age, employment, citizenship, number of police database checks) and
write the data with its out-of-fold predicted probability; with ``--model`` the model fitted on all rows is
saved too (joblib), to be registered.

    python examples/prepare_arrests.py OUT.csv [--model MODEL.joblib]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklego.datasets import load_arrests


def main(out: str, model_path: str | None = None) -> None:
    df = load_arrests(as_frame=True)
    features = ["age", "checks", "employed", "citizen"]  # not colour, not sex
    x = df[features]
    y = df["released"]  # the classes are the label's own values ("No", "Yes"), so --label released=Yes fits
    # one pipeline from the raw columns, so the saved model scores the CSV as it is (assay assess/explain --model)
    encode = ColumnTransformer(
        [("yes_no", OneHotEncoder(drop="if_binary"), ["employed", "citizen"])], remainder="passthrough"
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=1000))
    # out-of-fold probabilities, so that the assessment sees predictions on data the model did not fit
    proba = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]  # column 1: "Yes" (sorted classes)
    df = df.assign(p_released=proba.round(6))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(f"wrote {len(df):,} rows to {out}")
    if model_path is not None:
        joblib.dump(model.fit(x, y), model_path)
        kind = f"scikit-learn {sklearn.__version__} pipeline: one-hot + LogisticRegression"
        print(f"wrote the model ({kind}) to {model_path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="demo-output/arrests.csv")
    parser.add_argument("--model", help="also save the model fitted on all rows here (joblib)")
    arguments = parser.parse_args()
    main(arguments.out, arguments.model)
