"""Statistics of human review: Cohen's kappa against scikit-learn (random label pairs, and two real raters: COMPAS's
general and violent risk levels), its analytic standard error against a bootstrap, Wilson intervals, Holm, the
override-rate bias signal (clean data gives no flag, a planted 2x rate is found, small slices are warned about),
time to decision and overdue items."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from assay.metrics.oversight import (
    ESCALATE,
    cohen_kappa,
    durations,
    holm,
    outcome_label,
    overdue,
    pair_agreement,
    period_key,
    rates_by,
    slice_signal,
    slice_values,
    wilson,
)
from tests.support.adult import adult


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60),
)
def test_kappa_equals_scikit_learn_on_random_label_pairs(pairs: list[tuple[int, int]]) -> None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    ours = cohen_kappa(a, b)
    if ours.value is None:  # chance agreement 1: both gave one and the same label throughout
        assert len(set(a) | set(b)) == 1
        return
    theirs = cohen_kappa_score(a, b)
    assert ours.value == pytest.approx(theirs, abs=1e-12)
    assert ours.n == len(pairs)
    assert ours.ci is not None and -1.0 <= ours.ci[0] <= ours.value <= ours.ci[1] <= 1.0


def test_kappa_standard_error_matches_a_bootstrap() -> None:
    """The analytic (Fleiss-Cohen-Everitt) standard error is within 10 % of 2,000 bootstrap replicates' SD."""
    rng = np.random.default_rng(7)
    for n, agree in ((60, 0.6), (300, 0.8)):
        a = rng.integers(0, 3, n)
        b = np.where(rng.random(n) < agree, a, rng.integers(0, 3, n))
        analytic = cohen_kappa(list(a), list(b)).se
        boot = []
        for _ in range(2000):
            i = rng.integers(0, n, n)
            boot.append(cohen_kappa_score(a[i], b[i]))
        assert analytic == pytest.approx(float(np.std(boot)), rel=0.10)


def test_kappa_refuses_unequal_lengths_and_handles_no_items() -> None:
    with pytest.raises(ValueError, match="label 2 and 1 items"):
        cohen_kappa([1, 2], [1])
    assert cohen_kappa([], []).value is None


@pytest.mark.realdata
def test_kappa_of_two_real_raters_equals_scikit_learn(shared_data: Path) -> None:
    """COMPAS's general (score_text) and violent (v_score_text) risk levels of the same 7,214 people, as two raters."""
    frame = pd.read_csv(shared_data / "compas" / "compas-scores-two-years.csv", usecols=["score_text", "v_score_text"])
    frame = frame.dropna()
    a, b = frame["score_text"].tolist(), frame["v_score_text"].tolist()
    ours = cohen_kappa(a, b)
    assert ours.n == len(frame) > 7000
    assert ours.value == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert ours.se is not None and 0 < ours.se < 0.02
    # as reviewers on items: the same numbers through the pair table
    labels = [(i, "general", x) for i, x in enumerate(a)] + [(i, "violent", y) for i, y in enumerate(b)]
    (pair,) = pair_agreement(labels)
    assert pair.reviewers == ("general", "violent") and pair.kappa.value == ours.value


def test_outcome_labels() -> None:
    assert outcome_label("accept", 1, None) == "1"
    assert outcome_label("change", 1, {"prediction": 0}) == "0"
    assert outcome_label("change", "yes", {"prediction": "no"}) == '"no"'
    assert outcome_label("escalate", 1, None) == ESCALATE
    with pytest.raises(ValueError, match="no outcome prediction"):
        outcome_label("change", 1, {})
    with pytest.raises(ValueError, match="unknown decision 'maybe'"):
        outcome_label("maybe", 1, None)


def test_pair_verdicts() -> None:
    rng = np.random.default_rng(1)
    labels: list[tuple[int, str, str]] = []
    truth = rng.integers(0, 2, 100)
    for i, t in enumerate(truth):
        labels.append((i, "ann", str(t)))
        labels.append((i, "ben", str(t if rng.random() < 0.95 else 1 - t)))  # agrees with ann
        labels.append((i, "cat", str(rng.integers(0, 2))))  # coin flips: low agreement with both
    labels += [(1000 + i, "dan", "1") for i in range(5)] + [(1000 + i, "eve", "0") for i in range(5)]
    labels.append((0, "ann", "1" if truth[0] == 0 else "0"))  # ann changed her mind: the last label counts
    pairs = {p.reviewers: p for p in pair_agreement(labels)}
    assert pairs[("ann", "ben")].verdict == "ok"
    assert pairs[("ann", "cat")].verdict == "low" and "below the floor 0.6 on 100" in pairs[("ann", "cat")].note
    assert pairs[("dan", "eve")].verdict == "too_few" and pairs[("dan", "eve")].kappa.value == 0.0
    assert ("ann", "dan") not in pairs  # no shared item: no pair
    few = pair_agreement([(i, "x", str(i % 2)) for i in range(10)] + [(i, "y", str(i % 2)) for i in range(10)])
    assert few[0].verdict == "too_few" and "10 shared items, fewer than 30" in few[0].note
    same = pair_agreement([(i, "x", "1") for i in range(40)] + [(i, "y", "1") for i in range(40)])
    assert same[0].verdict == "undefined" and same[0].kappa.value is None


