"""SageMaker Clarify's bias metrics, computed from count tensors.

Every metric is a function of a small table of counts, vectorised over a leading batch axis so that the
point estimate (batch of one) and every bootstrap replicate are computed by the same code:

* ``pre[b, g, f, y]``  - rows with a label, by group ``g``, facet side ``f`` (0 = a, 1 = d), label ``y``;
* ``post[b, g, f, y, p]`` - rows with a label and a prediction, also by predicted label ``p``.

The last group index holds rows whose group value is missing (they count everywhere except in CDD).
Division follows Clarify's ``divide``: 0/0 = 0 and x/0 = ±inf, so the numbers equal Clarify's.
A metric that is undefined for the data returns NaN with a reason (see :class:`Outcome`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ALL_METRICS",
    "METRICS",
    "POST_TRAINING",
    "PRE_TRAINING",
    "Counts",
    "MetricDef",
    "Outcome",
    "divide",
]

Array = NDArray[np.float64]
Stage = Literal["pre_training", "post_training"]


@dataclass
class Counts:
    """The count tensors of one facet entry (see the module docstring), with a batch axis first."""

    pre: NDArray[np.int64]
    post: NDArray[np.int64]
    has_group: bool
    divergence: Literal["sound", "clarify"] = "sound"

    @property
    def batch(self) -> int:
        return int(self.pre.shape[0])


@dataclass
class Outcome:
    """Values over the batch; ``errors`` are (mask, reason) pairs, the first matching reason wins."""

    value: Array
    errors: list[tuple[NDArray[np.bool_], str]] = field(default_factory=list)

    def invalid(self) -> NDArray[np.bool_]:
        mask = np.zeros(self.value.shape, dtype=bool)
        for m, _ in self.errors:
            mask |= m
        return mask

    def reason(self, index: int = 0) -> str | None:
        for m, why in self.errors:
            if bool(m[index]):
                return why
        return None


def divide(num: NDArray[Any], den: NDArray[Any]) -> Array:
    """Clarify's ``divide`` element-wise: 0/0 = 0, a/0 = +inf (a > 0) or -inf (a < 0)."""
    a: Array = np.asarray(num, dtype=np.float64)
    b: Array = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Array = a / b
    zero = b == 0
    if np.any(zero):
        out = np.where(zero, np.where(a > 0, np.inf, np.where(a < 0, -np.inf, 0.0)), out)
    return out


def _diff_inf0(x: Array, y: Array) -> Array:
    """``x - y``, but 0 when both are +inf (Clarify's rule)."""
    with np.errstate(invalid="ignore"):
        out = x - y
    return np.where(np.isposinf(x) & np.isposinf(y), 0.0, out)


# ---- shared pieces ------------------------------------------------------------------------------------

_A, _D = 0, 1
EMPTY_D = "facet d (the sensitive group) has no rows"
EMPTY_A = "facet a (every other row) has no rows"


def _sizes(t: NDArray[np.int64]) -> tuple[Array, Array]:
    """Row counts of facets a and d from a (b, f, ...) tensor."""
    n = t.reshape(t.shape[0], 2, -1).sum(axis=2).astype(np.float64)
    return n[:, _A], n[:, _D]


def _empty_errors(na: Array, nd: Array) -> list[tuple[NDArray[np.bool_], str]]:
    return [(nd == 0, EMPTY_D), (na == 0, EMPTY_A)]


def _pre_fy(c: Counts) -> NDArray[np.int64]:
    out: NDArray[np.int64] = c.pre.sum(axis=1)  # (b, f, y)
    return out


def _post_fyp(c: Counts) -> NDArray[np.int64]:
    out: NDArray[np.int64] = c.post.sum(axis=1)  # (b, f, y, p)
    return out


def _conf(c: Counts) -> dict[str, Array]:
    t = _post_fyp(c).astype(np.float64)
    return {
        "TP_a": t[:, _A, 1, 1], "FP_a": t[:, _A, 0, 1], "FN_a": t[:, _A, 1, 0], "TN_a": t[:, _A, 0, 0],
        "TP_d": t[:, _D, 1, 1], "FP_d": t[:, _D, 0, 1], "FN_d": t[:, _D, 1, 0], "TN_d": t[:, _D, 0, 0],
    }  # fmt: skip


def _proportion_difference(fy: NDArray[np.int64]) -> Outcome:
    na, nd = _sizes(fy)
    pos = fy[..., 1].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = pos[:, _A] / na - pos[:, _D] / nd
    return Outcome(value, _empty_errors(na, nd))


# ---- pre-training -------------------------------------------------------------------------------------


def ci(c: Counts) -> Outcome:
    na, nd = _sizes(_pre_fy(c))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (na - nd) / (na + nd)
    return Outcome(value, _empty_errors(na, nd))


def dpl(c: Counts) -> Outcome:
    return _proportion_difference(_pre_fy(c))


