"""A credit system on the adult census data (UCI) for the contested-decision tests: a scikit-learn pipeline
(one-hot encoding and gradient boosting) saved with skops, its training data registered, and helpers to put a
decision in the review queue or in the capture. Built once per process (the model) and per workspace (the records)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from tests.support.adult import adult

__all__ = [
    "ACTIONABLE",
    "CATEGORIES",
    "FEATURES",
    "SETTINGS",
    "add_review_item",
    "configure_explanations",
    "credit_system",
    "model",
    "negatives",
    "row",
]

FEATURES = ["age", "workclass", "education", "marital-status", "occupation", "sex", "race", "capital-gain",
            "capital-loss", "hours-per-week"]  # fmt: skip
CATEGORIES = ["workclass", "education", "marital-status", "occupation", "sex", "race"]
ACTIONABLE = ["hours-per-week", "education", "capital-gain", "occupation"]
SETTINGS = {"actionable": ACTIONABLE, "positive_text": "approval", "negative_text": "refusal"}


@cache
def model(folder: Path) -> Pipeline:
    """Trained on the first 20,000 rows of adult.data (the held-out rows are the decisions contested)."""
    train = adult(folder, "data").iloc[:20_000]
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORIES), remainder="passthrough"
    )
    return make_pipeline(encode, HistGradientBoostingClassifier(max_iter=60, random_state=0)).fit(
        train[FEATURES], train["y"]
    )


def negatives(folder: Path, count: int) -> pd.DataFrame:
    """Held-out rows (adult.test) the model refuses (probability of >50K below 0.5)."""
    test = adult(folder, "test")
    scored = model(folder).predict_proba(test[FEATURES])[:, 1]
    return test[scored < 0.5].iloc[:count].reset_index(drop=True)


def credit_system(ws: Any, folder: Path, tmp: Path) -> None:
    """System ``credit`` with dataset version ``train@1`` (2,000 training rows) and model version ``gbm@1``."""
    import skops.io as sio

    tmp.mkdir(parents=True, exist_ok=True)
    train = tmp / "train.csv"
    adult(folder, "data").iloc[:2000][[*FEATURES, "y"]].to_csv(train, index=False)
    sio.dump(model(folder), tmp / "gbm.skops")
    ws.systems.create({"name": "credit", "purpose": "credit pre-screening"})
    ws.datasets.register_version({"dataset": "train", "version": "1"}, system="credit", file=train, copy=True)
    ws.models.register_version(
        "credit", {"model": "gbm", "version": "1", "training_dataset": "train@1"}, artifact=tmp / "gbm.skops"
    )


def configure_explanations(ws: Any, system: str, settings: dict[str, Any]) -> None:
    """A review configuration (through the review service) whose ``explanation`` block names the actionable features
    and the outcomes' words; its one rule holds every prediction."""
    import yaml

    text = yaml.safe_dump({"rules": [{"name": "every case", "sample": 1.0}], "explanation": settings})
    ws.review.configure(system, text=text)


def add_review_item(ws: Any, system: str, inference_id: str, features: dict[str, Any], prediction: Any) -> int:
    """A prediction held for review through the review service (every row queued), its item's id."""
    if ws.review.config(system) is None:
        ws.review.configure(system, text="rules: [{name: audit-sample, sample: 1.0}]\n")
    answer = ws.review.submit(system, "gbm@1", [{"inference_id": inference_id, "prediction": prediction, **features}],
                              everything=True, source="api")  # fmt: skip
    return int(answer["item_ids"][0])


def row(frame: pd.DataFrame, index: int) -> dict[str, Any]:
    """Row ``index``'s features as plain JSON values."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in frame.iloc[index][FEATURES].to_dict().items()}
