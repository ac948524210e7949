"""The explanation of one decision: SHAP contributions that add up to the model's output, factors as sentences,
and a counterfactual that flips the outcome (verified by re-scoring), changes only actionable features, keeps
values inside what the training data holds, and stays within its bounds. Synthetic data where the answer is known,
and a real model on adult."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay.adapters import load_model
from assay.errors import InvalidInput
from assay.explain.decision import explain_decision, find_counterfactual
from tests.support.contests import ACTIONABLE, FEATURES, model, negatives


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame({"hours": rng.integers(10, 61, n), "age": rng.integers(18, 70, n),
                          "grade": rng.choice(["low", "mid", "high"], n)})  # fmt: skip
    logit = 0.15 * (frame.hours - 40) + 0.05 * (frame.age - 40) + frame.grade.map({"low": -1, "mid": 0, "high": 1})
    frame["y"] = (logit + rng.logistic(size=n) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def scorer(loans: pd.DataFrame) -> object:
    numeric = loans[["hours", "age"]]
    return load_model(LogisticRegression().fit(numeric, loans["y"]))


def test_a_refusal_is_explained_and_its_counterfactual_flips_changing_only_actionable_features(
    loans: pd.DataFrame, scorer: object
) -> None:
    person = {"hours": 20, "age": 25}
    explained = explain_decision(scorer, person, loans, actionable=["hours"], positive_text="approval",
                                 negative_text="refusal")  # fmt: skip
    assert explained.outcome == "refusal" and not explained.positive
    assert explained.additivity_error < 1e-6  # SHAP values + expected value = the model's output
    assert sum(explained.contributions.values()) + explained.expected_value == pytest.approx(
        np.log(explained.probability / (1 - explained.probability)) if explained.output_scale == "log_odds"
        else explained.probability, abs=1e-6)  # fmt: skip
    assert explained.factors[0].sentence == "Your hours of 20 lowered the chance of approval the most."
    cf = explained.counterfactual
    assert cf is not None and cf.found and cf.verified and cf.outcome == "approval"
    assert [c["feature"] for c in cf.changes] == ["hours"] and cf.changes[0]["from"] == 20
    new_hours = cf.changes[0]["to"]
    assert loans.hours.min() <= new_hours <= loans.hours.max() and isinstance(new_hours, int)
    assert scorer.predict_proba(pd.DataFrame([{"hours": new_hours, "age": 25}]))[0] >= 0.5  # it flips
    smaller = [h for h in sorted(loans.hours.unique()) if 20 < h < new_hours]
    probabilities = scorer.predict_proba(pd.DataFrame({"hours": smaller, "age": 25}))
    assert (probabilities < 0.5).all()  # no smaller observed value flips it: the change is the smallest
    assert cf.sentence == f"If your hours were {new_hours} instead of 20, the outcome would have been approval."
    assert cf.model_calls <= 3 + 3


def test_immutable_features_are_never_changed(loans: pd.DataFrame, scorer: object) -> None:
    with pytest.raises(InvalidInput, match="'age' is immutable"):
        find_counterfactual(scorer, {"hours": 20, "age": 25}, loans, actionable=["hours", "age"])
    with pytest.raises(InvalidInput, match="'salary' is not a feature of the model"):
        find_counterfactual(scorer, {"hours": 20, "age": 25}, loans, actionable=["salary"])
    none = find_counterfactual(scorer, {"hours": 20, "age": 25}, loans, actionable=[])
    assert not none.found and "no actionable features" in none.reason
    # a person no allowed change can help: the reason says so, within the bounds
    far = find_counterfactual(scorer, {"hours": 10, "age": 18}, loans, actionable=["hours"], threshold=0.999)
    assert not far.found and "no change of at most 3" in far.reason and far.model_calls <= 6


@pytest.mark.realdata
def test_refusals_on_adult_get_verified_counterfactuals_over_actionable_features(shared_data: Path) -> None:
    pipeline = load_model(model(shared_data))
    from tests.support.adult import adult

    background = adult(shared_data, "data").iloc[:2000][FEATURES]
    people = negatives(shared_data, 8)
    found = 0
    for i in range(len(people)):
        explained = explain_decision(pipeline, people.iloc[[i]][FEATURES], background, actionable=ACTIONABLE,
                                     positive_text="approval", negative_text="refusal")  # fmt: skip
        assert explained.additivity_error < 1e-6 and len(explained.factors) == 3
        cf = explained.counterfactual
        assert cf is not None and cf.model_calls <= 6 and cf.rows_scored <= 20_000
        if cf.found:
            found += 1
            changed = people.iloc[[i]][FEATURES].reset_index(drop=True).copy()
            for change in cf.changes:
                assert change["feature"] in ACTIONABLE  # never sex, race, age or marital status
                values = background[change["feature"]]
                if change["feature"] in ("education", "occupation"):
                    assert change["to"] in set(values)
                else:
                    assert values.min() <= change["to"] <= values.max()
                changed.loc[0, change["feature"]] = change["to"]
            assert pipeline.predict_proba(changed)[0] >= 0.5  # verified again here
    assert found >= 6