def _label_pmfs(c: Counts) -> tuple[Array, Array, Array, Array]:
    fy = _pre_fy(c).astype(np.float64)
    na, nd = fy[:, _A].sum(axis=1), fy[:, _D].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = fy[:, _A] / na[:, None]
        pd = fy[:, _D] / nd[:, None]
    return pa, pd, na, nd


NO_COMMON = "no label value occurs in both facets (Clarify: no instance of common facet found)"


def _distribution_metric(kind: str) -> Callable[[Counts], Outcome]:
    def metric(c: Counts) -> Outcome:
        pa, pd, na, nd = _label_pmfs(c)
        errors = _empty_errors(na, nd)
        if c.divergence == "clarify":
            keep = (pa > 0) & (pd > 0)
            none_common = np.asarray(~keep.any(axis=1), dtype=bool)
            errors.append((none_common, NO_COMMON))
            pa = np.where(keep, pa, 0.0)
            pd = np.where(keep, pd, 0.0)
        value = _DISTANCES[kind](pa, pd)
        return Outcome(value, errors)

    metric.__name__ = kind.lower()
    return metric


def _kl(pa: Array, pd: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = pa * np.log(pa / pd)
    terms = np.where(pa > 0, np.where(pd > 0, terms, np.inf), 0.0)
    return np.asarray(terms[:, 0] + terms[:, 1], dtype=np.float64)


def _js(pa: Array, pd: Array) -> Array:
    p = 0.5 * (pa + pd)
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = np.where(pa > 0, pa * np.log(pa / p), 0.0)
        td = np.where(pd > 0, pd * np.log(pd / p), 0.0)
    return np.asarray(0.5 * ((ta[:, 0] + ta[:, 1]) + (td[:, 0] + td[:, 1])), dtype=np.float64)


def _lp(pa: Array, pd: Array) -> Array:
    diff = pa - pd
    return np.asarray(np.sqrt(diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1]), dtype=np.float64)


def _tvd(pa: Array, pd: Array) -> Array:
    diff = np.abs(pa - pd)
    return np.asarray(0.5 * (diff[:, 0] + diff[:, 1]), dtype=np.float64)


def _ks(pa: Array, pd: Array) -> Array:
    return np.asarray(np.abs(pa - pd).max(axis=1), dtype=np.float64)


_DISTANCES: dict[str, Callable[[Array, Array], Array]] = {
    "KL": _kl,
    "JS": _js,
    "LP": _lp,
    "TVD": _tvd,
    "KS": _ks,
}

NO_GROUP = "needs a group column (--group / group=...)"


