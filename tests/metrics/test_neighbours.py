"""The exact k-nearest-neighbour search behind FT, against brute force summed in the same order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from assay.metrics import _neighbours
from assay.metrics._neighbours import nearest


def brute(reference: NDArray[np.float64], queries: NDArray[np.float64]) -> NDArray[np.float64]:
    """Every squared distance, summed dimension by dimension as scikit-learn's and SciPy's trees do."""
    out = np.zeros((len(queries), len(reference)))
    for j in range(reference.shape[1]):
        t = reference[None, :, j] - queries[:, None, j]
        out = out + t * t
    return out


def check(reference: NDArray[np.float64], queries: NDArray[np.float64], k: int, **kwargs: int) -> None:
    dist, idx = nearest(reference, queries, k, **kwargs)
    assert dist.shape == idx.shape == (len(queries), k)
    full = brute(reference, queries)
    # the k smallest distances, exactly, and each returned row really is at its distance
    np.testing.assert_array_equal(dist, np.sort(full, axis=1)[:, :k])
    np.testing.assert_array_equal(np.take_along_axis(full, idx, axis=1), dist)
    for row in idx:
        assert len(set(row.tolist())) == k, "a row was returned twice"


@pytest.mark.parametrize("dim", [1, 2, 3, 10, 24])
@pytest.mark.parametrize(("n_ref", "n_q"), [(1, 5), (7, 3), (64, 10), (65, 100), (3000, 700)])
def test_nearest_equals_brute_force(dim: int, n_ref: int, n_q: int) -> None:
    rng = np.random.default_rng(dim * 1000 + n_ref)
    reference = rng.normal(size=(n_ref, dim))
    queries = rng.normal(size=(n_q, dim))
    for k in sorted({1, min(6, n_ref), n_ref if n_ref <= 7 else 6}):
        check(reference, queries, k)


def test_many_groups_and_threads() -> None:
    """Enough rows for many leaf groups and query blocks; one thread and every core give the same answer."""
    rng = np.random.default_rng(7)
    reference = rng.normal(size=(40_000, 4)) * [1.0, 3.0, 0.5, 10.0]
    queries = rng.normal(size=(1_500, 4)) * [1.0, 3.0, 0.5, 10.0]
    check(reference, queries, 6)
    one = nearest(reference, queries, 6, workers=1)
    many = nearest(reference, queries, 6, workers=4)
    np.testing.assert_array_equal(one[0], many[0])


@pytest.mark.parametrize(
    "kind", ["integer grid", "duplicate rows", "large offset", "tiny scale", "beyond single precision"]
)
def test_hard_inputs(kind: str) -> None:
    rng = np.random.default_rng(3)
    if kind == "integer grid":  # distances tie everywhere, also at the k-th neighbour
        reference = rng.integers(0, 4, size=(2_000, 3)).astype(float)
        queries = rng.integers(0, 4, size=(300, 3)).astype(float)
    elif kind == "duplicate rows":
        reference = np.repeat(rng.normal(size=(300, 2)), 7, axis=0)
        queries = reference[::5] + 0.0
    elif kind == "large offset":  # single precision cannot tell these rows apart; the double check must
        reference = 1e6 + rng.normal(size=(3_000, 5)) * 1e-4
        queries = 1e6 + rng.normal(size=(400, 5)) * 1e-4
    elif kind == "tiny scale":  # single precision underflows to subnormals and zero
        reference = rng.normal(size=(2_000, 4)) * 1e-30
        queries = rng.normal(size=(300, 4)) * 1e-30
    else:  # squares would overflow single precision: screened in double precision
        reference = rng.normal(size=(2_000, 3)) * 1e18
        queries = rng.normal(size=(300, 3)) * 1e18
    check(reference, queries, 6)


def test_single_precision_screen_is_used_and_exact_on_near_ties() -> None:
    """Rows one double-precision step apart in distance: the screen keeps both, double precision decides."""
    base = np.zeros((1, 3))
    step = np.spacing(1.0)
    reference = np.array([[1.0 + i * step, 0.0, 0.0] for i in range(12)])[::-1].copy()
    dist, idx = nearest(reference, base, 5)
    np.testing.assert_array_equal(idx[0], [11, 10, 9, 8, 7])
    assert np.all(np.diff(dist[0]) > 0)
    assert np.abs(reference).max() < _neighbours.SINGLE_MAX


def test_single_precision_rounding_never_drops_the_nearest() -> None:
    """Both rows round to the same single-precision value; the nearer one is scanned second.

    Screened with no allowance for rounding, the second row's single-precision distance exceeds the first row's
    exact distance and it would be dropped; the bound keeps it, and double precision finds it nearer.
    """
    reference = np.array([[1.0 + 1.1e-7], [1.0 + 1.0e-7]])
    assert np.float32(reference[0, 0]) == np.float32(reference[1, 0])
    dist, idx = nearest(reference, np.zeros((1, 1)), 1)
    assert idx[0, 0] == 1
    assert dist[0, 0] == (1.0 + 1.0e-7) ** 2
    rng = np.random.default_rng(11)
    offsets = rng.uniform(0.5e-7, 1.5e-7, size=(500, 3))
    check(1.0 + offsets, np.zeros((20, 3)) + rng.uniform(-1e-7, 1e-7, size=(20, 3)), 6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reference=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 150), st.integers(1, 4)),
        elements=st.sampled_from([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0, 1e-3, 7.5]),
    ),
    n_q=st.integers(0, 40),
    k=st.integers(1, 7),
    seed=st.integers(0, 2**16),
)
def test_nearest_property(reference: NDArray[np.float64], n_q: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    queries = reference[rng.integers(0, len(reference), n_q)] + rng.choice([0.0, 0.5, -1.0], size=(n_q, 1))
    check(reference, queries, min(k, len(reference)))


def test_nearest_refuses_bad_input() -> None:
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="k must be between 1 and the 5 reference rows, not 6"):
        nearest(x, x, 6)
    with pytest.raises(ValueError, match="k must be between"):
        nearest(x, x, 0)
    with pytest.raises(ValueError, match="same number of columns"):
        nearest(x, np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="finite"):
        nearest(x, np.array([[np.inf, 0.0]]), 1)
    dist, idx = nearest(x, np.zeros((0, 2)), 2)
    assert dist.shape == idx.shape == (0, 2)
