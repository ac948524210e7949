"""Invariants of the bias metrics, checked with hypothesis on random small datasets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assay
from assay.frames import Facet

ROWS = st.lists(
    st.tuples(
        st.integers(0, 1),  # facet
        st.integers(0, 1),  # label
        st.integers(0, 1),  # prediction
        st.integers(0, 2),  # group
    ),
    min_size=2,
    max_size=60,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLIPPING = ("CI", "DPL", "DPPL", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE")
SYMMETRIC = ("JS", "LP", "TVD", "KS", "GE")


def frame(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["f", "y", "p", "g"])


def values(df: pd.DataFrame, d: int) -> dict[str, float | None]:
    report = assay.assess(df, label="y", facets=[Facet("f", [d])], predicted="p", group="g", bootstrap=0)
    return {m.name: m.value for m in report.result.entries[0].metrics}


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12


@SETTINGS
@given(ROWS, st.randoms(use_true_random=False))
def test_row_order_does_not_change_any_metric(rows: list[tuple[int, int, int, int]], rnd: object) -> None:
    df = frame(rows)
    if df["f"].nunique() < 2:
        df.loc[0, "f"] = 1 - df.loc[0, "f"]
    shuffled = df.sample(frac=1.0, random_state=np.random.default_rng(len(rows)).integers(1 << 30))
    a, b = values(df, 1), values(shuffled.reset_index(drop=True), 1)
    for name in a:
        if name == "FT":  # k-NN ties may depend on order; FT is checked against smclarify separately
            continue
        assert same(a[name], b[name]), name


@SETTINGS
@given(ROWS)
def test_swapping_the_facet_flips_differences_and_inverts_di(rows: list[tuple[int, int, int, int]]) -> None:
    df = frame(rows)
    d1, d0 = values(df, 1) if (df["f"] == 1).any() else None, values(df, 0) if (df["f"] == 0).any() else None
    if d1 is None or d0 is None:
        return
    for name in FLIPPING:
        a, b = d1[name], d0[name]
        if a is None:
            assert b is None, name
        else:
            assert b is not None and same(a, -b), (name, a, b)
    for name in SYMMETRIC:
        assert same(d1[name], d0[name]), name
    di1, di0 = d1["DI"], d0["DI"]
    if di1 is not None and di0 is not None and 0 < di1 < math.inf:
        assert di0 == pytest.approx(1.0 / di1, rel=1e-12)


@SETTINGS
@given(ROWS)
def test_metric_ranges(rows: list[tuple[int, int, int, int]]) -> None:
    df = frame(rows)
    if not ((df["f"] == 1).any() and (df["f"] == 0).any()):
        return
    v = values(df, 1)
    for name in ("CI", "DPL", "DPPL", "RD", "SD", "DAR", "DRR", "AD", "CDDL", "CDDPL"):
        assert v[name] is None or -1.0 - 1e-12 <= v[name] <= 1.0 + 1e-12, name
    for name in ("TVD", "KS"):
        assert v[name] is None or 0.0 <= v[name] <= 1.0 + 1e-12
    for name in ("KL", "JS", "LP", "GE"):
        assert v[name] is None or v[name] >= -1e-15, name
    assert v["JS"] is None or v["JS"] <= math.log(2) + 1e-12


def test_sound_and_clarify_divergences_on_the_reference_example() -> None:
    # clarify-metrics.md 1.2: label [T,T,T,F,F,F], facet d = row 0 -> Clarify KL = .4 ln .4 = -0.3665
    df = pd.DataFrame({"y": [1, 1, 1, 0, 0, 0], "f": [1, 0, 0, 0, 0, 0]})
    clar = assay.assess(df, label="y", facets={"f": [1]}, bootstrap=0, divergence="clarify").result.entries[0]
    assert clar.metric("KL").value == pytest.approx(0.4 * math.log(0.4), abs=1e-15)
    assert clar.metric("LP").value == pytest.approx(0.6, abs=1e-15)
    sound = assay.assess(df, label="y", facets={"f": [1]}, bootstrap=0).result.entries[0]
    assert sound.metric("KL").value == math.inf  # facet d has no negative label that facet a has
    assert sound.metric("TVD").value == pytest.approx(0.6)  # |DPL| on the full support
    assert sound.metric("LP").value == pytest.approx(math.sqrt(2) * 0.6)


def test_bootstrap_is_seeded_and_covers_the_point_value() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    df = pd.DataFrame({"f": rng.integers(0, 2, n), "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n)})
    one = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=300, seed=3)
    two = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=300, seed=3)
    other = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=300, seed=4)
    e1, e2, e3 = (r.result.entries[0] for r in (one, two, other))
    for m in e1.metrics:
        if m.ci is not None:
            assert m.ci == e2.metric(m.name).ci
            assert m.ci[0] <= m.value <= m.ci[1], m.name
    assert e1.metric("DPL").ci != e3.metric("DPL").ci


def test_bootstrap_interval_matches_a_row_bootstrap() -> None:
    """Resampling count cells must give the same interval (up to Monte Carlo error) as resampling rows."""
    rng = np.random.default_rng(11)
    n = 3000
    f = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + 0.2 * f).astype(int)
    df = pd.DataFrame({"f": f, "y": y})
    entry = assay.assess(df, label="y", facets={"f": [1]}, bootstrap=2000, seed=1).result.entries[0]
    lo, hi = entry.metric("DPL").ci  # type: ignore[misc]
    boots = []
    for _ in range(2000):
        idx = rng.integers(0, n, n)
        ff, yy = f[idx], y[idx]
        boots.append(yy[ff == 0].mean() - yy[ff == 1].mean())
    rlo, rhi = np.quantile(boots, [0.025, 0.975])
    assert lo == pytest.approx(rlo, abs=0.006)
    assert hi == pytest.approx(rhi, abs=0.006)
