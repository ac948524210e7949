"""Model extraction through a model served over HTTP by a real local server, on adult rows (small budgets; the
full-size measurement is benchmarks/extraction.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from assay.adapters import HttpModel, load_model
from assay.errors import InvalidInput
from assay.governance.evidence import controls_for
from assay.privacy.extraction import outcome
from assay.services.compute import Inputs, Target, compute
from tests.support.adult import FEATURES, adult
from tests.support.endpoint import ModelEndpoint

pytestmark = pytest.mark.realdata

SMALL = {"budgets": [20, 50, 100, 200, 400], "evaluation": 400, "label": "y"}


@pytest.fixture(scope="module")
def rows(shared_data: Path) -> pd.DataFrame:
    """Rows the models never saw: the attacker's public data and the held-out evaluation rows."""
    return adult(shared_data, "data").iloc[20_000:21_500].reset_index(drop=True)


@pytest.fixture(scope="module")
def simple(shared_data: Path) -> LogisticRegression:
    train = adult(shared_data, "data").iloc[:3000]
    return LogisticRegression(max_iter=1000).fit(train[FEATURES], train["y"])


@pytest.fixture(scope="module")
def hard(shared_data: Path) -> HistGradientBoostingClassifier:
    train = adult(shared_data, "data").iloc[:6000]
    booster = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=63, learning_rate=0.2, random_state=0)
    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP's threads spin on a busy machine
        return booster.fit(train[FEATURES], train["y"])


def _probabilities(estimator: Any) -> ModelEndpoint:
    return ModelEndpoint(lambda records: estimator.predict_proba(records[FEATURES])[:, 1].tolist())


@pytest.fixture(scope="module")
def served(simple: LogisticRegression, hard: HistGradientBoostingClassifier) -> Iterator[dict[str, ModelEndpoint]]:
    words = np.array(["<=50K", ">50K"])
    with (
        _probabilities(simple) as simple_endpoint,
        _probabilities(hard) as hard_endpoint,
        ModelEndpoint(lambda records: words[simple.predict(records[FEATURES])].tolist()) as labels_endpoint,
    ):
        yield {"simple": simple_endpoint, "hard": hard_endpoint, "labels": labels_endpoint}


