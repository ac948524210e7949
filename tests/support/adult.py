"""The adult census data (UCI) as the monitoring tests use it: adult.data to train a gradient boosting model and
to build baselines, adult.test as the monitored windows. Loaded and trained once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

__all__ = ["COLUMNS", "FEATURES", "adult", "model", "scored", "windows"]

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
#: Numeric features (two coded from categories), so that the tree explainer applies.
FEATURES = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week", "is_male", "married"]


@cache
def adult(folder: Path, split: str) -> pd.DataFrame:
    """``adult.data`` (``split="data"``) or ``adult.test`` (``"test"``): complete rows, the label ``y`` (1: >50K)."""
    skip = 1 if split == "test" else 0
    frame = pd.read_csv(folder / "adult" / f"adult.{split}", names=COLUMNS, skipinitialspace=True, na_values="?",
                        skiprows=skip)  # fmt: skip
    frame = frame.dropna().reset_index(drop=True)
    frame["income"] = frame["income"].str.rstrip(".")
    frame["y"] = (frame["income"] == ">50K").astype(int)
    frame["is_male"] = (frame["sex"] == "Male").astype(int)
    frame["married"] = frame["marital-status"].str.startswith("Married").astype(int)
    return frame


@cache
def model(folder: Path) -> GradientBoostingClassifier:
    """A gradient boosting model trained on the first 20,000 rows of adult.data (the rest is the reference)."""
    train = adult(folder, "data").iloc[:20_000]
    return GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0).fit(train[FEATURES], train["y"])


def scored(folder: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the model's ``score`` (probability of >50K) and ``pred`` (score > 0.5)."""
    out = frame.copy()
    out["score"] = model(folder).predict_proba(frame[FEATURES])[:, 1]
    out["pred"] = (out["score"] > 0.5).astype(int)
    return out


def windows(frame: pd.DataFrame, size: int, count: int, seed: int = 0) -> list[pd.DataFrame]:
    """``count`` random windows of ``size`` rows of ``frame`` (held-out rows: no drift)."""
    rng = np.random.default_rng(seed)
    return [frame.iloc[rng.choice(len(frame), size, replace=False)].reset_index(drop=True) for _ in range(count)]
