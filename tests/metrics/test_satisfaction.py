"""The satisfaction check: intervals against SciPy's own, the floor judged on the interval, the drop against a
baseline, too few ratings, and refusals that name the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assay.errors import InvalidInput
from assay.metrics.satisfaction import (
    newcombe_lower,
    satisfaction,
    satisfaction_outcome,
    summarise,
    t_interval,
    wilson,
)
from assay.services.compute import Inputs, compute


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (40, 50), (50, 50), (812, 1000)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    expected = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert wilson(k, n, 0.95) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_t_interval_and_summary_of_stars() -> None:
    ratings = [5, 4, 4, 3, 5, 1, 2, 5, 4, 4]
    low, high = stats.t.interval(0.9, len(ratings) - 1, loc=np.mean(ratings), scale=stats.sem(ratings))
    assert t_interval(float(np.mean(ratings)), float(np.std(ratings, ddof=1)), len(ratings), 0.9) == pytest.approx(
        (low, high)
    )
    figures = summarise(ratings, 5, 0.9)
    assert figures["count"] == 10 and figures["positive"]["count"] == 7 and figures["mean"]["method"] == "t"
    thumbs = summarise([1, 1, 0, 1], 2, 0.95)
    assert thumbs["mean"]["interval"] == thumbs["positive"]["interval"]  # the mean of thumbs is their share


def test_newcombe_lower_bound_is_below_the_observed_drop_and_grows_with_counts() -> None:
    small = newcombe_lower((80, 100), (70, 100), 0.025)
    large = newcombe_lower((8000, 10000), (7000, 10000), 0.025)
    assert small < 0.1 and large < 0.1 and large > small and large > 0.08


def _frame(ratings: list[int | None], scale: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"rating": pd.array(ratings, dtype="Int64"), "scale": scale})


def test_floor_fails_only_when_the_whole_interval_is_below_it() -> None:
    unhappy = satisfaction(_frame([1] * 50 + [0] * 50, scale=2), floor=0.7).to_dict()
    assert unhappy["status"] == "fail" and unhappy["positive"]["interval"][1] < 0.7  # 0.50 of 100: upper 0.63
    near = satisfaction(_frame([1] * 60 + [0] * 40, scale=2), floor=0.7).to_dict()
    assert near["status"] == "pass" and near["positive"]["interval"][1] > 0.7  # 0.60 of 100: upper 0.72
    borderline = _frame([1] * 13 + [0] * 7, scale=2)  # 0.65 on 20 ratings: the interval reaches above 0.7
    document = satisfaction(borderline, floor=0.7, min_ratings=10).to_dict()
    assert document["status"] == "pass" and document["positive"]["interval"][1] > 0.7
    few = satisfaction(_frame([1, 0, None], scale=2), floor=0.9).to_dict()
    assert few["status"] == "warn" and few["unrated"] == 1 and few["warnings"][0]["code"] == "few_ratings"


def test_a_significant_drop_against_the_baseline_fails() -> None:
    rng = np.random.default_rng(5)
    base = satisfaction(_frame(list(rng.choice([3, 4, 5], 400, p=[0.1, 0.3, 0.6])))).to_dict()
    assert base["status"] == "pass" and base["warnings"][0]["code"] == "nothing_judged"
    same = satisfaction(_frame(list(rng.choice([3, 4, 5], 400, p=[0.1, 0.3, 0.6]))), baseline=base).to_dict()
    assert same["status"] == "pass" and not same["baseline"]["significant"]
    fallen = _frame(list(rng.choice([3, 4, 5], 400, p=[0.3, 0.3, 0.4])))
    for measure in ("positive", "mean"):
        document = satisfaction(fallen, baseline=base, measure=measure).to_dict()
        assert document["status"] == "fail", measure
        assert document["violations"][0]["check_type"] == "satisfaction_drop"
    outcome = satisfaction_outcome(satisfaction(fallen, baseline=base, floor=0.95).to_dict())
    assert outcome["status"] == "fail" and {m["name"] for m in outcome["metrics"]} == {
        "ratings", "share_positive", "mean_rating"}  # fmt: skip
    assert next(m for m in outcome["metrics"] if m["name"] == "share_positive")["threshold"] == 0.95


def test_the_kind_runs_with_a_baseline_document() -> None:
    base = compute("satisfaction", Inputs(data=_frame([5] * 50)), {}).to_dict()
    result = compute("satisfaction", Inputs(data=_frame([1] * 50), baseline_document=base), {"floor": 0.5})
    assert result.to_dict()["status"] == "fail" and len(result.to_dict()["violations"]) == 2


def test_bad_input_names_the_column_or_option() -> None:
    with pytest.raises(InvalidInput, match=r"column 'rating' holds 7: ratings of scale 5 are whole numbers 1\.\.5"):
        satisfaction(_frame([7, 5]))
    mixed = pd.DataFrame({"rating": [1, 5], "scale": [2, 5]})
    with pytest.raises(InvalidInput, match=r"holds the scales \[2, 5\]: give scale"):
        satisfaction(mixed)
    assert satisfaction(mixed, scale=5).to_dict()["count"] == 1
    with pytest.raises(InvalidInput, match="give scale"):
        satisfaction(pd.DataFrame({"rating": [1]}))
    with pytest.raises(InvalidInput, match="floor 3 is a share positive"):
        satisfaction(_frame([5]), floor=3)
    with pytest.raises(InvalidInput, match="baseline rates on scale 2"):
        satisfaction(_frame([5]), baseline=satisfaction(_frame([1], scale=2)).to_dict())
    with pytest.raises(InvalidInput, match="min_ratings"):
        compute("satisfaction", Inputs(data=_frame([5])), {"min_ratings": 0})