def test_wilson_and_rates() -> None:
    low, high = wilson(0, 10)  # type: ignore[misc]
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(5, 10)  # type: ignore[misc]
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 0) is None
    rates = rates_by([("F", True), ("F", False), ("M", False), (None, True)])
    assert [(r.key, r.n, r.k) for r in rates] == [("F", 2, 1), ("M", 1, 0)]
    assert rates[0].to_dict()["rate"] == 0.5


def test_holm_matches_the_step_down_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []


def test_slice_values_and_periods() -> None:
    row = {"sex": "F", "race": "Black", "age": 30}
    assert slice_values(row, "sex") == "F"
    assert slice_values(row, "sex×race") == "F×Black"
    assert slice_values(row, "income") is None
    assert period_key(dt.datetime(2026, 3, 4, 23, tzinfo=dt.UTC), "day") == "2026-03-04"
    assert period_key(dt.datetime(2026, 3, 4, tzinfo=dt.UTC), "week") == "2026-W10"


def _simulate(frame: pd.DataFrame, rng: np.random.Generator, base: float, planted: dict[str, float] | None) -> list:
    p = np.full(len(frame), base)
    for value, factor in (planted or {}).items():
        p[frame["sex"].to_numpy() == value] *= factor
    flags = rng.random(len(frame)) < p
    rows = frame[["sex", "race"]].to_dict("records")
    return list(zip(rows, flags.tolist(), strict=True))


@pytest.mark.realdata
def test_no_flag_on_clean_real_groups_and_the_planted_group_is_found(shared_data: Path) -> None:
    """adult's sex and race as the slices; overrides at random (independent of the group) give no flag with the
    defaults; twice the rate for women is flagged (and nothing else); a tiny group is warned about."""
    frame = adult(shared_data, "data").sample(2000, random_state=3).reset_index(drop=True)
    slices = ["sex", "race", "sex×race"]
    rng = np.random.default_rng(11)
    for base in (0.05, 0.1, 0.2):
        for _ in range(20):
            tests, notes = slice_signal(_simulate(frame, rng, base, None), slices)
            assert not [t for t in tests if t.verdict == "flagged"]
    assert any(n.code == "small_slice" for n in notes)  # e.g. race Other, Amer-Indian-Eskimo × sex
    assert {t.verdict for t in tests if t.n < 30} == {"too_few"}
    tests, _ = slice_signal(_simulate(frame, rng, 0.1, {"Female": 2.0}), slices)
    flagged = {(t.slice, t.value) for t in tests if t.verdict == "flagged"}
    assert ("sex", "Female") in flagged
    assert all(slice_ == "sex×race" and value.startswith("Female") for slice_, value in flagged - {("sex", "Female")})
    female = next(t for t in tests if t.slice == "sex" and t.value == "Female")
    assert female.p_adjusted is not None and female.p_adjusted < 0.01 and female.ratio is not None
    assert female.ratio > 1.25


def test_one_slice_is_a_note_not_a_number() -> None:
    tests, notes = slice_signal([({"sex": "F"}, True), ({"sex": "F"}, False)], ["sex", "region"])
    assert tests == []
    assert [n.code for n in notes] == ["one_slice", "one_slice"]


def test_durations_and_overdue() -> None:
    assert durations([]) == {"n": 0, "p50": None, "p90": None, "max": None}
    got = durations([float(s) for s in range(1, 11)])
    assert got["p50"] == 5.5 and got["p90"] == pytest.approx(9.1) and got["max"] == 10
    now = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    due = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    items = [
        (due, due - dt.timedelta(hours=1)),  # on time
        (due, due + dt.timedelta(hours=1)),  # late
        (due, None),  # open past due
        (now + dt.timedelta(days=1), None),  # open, not yet due
    ]
    got = overdue(items, now)
    assert (got["count"], got["decided_late"], got["open_overdue"], got["share"]) == (2, 1, 1, 0.5)
    assert overdue([], now)["share"] is None
