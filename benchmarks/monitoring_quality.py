"""False alarms and detection of the model-quality, bias-drift and attribution-drift kinds on adult, and the error
of the CBPE estimate; the figures in docs/monitoring-checks.md.

    PYTHONPATH=src python benchmarks/monitoring_quality.py /work/shared/data [windows] [bias-drift windows]

A gradient boosting model is trained on the first 20,000 rows of adult.data; the other rows of adult.data are the
reference (the baselines); random windows of adult.test (held out, undrifted) are the monitored windows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

from assay.services.compute import Inputs, compute

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
FEATURES = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week", "is_male", "married"]


def load(folder: Path, split: str) -> pd.DataFrame:
    frame = pd.read_csv(folder / "adult" / f"adult.{split}", names=COLUMNS, skipinitialspace=True, na_values="?",
                        skiprows=1 if split == "test" else 0).dropna().reset_index(drop=True)  # fmt: skip
    frame["y"] = (frame["income"].str.rstrip(".") == ">50K").astype(int)
    frame["is_male"] = (frame["sex"] == "Male").astype(int)
    frame["married"] = frame["marital-status"].str.startswith("Married").astype(int)
    return frame


def main() -> None:
    folder, count = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 50
    data, test = load(folder, "data"), load(folder, "test")
    model = GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0)
    model.fit(data.iloc[:20_000][FEATURES], data.iloc[:20_000]["y"])
    for frame in (data, test):
        frame["score"] = model.predict_proba(frame[FEATURES])[:, 1]
        frame["pred"] = (frame["score"] > 0.5).astype(int)
    reference = data.iloc[20_000:].reset_index(drop=True)
    rng = np.random.default_rng(0)

    def window(size: int) -> pd.DataFrame:
        return test.iloc[rng.choice(len(test), size, replace=False)].reset_index(drop=True)

    quality = {"label": "y", "predicted": "pred", "score": "score", "bootstrap": 200}
    base = compute("model-quality", Inputs(reference), quality).to_dict()
    for size in (500, 2000):
        alarms, errors = 0, []
        for _ in range(count):
            doc = compute("model-quality", Inputs(window(size), baseline_document=base), quality).to_dict()
            alarms += doc["status"] == "fail"
            realised = doc["statistics"]["binary_classification_metrics"]["accuracy"]["value"]
            errors.append(doc["estimated_binary_classification_metrics"]["accuracy"]["value"] - realised)
        print(
            f"model-quality, clean windows of {size}: {alarms}/{count} false alarms; CBPE accuracy error: mean "
            f"{np.mean(errors):+.4f}, mean absolute {np.mean(np.abs(errors)):.4f}, max {np.max(np.abs(errors)):.4f}"
        )
        for share in (0.05, 0.10, 0.15):
            caught = 0
            for _ in range(count):
                w = window(size)
                flip = rng.random(size) < share
                w.loc[flip, "y"] = 1 - w.loc[flip, "y"]
                caught += (
                    compute("model-quality", Inputs(w, baseline_document=base), quality).to_dict()["status"] == "fail"
                )
            print(f"model-quality, {share:.0%} labels flipped, windows of {size}: caught {caught}/{count}")
    # CBPE under a covariate shift: windows of older people only (the score distribution moves)
    older = test[test["age"] > 45]
    errors = []
    for _ in range(count // 5 or 1):
        w = older.iloc[rng.choice(len(older), 2000, replace=False)].reset_index(drop=True)
        doc = compute("model-quality", Inputs(w, baseline_document=base), quality).to_dict()
        errors.append(doc["estimated_binary_classification_metrics"]["accuracy"]["value"]
                      - doc["statistics"]["binary_classification_metrics"]["accuracy"]["value"])  # fmt: skip
    print(
        f"CBPE on windows of age > 45 (shifted): accuracy error mean {np.mean(errors):+.4f}, "
        f"mean absolute {np.mean(np.abs(errors)):.4f}"
    )

    bias = {"label": "y", "facets": ["sex"], "predicted": "pred"}  # the defaults of each kind
    base = compute("bias", Inputs(reference), bias).to_dict()
    bias_count = int(sys.argv[3]) if len(sys.argv) > 3 else count  # clean and planted windows per line
    for size in (500, 2000):
        alarms, judged, short = 0, 0, 0
        for _ in range(bias_count):
            doc = compute("bias-drift", Inputs(window(size), baseline_document=base), bias).to_dict()
            alarms += doc["status"] == "fail"
            judged += sum(c["verdict"] in ("ok", "drift") for c in doc["comparisons"])
            short += sum(c["verdict"].startswith("not judged: too few") for c in doc["comparisons"])
        print(
            f"bias-drift, clean windows of {size}: {alarms}/{bias_count} false alarms ({judged / bias_count:.1f} "
            f"metrics judged per window, {short / bias_count:.1f} not judged: too few)"
        )
        for share in (0.1, 0.2):
            caught = 0
            for _ in range(bias_count):
                w = window(size)
                chosen = (w["sex"] == "Female") & (w["y"] == 0) & (rng.random(size) < share)
                w.loc[chosen, "y"] = 1
                caught += compute("bias-drift", Inputs(w, baseline_document=base), bias).to_dict()["status"] == "fail"
            print(
                f"bias-drift, {share:.0%} of women's negative labels made positive, windows of {size}: caught "
                f"{caught}/{bias_count}"
            )

    explain = {"label": "y", "positive": 1, "sample": 1000, "features": FEATURES}
    base = compute("explanations", Inputs(reference[[*FEATURES, "y"]], model=model), explain).to_dict()
    gains = reference.loc[reference["capital-gain"] > 5000, "capital-gain"].to_numpy()
    scores, alarms, caught, planted = [], 0, 0, []
    runs = max(count // 5, 1)
    for _ in range(runs):
        w = window(1000)[[*FEATURES, "y"]]
        doc = compute("attribution-drift", Inputs(w, model=model, baseline_document=base), explain).to_dict()
        scores.append(doc["ndcg"])
        alarms += doc["status"] == "fail"
        w = w.assign(**{"capital-gain": rng.choice(gains, len(w))})
        doc = compute("attribution-drift", Inputs(w, model=model, baseline_document=base), explain).to_dict()
        planted.append(doc["ndcg"])
        caught += doc["status"] == "fail"
    print(
        f"attribution-drift, clean windows of 1000: {alarms}/{runs} false alarms, NDCG min {min(scores):.4f}; "
        f"capital-gain replaced by large gains: caught {caught}/{runs}, NDCG max {max(planted):.4f}"
    )


if __name__ == "__main__":
    main()
