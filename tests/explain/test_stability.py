"""Explanation stability (kind ``explanation-stability``): the measures, a stable and an unstable model by
construction, a planted group whose explanations are unstable, a real run on adult, and bad input (small samples and
models; the default-size measurement on adult is benchmarks/explanation_stability.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from assay.adapters import load_model
from assay.errors import InvalidInput
from assay.explain.stability import row_measures
from assay.governance.evidence import controls_for
from assay.services.compute import Inputs, compute
from assay.services.kinds import KINDS
from assay.services.stability import outcome
from tests.support.adult import FEATURES, adult

_FAST = {"sample": 60, "perturbations": 2, "bootstrap": 200}


def test_the_measures_of_identical_reversed_and_moved_attributions() -> None:
    clean = np.array([[4.0, -3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    same = row_measures(clean, clean[None], np.ones((1, 2)), top_k=2)
    assert same.spearman.tolist() == [1.0, 1.0] and same.jaccard.tolist() == [1.0, 1.0]
    assert same.lipschitz.tolist() == [0.0, 0.0] and same.undefined == 0
    reversed_ = clean[:, ::-1].copy()
    flipped = row_measures(clean, reversed_[None], np.full((1, 2), 2.0), top_k=2)
    assert flipped.spearman.tolist() == pytest.approx([-1.0, -1.0]) and flipped.kendall.tolist() == pytest.approx(
        [-1.0, -1.0]
    )
    assert flipped.jaccard.tolist() == [0.0, 0.0]
    # row 0 moves by (0, 0, 0, 3) at distance 2: ratio 1.5; row 1 did not move in its input: no ratio
    moved = clean.copy()
    moved[0, 3] = 4.0
    measures = row_measures(clean, moved[None], np.array([[2.0, 0.0]]), top_k=1)
    assert measures.lipschitz[0] == pytest.approx(1.5) and np.isnan(measures.lipschitz[1])
    assert measures.jaccard.tolist() == [1.0, 1.0]  # feature 0 still first (ties go to the first feature)


def test_kendall_is_scipys_tau_b_with_ties() -> None:
    from scipy.stats import kendalltau, spearmanr

    rng = np.random.default_rng(0)
    clean = rng.integers(0, 4, (30, 6)).astype(float)  # many ties
    other = clean + rng.integers(-1, 2, (30, 6))
    measures = row_measures(clean, other[None], np.ones((1, 30)), top_k=2)
    for i in range(30):
        a, b = np.abs(clean[i]), np.abs(other[i])
        if np.ptp(a) and np.ptp(b):
            assert measures.kendall[i] == pytest.approx(kendalltau(a, b).statistic)
            assert measures.spearman[i] == pytest.approx(spearmanr(a, b).statistic)


def _synthetic(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["g"] = rng.integers(0, 2, n)
    frame["y"] = (3 * x[:, 0] + x[:, 1] + 0.3 * x[:, 2] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return _synthetic()


def test_a_smooth_model_is_stable_and_a_jumpy_one_is_not(synthetic: pd.DataFrame) -> None:
    columns = ["a", "b", "c", "d"]
    smooth = load_model(LogisticRegression().fit(synthetic[columns], synthetic["y"]))
    noise = np.random.default_rng(1).integers(0, 2, len(synthetic))  # labels the tree can only memorise
    jumpy = load_model(DecisionTreeClassifier(random_state=0).fit(synthetic[columns], noise))
    stable = compute("explanation-stability", Inputs(synthetic, model=smooth), _FAST).to_dict()
    unstable = compute("explanation-stability", Inputs(synthetic, model=jumpy), _FAST).to_dict()
    assert stable["method"]["explainer"] == "linear" and unstable["method"]["explainer"] == "tree"
    assert stable["status"] == "pass" and stable["result"]["rows"]["spearman"]["mean"] > 0.9
    assert unstable["status"] == "fail" and unstable["result"]["rows"]["spearman"]["mean"] < 0.6
    assert unstable["result"]["rows"]["jaccard"]["mean"] < stable["result"]["rows"]["jaccard"]["mean"] - 0.2
    assert unstable["result"]["findings"][0]["kind"] == "rank_correlation"
    low, high = stable["result"]["rows"]["spearman"]["interval"]
    assert low <= stable["result"]["rows"]["spearman"]["mean"] <= high
    read = outcome(unstable)
    assert (
        read["status"] == "fail"
        and read["violations"][0]["check_type"] == "explanation_stability_rank_correlation_check"
    )
    # a larger perturbation moves a smooth model's explanations more
    rougher = compute("explanation-stability", Inputs(synthetic, model=smooth), {**_FAST, "severity": 1.0}).to_dict()
    assert rougher["result"]["rows"]["spearman"]["mean"] < stable["result"]["rows"]["spearman"]["mean"]


def test_a_group_with_unstable_explanations_is_a_finding(synthetic: pd.DataFrame, tmp_path: Path) -> None:
    """For g=1 the label is noise the tree memorises (jumpy attributions), for g=0 it follows a (stable)."""
    frame = synthetic.copy()
    noise = np.random.default_rng(2).integers(0, 2, len(frame))
    frame["y"] = np.where(frame["g"] == 1, noise, (frame["a"] > 0).astype(int))
    model = load_model(DecisionTreeClassifier(random_state=0).fit(frame[["a", "b", "c", "d", "g"]], frame["y"]))
    options = {**_FAST, "sample": 120, "facet": "g", "immutable": ["g"], "min_rank_correlation": -1.0}
    result = compute("explanation-stability", Inputs(frame, model=model), options)
    document = result.to_dict()
    assert document["status"] == "fail" and document["spec"]["noised"] == ["a", "b", "c", "d"]
    assert [f["subject"] for f in document["result"]["findings"]] == ["g=1"]
    groups = {g["value"]: g for g in document["result"]["groups"]}
    assert groups["1"]["gap"] > 0.1 and groups["1"]["gap_interval"][0] > 0 and groups["0"]["gap"] < 0
    links = {f"{link.framework}:{link.control}" for link in controls_for(document)}
    assert {"iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.9"} <= links
    paths = KINDS["explanation-stability"].write(result, tmp_path)
    assert json.loads(paths["explanation_stability"].read_text())["status"] == "fail"
    report = paths["report"].read_text()
    assert report.count("<svg") == 3 and "g=1: explanations less stable" in report


@pytest.mark.realdata
def test_a_gradient_boosting_model_on_adult_passes_at_the_defaults(shared_data: Path) -> None:
    train = adult(shared_data, "data").iloc[:4000]
    model = load_model(
        GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(train[FEATURES], train["y"])
    )
    test = adult(shared_data, "test")
    options = {**_FAST, "facet": "sex", "columns": ["age", "education-num", "capital-gain", "capital-loss",
                                                     "hours-per-week"]}  # fmt: skip
    document = compute("explanation-stability", Inputs(test, model=model), options).to_dict()
    assert document["method"]["explainer"] == "tree" and document["data"]["explained"] == 60
    assert document["status"] == "pass", document["summary"]
    rows = document["result"]["rows"]
    assert 0.8 < rows["spearman"]["mean"] <= 1 and 0 < rows["jaccard"]["mean"] <= 1
    assert rows["lipschitz"]["max"] > rows["lipschitz"]["median"] >= 0  # most rows cross no split of the trees
    assert len(document["result"]["per_row"]["spearman"]) == 60
    assert document["result"]["global"]["spearman_mean"] > 0.8
    assert {g["value"] for g in document["result"]["groups"]} == {"Male", "Female"}
    metrics = {(m["name"], m["subject"]) for m in outcome(document)["metrics"]}
    assert {("rank_correlation", "rows"), ("rank_correlation", "global"), ("rank_correlation", "sex=Male")} <= metrics


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"facet": "colour"}, "facet column 'colour' is not in"),
        ({"columns": ["g"]}, "columns: 'g' is not a feature of the model"),
        ({"immutable": ["a", "b", "c", "d"]}, "no column is left to perturb"),
        ({"severity": 0}, "severity"),
        ({"sample": 5}, "sample"),
        ({"label": "y", "positive": "yes"}, None),
    ],
)
def test_bad_input_names_the_field(synthetic: pd.DataFrame, options: dict[str, Any], message: str | None) -> None:
    model = load_model(LogisticRegression().fit(synthetic[["a", "b", "c", "d"]], synthetic["y"]))
    if message is None:  # a positive value the model does not have
        with pytest.raises(InvalidInput):
            compute("explanation-stability", Inputs(synthetic, model=model), {**_FAST, **options})
        return
    with pytest.raises(InvalidInput, match=message):
        compute("explanation-stability", Inputs(synthetic, model=model), {**_FAST, **options})


def test_one_row_of_data_is_refused_with_the_least_needed(synthetic: pd.DataFrame) -> None:
    model = load_model(LogisticRegression().fit(synthetic[["a", "b", "c", "d"]], synthetic["y"]))
    lowered = compute("explanation-stability", Inputs(synthetic, model=model), {**_FAST, "top_k": 4}).to_dict()
    assert lowered["spec"]["top_k"] == 3 and "top_k" in {n["code"] for n in lowered["warnings"]}
    with pytest.raises(InvalidInput, match="has 1 rows: explanation stability needs at least 10"):
        compute("explanation-stability", Inputs(synthetic.head(1), model=model), _FAST)
    with pytest.raises(InvalidInput, match="needs the model"):
        compute("explanation-stability", Inputs(synthetic, model=None), _FAST)
