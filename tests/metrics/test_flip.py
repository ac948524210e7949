"""FT's neighbour search against Clarify's own procedure (scikit-learn k-NN fitted on facet a)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

from assay.metrics.flip import flip_test


def clarify_ft(x: np.ndarray, in_d: np.ndarray, pred: np.ndarray) -> float:
    n_a = int((~in_d).sum())
    knn = KNeighborsClassifier(n_neighbors=5 if n_a > 9 else 1, weights="uniform", p=2, metric="minkowski")
    knn.fit(x[~in_d], pred[~in_d])
    if_a = knn.predict(x[in_d]).astype(bool)
    model = pred[in_d]
    return float((np.sum(model & ~if_a) - np.sum(~model & if_a)) / in_d.sum())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["continuous", "ties", "duplicates", "tiny"])
def test_flip_test_equals_clarify_procedure(seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    n = 12 if kind == "tiny" else 600
    if kind == "continuous":
        x = rng.normal(size=(n, 3))
    elif kind == "ties":  # integer grid: many equal distances, also at the k-th neighbour
        x = rng.integers(0, 4, size=(n, 2)).astype(float)
    elif kind == "duplicates":
        x = np.repeat(rng.normal(size=(n // 6, 2)), 6, axis=0)
    else:
        x = rng.normal(size=(n, 2))
    in_d = rng.random(n) < 0.4
    in_d[0], in_d[1] = True, False
    pred = rng.random(n) < 0.5
    value, error = flip_test(x, in_d, pred)
    assert error is None
    assert value == clarify_ft(x, in_d, pred)


def test_flip_test_errors() -> None:
    x = np.zeros((4, 1))
    assert (
        flip_test(x, np.zeros(4, dtype=bool), np.ones(4, dtype=bool))[1] == "facet d (the sensitive group) has no rows"
    )
    assert flip_test(x, np.ones(4, dtype=bool), np.ones(4, dtype=bool))[1] == "facet a (every other row) has no rows"
    assert "no numeric feature" in str(flip_test(np.zeros((4, 0)), np.array([1, 0, 1, 0], bool), np.ones(4, bool))[1])


def small_frame(seed: int, n: int) -> pd.DataFrame:
    """Facet f, label y, prediction p (all 0/1) and one numeric feature x."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"f": rng.integers(0, 2, n), "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n), "x": rng.normal(size=n)}
    )


@pytest.mark.parametrize(("bad", "reason"), [(np.inf, "infinite values"), (np.nan, "missing values")])
def test_ft_on_a_feature_that_is_not_finite_is_an_error_entry(bad: float, reason: str) -> None:
    import assay
    from assay.frames import Facet

    df = small_frame(0, 80)
    df.loc[5, "x"] = bad
    report = assay.assess(df, label="y", facets=[Facet("f", [1])], predicted="p", metrics=["FT", "DPPL"], bootstrap=0)
    ft = {m.name: m for m in report.result.entries[0].metrics}["FT"]
    assert ft.value is None
    assert f"feature 'x' has {reason}" in str(ft.error)
    assert {m.name: m for m in report.result.entries[0].metrics}["DPPL"].value is not None


def test_progress_names_the_flip_test_while_it_searches() -> None:
    import assay
    from assay.frames import Facet

    df = small_frame(1, 60)
    stages: list[str] = []
    assay.assess(
        df, label="y", facets=[Facet("f", [1])], predicted="p", metrics=["FT"], bootstrap=0, progress=stages.append
    )
    i = stages.index("flip test: nearest neighbours for f = 1")
    assert stages[i - 1] == "computing metrics" and stages[i + 1] == "computing metrics"
