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
    """A review configuration whose ``explanation`` block names the actionable features and the outcomes' words,
    as the review service records one."""
    from assay.services import _lookup
    from assay.store.models import ReviewConfig

    with ws.store.write(ws.actor) as tx:
        owner = _lookup.system(tx.session, system)
        config = ReviewConfig(system_id=owner.id, version=1, text="{}", rules={"explanation": settings},
                              sha256="0" * 64, created_by=tx.actor)  # fmt: skip
        tx.session.add(config)
        tx.session.flush()
        tx.record("review.configure", config, before=None)


def add_review_item(ws: Any, system: str, inference_id: str, features: dict[str, Any], prediction: Any) -> int:
    """A review item as the review service files one (its configuration and the item, audited)."""
    import datetime as dt

    from sqlalchemy import select

    from assay.services import _lookup
    from assay.store.models import ReviewConfig, ReviewItem, utcnow

    with ws.store.write(ws.actor) as tx:
        owner = _lookup.system(tx.session, system)
        version = _lookup.model_version(tx.session, owner, "gbm@1")
        config = tx.session.execute(select(ReviewConfig).where(ReviewConfig.system_id == owner.id)).scalar_one_or_none()
        if config is None:
            config = ReviewConfig(system_id=owner.id, version=1, text="{}", rules={}, sha256="0" * 64,
                                  created_by=tx.actor)  # fmt: skip
            tx.session.add(config)
            tx.session.flush()
            tx.record("review.configure", config, before=None)
        item = ReviewItem(system_id=owner.id, model_version_id=version.id, config_id=config.id,
                          inference_id=inference_id, features=features,
                          output={"prediction": prediction, "score": None}, reasons=["audit-sample"], source="api",
                          due_at=utcnow() + dt.timedelta(days=1), created_by=tx.actor)  # fmt: skip
        tx.session.add(item)
        tx.session.flush()
        tx.record("review.submit", item, before=None)
        return item.id


def row(frame: pd.DataFrame, index: int) -> dict[str, Any]:
    """Row ``index``'s features as plain JSON values."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in frame.iloc[index][FEATURES].to_dict().items()}