def _cdd(gfy: NDArray[np.int64], has_group: bool, what: str) -> Outcome:
    """Conditional demographic disparity from a (b, g, f, y) tensor; the last g is the missing group."""
    batch = gfy.shape[0]
    if not has_group:
        return Outcome(np.full(batch, np.nan), [(np.ones(batch, dtype=bool), NO_GROUP)])
    t = gfy.astype(np.float64)
    pos_all = t[..., 1].sum(axis=(1, 2))
    neg_all = t[..., 0].sum(axis=(1, 2))
    g = t[:, :-1]  # groups with a value
    n_g = g.sum(axis=(2, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        a_den = g[:, :, :, 1].sum(axis=2)
        d_den = g[:, :, :, 0].sum(axis=2)
        a_g = np.where(a_den != 0, g[:, :, _D, 1] / a_den, 0.0)
        d_g = np.where(d_den != 0, g[:, :, _D, 0] / d_den, 0.0)
    value = divide(np.sum(n_g * (d_g - a_g), axis=1), n_g.sum(axis=1))
    errors = [
        (pos_all == 0, f"no positive {what} in the data"),
        (neg_all == 0, f"no negative {what} in the data"),
        (n_g.sum(axis=1) == 0, "no row has a group value"),
    ]
    return Outcome(value, errors)


def cddl(c: Counts) -> Outcome:
    return _cdd(c.pre, c.has_group, "labels")


# ---- post-training ------------------------------------------------------------------------------------


def dppl(c: Counts) -> Outcome:
    return _proportion_difference(_post_fyp(c).sum(axis=2))


def di(c: Counts) -> Outcome:
    fp = _post_fyp(c).sum(axis=2)
    na, nd = _sizes(fp)
    with np.errstate(divide="ignore", invalid="ignore"):
        qa = fp[:, _A, 1] / na
        qd = fp[:, _D, 1] / nd
    return Outcome(divide(qd, qa), _empty_errors(na, nd))


def _rate_difference(
    num: tuple[str, ...], den: tuple[str, ...], first: Literal["a", "d"]
) -> Callable[[Counts], Outcome]:
    """A difference of confusion-matrix rates ``sum(num)/sum(den)`` between the facets, in Clarify's order.

    ``first="a"`` gives rate_a - rate_d, ``"d"`` gives rate_d - rate_a; 0 when both rates are +inf.
    """

    def metric(c: Counts) -> Outcome:
        m = _conf(c)

        def rate(side: str) -> Array:
            # counts are whole numbers, so these float sums are exact
            top = np.sum([m[f"{k}_{side}"] for k in num], axis=0)
            bottom = np.sum([m[f"{k}_{side}"] for k in den], axis=0)
            return divide(top, bottom)

        ra, rd_ = rate("a"), rate("d")
        na = m["TP_a"] + m["FP_a"] + m["FN_a"] + m["TN_a"]
        nd = m["TP_d"] + m["FP_d"] + m["FN_d"] + m["TN_d"]
        value = _diff_inf0(ra, rd_) if first == "a" else _diff_inf0(rd_, ra)
        return Outcome(value, _empty_errors(na, nd))

    return metric


# (numerator cells, denominator cells, which facet comes first), exactly as smclarify computes them
dca = _rate_difference(("TP", "FN"), ("TP", "FP"), "a")  # conditional acceptance: labels / predictions
dcr = _rate_difference(("TN", "FP"), ("TN", "FN"), "d")  # conditional rejection
rd = _rate_difference(("TP",), ("TP", "FN"), "a")  # recall
sd = _rate_difference(("TN",), ("TN", "FP"), "d")  # specificity
dar = _rate_difference(("TP",), ("TP", "FP"), "a")  # precision
drr = _rate_difference(("TN",), ("TN", "FN"), "d")  # negative predictive value
ad = _rate_difference(("TP", "TN"), ("TP", "TN", "FP", "FN"), "a")  # accuracy
te = _rate_difference(("FN",), ("FP",), "d")  # FN / FP


def cddpl(c: Counts) -> Outcome:
    return _cdd(c.post.sum(axis=3), c.has_group, "predicted labels")


ALL_FN = "every prediction is a false negative, so the mean benefit is 0"


def ge(c: Counts) -> Outcome:
    """Generalized entropy (alpha = 2) of the benefit b = yhat - y + 1 over every row."""
    t = c.post.sum(axis=(1, 2)).astype(np.float64)  # (b, y, p)
    n0 = t[:, 1, 0]  # false negatives, b = 0
    n1 = t[:, 0, 0] + t[:, 1, 1]  # b = 1
    n2 = t[:, 0, 1]  # false positives, b = 2
    n = n0 + n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = (n1 + 2.0 * n2) / n
        total = -n0 + n1 * ((1.0 / mu) ** 2 - 1.0) + n2 * ((2.0 / mu) ** 2 - 1.0)
        value = total / (2.0 * n)
    return Outcome(value, [(n == 0, "no row has both a label and a prediction"), (mu == 0, ALL_FN)])


# ---- registry -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricDef:
    name: str
    description: str
    stage: Stage
    compute: Callable[[Counts], Outcome] | None  # None: not count-based (FT)


PRE_TRAINING: tuple[MetricDef, ...] = (
    MetricDef("CI", "Class Imbalance (CI)", "pre_training", ci),
    MetricDef("DPL", "Difference in Positive Proportions in Labels (DPL)", "pre_training", dpl),
    MetricDef("KL", "Kullback-Liebler Divergence (KL)", "pre_training", _distribution_metric("KL")),
    MetricDef("JS", "Jensen-Shannon Divergence (JS)", "pre_training", _distribution_metric("JS")),
    MetricDef("LP", "L-p Norm (LP)", "pre_training", _distribution_metric("LP")),
    MetricDef("TVD", "Total Variation Distance (TVD)", "pre_training", _distribution_metric("TVD")),
    MetricDef("KS", "Kolmogorov-Smirnov Distance (KS)", "pre_training", _distribution_metric("KS")),
    MetricDef("CDDL", "Conditional Demographic Disparity in Labels (CDDL)", "pre_training", cddl),
)
POST_TRAINING: tuple[MetricDef, ...] = (
    MetricDef("DPPL", "Difference in Positive Proportions in Predicted Labels (DPPL)", "post_training", dppl),
    MetricDef("DI", "Disparate Impact (DI)", "post_training", di),
    MetricDef("DCA", "Difference in Conditional Acceptance (DCA)", "post_training", dca),
    MetricDef("DCR", "Difference in Conditional Rejection (DCR)", "post_training", dcr),
    MetricDef("RD", "Recall Difference (RD)", "post_training", rd),
    MetricDef("SD", "Specificity Difference (SD)", "post_training", sd),
    MetricDef("DAR", "Difference in Acceptance Rates (DAR)", "post_training", dar),
    MetricDef("DRR", "Difference in Rejection Rates (DRR)", "post_training", drr),
    MetricDef("AD", "Accuracy Difference (AD)", "post_training", ad),
    MetricDef("CDDPL", "Conditional Demographic Disparity in Predicted Labels (CDDPL)", "post_training", cddpl),
    MetricDef("TE", "Treatment Equality (TE)", "post_training", te),
    MetricDef("FT", "Flip Test (FT)", "post_training", None),
    MetricDef("GE", "Generalized Entropy (GE)", "post_training", ge),
)
ALL_METRICS: tuple[MetricDef, ...] = PRE_TRAINING + POST_TRAINING
METRICS: dict[str, MetricDef] = {m.name: m for m in ALL_METRICS}