def _extract(endpoint: ModelEndpoint, rows: pd.DataFrame, **options: Any) -> dict[str, Any]:
    """The extraction document, after checking the queries it reports are the rows the server answered."""
    before = endpoint.rows
    stages: list[str] = []
    model = HttpModel(endpoint.url, None, batch_size=64)  # the endpoint does not name its features
    result = compute("extraction", Inputs(rows, model=model, progress=stages.append),
                     {**SMALL, "features": FEATURES, **options})  # fmt: skip
    document: dict[str, Any] = result.to_dict()
    queries = document["result"]["queries"]
    assert endpoint.rows - before == queries["total"] == queries["attack"] + queries["evaluation"]
    assert queries["attack"] == max(document["spec"]["budgets"]) and queries["evaluation"] == 400
    assert document["model"]["http"]["requests"] == -(-queries["evaluation"] // 64) + sum(
        -(-(b - a) // 64) for a, b in zip([0, *SMALL["budgets"][:-1]], SMALL["budgets"], strict=True)
    )  # the adapter's batches of 64, each row sent once
    assert any("budget 400: querying 200 more rows" in s for s in stages)
    json.dumps(document, allow_nan=False)
    return document


def test_a_simple_served_model_is_extracted_with_few_queries_and_a_harder_one_needs_more(
    served: dict[str, ModelEndpoint], rows: pd.DataFrame
) -> None:
    easy = _extract(served["simple"], rows)
    result = easy["result"]
    assert easy["status"] == "fail" and result["exposure"] == "high" and result["answers"] == "probability"
    assert result["reached_at"] is not None and result["reached_at"] <= 50
    curve = {p["budget"]: p for p in result["curve"]}
    assert curve[result["reached_at"]]["agreement"] >= 0.95
    low, high = curve[100]["interval"]
    assert low <= curve[100]["agreement"] <= high and high - low < 0.06
    assert curve[100]["probability_error"] < 0.05  # the log-odds of a logistic model are recovered
    assert abs(curve[400]["accuracy"] - result["target_accuracy"]) < 0.03  # as good as the model on true labels
    assert "exposure high" in easy["summary"]

    harder = _extract(served["hard"], rows)
    needed = harder["result"]["reached_at"]
    assert needed is None or needed > result["reached_at"]
    assert harder["result"]["curve"][0]["agreement"] < 0.95

    read = outcome(easy)
    assert read["status"] == "fail" and read["violations"][0]["value"] == result["reached_at"]
    assert {m["subject"] for m in read["metrics"] if m["name"] == "extraction_agreement"} == {
        f"{b} queries" for b in SMALL["budgets"]
    }
    links = {f"{link.framework}:{link.control}" for link in controls_for(easy)}
    assert {"iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.7", "eu-ai-act:Art. 15.ob5"} <= links


def test_a_label_only_endpoint_and_labels_only_by_choice(served: dict[str, ModelEndpoint], rows: pd.DataFrame) -> None:
    words = _extract(served["labels"], rows, label="income", positive=">50K")
    result = words["result"]
    assert result["answers"] == "label" and all(p["probability_error"] is None for p in result["curve"])
    # a label says less than a probability: the same logistic model served with labels is copied closely (0.95)
    # within 400 queries but not to the stated 0.99, where its probabilities gave that within 50
    assert max(p["agreement"] for p in result["curve"]) >= 0.95 and result["exposure"] == "low"
    assert _extract(served["labels"], rows, label="income", positive=">50K", agreement=0.95)["status"] == "fail"
    assert 0.7 < result["curve"][-1]["accuracy"] < 0.95 and 0.7 < result["target_accuracy"] < 0.95

    chosen = _extract(served["simple"], rows, answers="label")  # a probability endpoint, read as labels
    assert chosen["result"]["answers"] == "label" and chosen["result"]["curve"][-1]["agreement"] >= 0.95


def test_a_budget_above_the_cap_is_refused_before_any_query(
    served: dict[str, ModelEndpoint], rows: pd.DataFrame
) -> None:
    endpoint = served["simple"]
    before = endpoint.rows
    model = HttpModel(endpoint.url, FEATURES)
    with pytest.raises(InvalidInput, match=r"largest budget \(6,000\) plus the evaluation rows \(1,000\) makes 7,000 "
                                           r"queries, above max_queries \(5,000\)"):  # fmt: skip
        compute("extraction", Inputs(rows, model=model), {"budgets": [50, 6000]})
    with pytest.raises(InvalidInput, match="max_queries must be at most 100,000"):
        compute("extraction", Inputs(rows, model=model), {"max_queries": 200_000})
    with pytest.raises(InvalidInput, match="does not name its features"):
        compute("extraction", Inputs(rows, model=HttpModel(endpoint.url, None)), {"budgets": [50], "evaluation": 100})
    nameless = HttpModel(endpoint.url, None)
    with pytest.raises(InvalidInput, match="model feature 'nope' is not in"):
        compute("extraction", Inputs(rows, model=nameless), {"features": ["nope"], "budgets": [50], "evaluation": 100})
    with pytest.raises(InvalidInput, match="features nope differ from the features model"):
        compute("extraction", Inputs(rows, model=model), {"features": ["nope"], "budgets": [50], "evaluation": 100})
    assert endpoint.rows == before


def test_the_kind_runs_on_registered_inputs_and_is_recorded_as_evidence(
    workspace: Any, rows: pd.DataFrame, simple: LogisticRegression, tmp_path: Path
) -> None:
    data, model = tmp_path / "public.csv", tmp_path / "model.skops"
    rows.iloc[:600][[*FEATURES, "y"]].to_csv(data, index=False)
    sio.dump(simple, model)
    workspace.systems.create({"name": "credit"})
    workspace.datasets.register_version({"dataset": "public", "version": "1"}, system="credit", file=data, copy=True)
    workspace.models.register_version("credit", {"model": "scorer", "version": "1"}, artifact=model)
    stages: list[str] = []
    target = Target("credit", "public@1", model_version="scorer@1")
    run = workspace.runs.run("extraction", target, {"budgets": [50, 100], "evaluation": 200, "label": "y"},
                             progress=stages.append)  # fmt: skip
    document = run.recorded.document
    assert document["schema"] == "assay.extraction" and document["status"] == "fail", document["result"]["curve"]
    assert document["result"]["queries"] == {"attack": 100, "evaluation": 200, "total": 300, "max_queries": 5000}
    assert "budget 100: training the surrogates" in stages and stages[-1] == "recording"
    evidence = workspace.controls.list_evidence("credit", "nist-ai-rmf", "MEASURE 2.7")
    assert [(e.assessment_id, e.rule) for e in evidence] == [(run.recorded.id, "extraction")]


def test_agreement_that_a_constant_answer_gives_is_not_exposure() -> None:
    """A model that decides positive for 4 % of the rows, by a rule no surrogate can learn (a hash of a number's
    digits): a copy answering "negative" everywhere agrees 0.96, above the stated 0.95, and copies nothing. The
    stated agreement counts only with at most half a constant answer's disagreement (communities and crime's gradient
    boosting model, 4 % positive, and law school's, 5 % negative, were "high" exposure at 50 queries:
    benchmarks/verdicts.py)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})

    def rare(x: pd.DataFrame) -> np.ndarray:
        hashed = (np.abs(x["a"].to_numpy()) * 1e6).astype(np.int64) % 25 == 0
        return np.where(hashed, 0.9, 0.1)

    options = {"budgets": [50, 200, 1000], "evaluation": 1000, "seed": 0, "agreement": 0.95}
    model = load_model(rare, feature_names=["a", "b"], output="probability")
    document = compute("extraction", Inputs(frame, model=model), options).to_dict()
    result = document["result"]
    assert 0.95 <= result["constant_agreement"] <= 0.98 and result["best_agreement"] >= 0.95
    assert result["exposure"] == "low" and result["reached_at"] is None and document["status"] == "pass"
    assert all(point["balanced_agreement"] < 0.6 for point in result["curve"]), result["curve"]  # reported
    assert "a constant answer agrees" in document["summary"]


def test_a_linear_model_is_copied_whole_though_some_answers_are_clipped() -> None:
    """A logistic model whose log-odds reach far beyond the answers' clip (0.999999) on a few rows, as adult's
    capital gains do: fitted as if those rows sat at the clip, the linear copy bent from 1.000 at 200 queries to
    0.973 at 1,000 (benchmarks/verdicts.py, adult's planted logistic regression); fitted on the other answers it
    stays exact."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=4000), rng.normal(size=4000)
    b[rng.random(4000) < 0.03] *= 40  # a heavy tail: log-odds up to about +-100 on 3 % of the rows
    frame = pd.DataFrame({"a": a, "b": b})

    def linear(x: pd.DataFrame) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-(1.5 * x["a"].to_numpy() + 0.8 * x["b"].to_numpy() - 0.3))))

    model = load_model(linear, feature_names=["a", "b"], output="probability")
    options = {"budgets": [100, 1000, 2000], "evaluation": 1000, "surrogate": "linear", "seed": 0}
    document = compute("extraction", Inputs(frame, model=model), options).to_dict()
    curve = document["result"]["curve"]
    assert all(point["agreement"] >= 0.995 for point in curve), curve
    assert document["result"]["reached_at"] == 100 and document["status"] == "fail"
