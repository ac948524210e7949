"""Cross-checks with independent implementations: fairlearn, scikit-learn, ProPublica's published rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
)
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

import assay


@pytest.fixture(scope="module")
def compas(shared_data: Path) -> pd.DataFrame:
    df = pd.read_csv(shared_data / "compas" / "compas-scores-two-years.csv")
    return pd.DataFrame(
        {
            "race": df["race"],
            "sex": df["sex"],
            "age_cat": df["age_cat"],
            "y": df["two_year_recid"],
            "pred": (df["decile_score"] >= 5).astype(int),
            "score": df["decile_score"] / 10.0,
        }
    )


@pytest.mark.realdata
def test_propublica_false_positive_and_negative_rates(compas: pd.DataFrame) -> None:
    result = assay.assess(compas, label="y", facets=["race"], predicted="pred", bootstrap=0).result
    by_race = {p.value: p.metrics for p in result.performance if p.facet == "race"}
    # ProPublica, "How we analyzed the COMPAS recidivism algorithm": 44.9% / 23.5% FPR, 28.0% / 47.7% FNR
    assert by_race["African-American"]["fpr"] == pytest.approx(0.4485, abs=5e-5)
    assert by_race["Caucasian"]["fpr"] == pytest.approx(0.2345, abs=5e-5)
    assert by_race["African-American"]["fnr"] == pytest.approx(0.2799, abs=5e-5)
    assert by_race["Caucasian"]["fnr"] == pytest.approx(0.4772, abs=5e-5)


@pytest.mark.realdata
def test_group_metrics_agree_with_fairlearn_and_sklearn(compas: pd.DataFrame) -> None:
    result = assay.assess(compas, label="y", facets=["race", "sex"], score="score", threshold=0.45,
                          bootstrap=0).result  # fmt: skip
    y, pred = compas["y"], (compas["score"] > 0.45).astype(int)
    for facet in ("race", "sex"):
        mf = MetricFrame(
            metrics={"selection_rate": selection_rate, "fpr": false_positive_rate, "fnr": false_negative_rate},
            y_true=y, y_pred=pred, sensitive_features=compas[facet],
        )  # fmt: skip
        for p in (p for p in result.performance if p.facet == facet):
            m = compas[facet] == p.value
            yt, yp, s = y[m], pred[m], compas["score"][m]
            assert p.metrics["selection_rate"] == pytest.approx(mf.by_group.loc[p.value, "selection_rate"], abs=1e-15)
            assert p.metrics["fpr"] == pytest.approx(mf.by_group.loc[p.value, "fpr"], abs=1e-15)
            assert p.metrics["fnr"] == pytest.approx(mf.by_group.loc[p.value, "fnr"], abs=1e-15)
            assert p.metrics["accuracy"] == pytest.approx(accuracy_score(yt, yp), abs=1e-15)
            if yp.sum():
                assert p.metrics["precision"] == pytest.approx(precision_score(yt, yp), abs=1e-15)
            assert p.metrics["recall"] == pytest.approx(recall_score(yt, yp), abs=1e-15)
            assert p.metrics["f1"] == pytest.approx(f1_score(yt, yp, zero_division=0.0), abs=1e-12)
            assert p.score is not None
            assert p.score.brier == pytest.approx(brier_score_loss(yt, s), abs=1e-12)
            if yt.nunique() == 2:
                assert p.score.roc_auc == pytest.approx(roc_auc_score(yt, s), abs=1e-12)
            else:
                assert p.score.roc_auc is None


@pytest.mark.realdata
def test_demographic_parity_and_equalized_odds_agree_with_fairlearn(compas: pd.DataFrame) -> None:
    """fairlearn's binary-group differences equal |DPPL| and max(|RD|, |FPR difference|) for a 2-value facet."""
    result = assay.assess(compas, label="y", facets={"sex": ["Female"]}, predicted="pred", bootstrap=0).result
    entry = result.entries[0]
    dpd = demographic_parity_difference(compas["y"], compas["pred"], sensitive_features=compas["sex"])
    assert abs(entry.metric("DPPL").value) == pytest.approx(dpd, abs=1e-15)  # type: ignore[arg-type]
    eod = equalized_odds_difference(compas["y"], compas["pred"], sensitive_features=compas["sex"])
    # SD is the difference in specificity = -(difference in FPR)
    ours = max(abs(entry.metric("RD").value), abs(entry.metric("SD").value))  # type: ignore[arg-type]
    assert ours == pytest.approx(eod, abs=1e-15)


def test_calibration_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    s = rng.random(n)
    y = (rng.random(n) < s**1.5).astype(int)
    df = pd.DataFrame({"y": y, "s": s.round(4), "f": rng.choice(["a", "b"], n)})
    perf = assay.assess(df, label="y", facets=["f"], score="s", bootstrap=0).result.performance[0]
    assert perf.score is not None
    ss = df["s"].to_numpy()
    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], ss)
    ece = sum(
        (bins == b).sum() / n * abs(y[bins == b].mean() - ss[bins == b].mean()) for b in range(10) if (bins == b).any()
    )
    assert perf.score.ece == pytest.approx(ece, abs=1e-12)
    counts = [b.count for b in perf.score.reliability_equal_mass]
    assert sum(counts) == n
    assert max(counts) - min(counts) <= 0.02 * n  # equal mass up to ties
    assert perf.score.ece_equal_mass is not None
    assert 0 <= perf.score.ece_equal_mass < 0.2


def test_reliability_table_agrees_with_sklearn_calibration_curve() -> None:
    rng = np.random.default_rng(8)
    n = 3000
    s = rng.choice(np.round(np.linspace(0, 1, 21), 2), n)  # scores on bin edges too
    y = (rng.random(n) < s).astype(int)
    df = pd.DataFrame({"y": y, "s": s, "f": "x"})
    score = assay.assess(df, label="y", facets=["f"], score="s", bootstrap=0).result.performance[0].score
    assert score is not None
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy="uniform")
    bins = [b for b in score.reliability if b.count]
    np.testing.assert_allclose([b.observed_rate for b in bins], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose([b.mean_score for b in bins], prob_pred, rtol=0, atol=1e-12)
