"""Data drift per column between a reference (raw data, or the mergeable summaries of a baseline check) and the
current data, with a test chosen by the column's type and size, an effect size AND a p-value.

**The rule.** A column drifts when its test is significant (p-value below ``alpha``) AND its effect is at least the
threshold. The p-value alone flips with sample size (on a million rows every negligible difference is
significant); the effect alone flips the other way (on a few hundred rows noise alone reaches any threshold). Both
together give a verdict that holds at every size: a large window alarms only for a difference that matters, a
small window only for one that noise does not explain. The p-values of a report's columns are adjusted as one
family (Holm's step-down, ``p_adjusted``): testing a hundred columns at 1 % each would otherwise alarm on one of
them by chance in a random split.

- **Numeric** columns: the two-sample Kolmogorov-Smirnov test. On the values themselves (``scipy.stats.ks_2samp``,
  exact for small samples) when both sides have at most ``exact_rows`` rows; otherwise on KLL sketches, with the
  sketches' rank-error bound subtracted from the statistic before its p-value is read (``D' = max(0, D - e_ref -
  e_cur)``, asymptotic distribution), so that sketch error never looks like drift. Effect: the Wasserstein
  distance divided by the reference's standard deviation (a shift of ``t`` standard deviations has effect ``t``).
- **Categorical** columns: the two-sample chi-square test of homogeneity on the 2 x L table of counts (levels
  expected fewer than 5 times pooled), never a goodness-of-fit test against the reference's shares (which treats
  the reference as exact and false-alarms on many-level columns). Effect: the L-infinity distance, the largest
  difference between the share of a value in the two.
- Reported besides, never part of the verdict: PSI and the Jensen-Shannon distance (numeric columns over the
  reference's deciles), the KS statistic, the normed Wasserstein distance or L-infinity.
- **Degenerate** columns (no present value on a side, or one value on both) are ``warn``: not enough to judge,
  said so, never a silent pass.
- **Multivariate**: a domain classifier (gradient-boosted trees told reference rows from current rows, scored
  out of fold on a bounded sample), its ROC AUC with a 95% interval (Hanley-McNeil); drift when the interval's
  lower end is above ``auc_threshold``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from assay.checks._common import DataInfo, data_info, envelope, json_float, now, sample_rows
from assay.checks.sketches import (
    BLOCK,
    MAX_LEVELS,
    SKETCH_K,
    CategoricalSummary,
    NumericSummary,
    Summary,
    column_kinds,
    summarise,
)
from assay.errors import InvalidInput
from assay.frames import open as open_frame

__all__ = [
    "ALPHA",
    "AUC_THRESHOLD",
    "CATEGORICAL_THRESHOLD",
    "NUMERIC_THRESHOLD",
    "Drift",
    "compare",
    "detect_drift",
    "domain_classifier",
    "outcome",
]

ALPHA: Final = 0.01
NUMERIC_THRESHOLD: Final = 0.05  # normed Wasserstein: half of a 0.1-standard-deviation shift
CATEGORICAL_THRESHOLD: Final = 0.05  # L-infinity: 5 points of share
AUC_THRESHOLD: Final = 0.55
EXACT_ROWS: Final = 100_000
CLASSIFIER_SAMPLE: Final = 5000
CHART_BINS: Final = 20
CHART_LEVELS: Final = 20
_FLOOR: Final = 1e-4  # shares below this count as this in PSI (an empty bin would make it infinite)
_Z: Final = 1.959963984540054
Status = Literal["pass", "fail", "warn"]


def _shares(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    total = counts.sum()
    return counts / total if total > 0 else counts


def psi(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Population stability index of two share vectors (shares floored at 1e-4)."""
    e, a = np.maximum(expected, _FLOOR), np.maximum(actual, _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def js(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of two share vectors."""
    from scipy.spatial.distance import jensenshannon

    value = float(jensenshannon(p, q, base=2))
    return 0.0 if math.isnan(value) else value


def _cdf(items: NDArray[np.float64], weights: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    return np.asarray(cumulative[np.searchsorted(items, points, side="right")] / cumulative[-1], dtype=np.float64)


def _quantiles(items: NDArray[np.float64], weights: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    cumulative = np.cumsum(weights) / weights.sum()
    return np.asarray(items[np.minimum(np.searchsorted(cumulative, q, side="left"), len(items) - 1)])


def _side(summary: NumericSummary | CategoricalSummary) -> dict[str, Any]:
    return {"n": summary.n, "missing": summary.missing}


def _degenerate(name: str, kind: str, ref: Any, cur: Any, why: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "status": "warn",
        "test": None,
        "statistic": None,
        "p_value": None,
        "effect": None,
        "effect_name": "wasserstein" if kind == "numeric" else "linf",
        "threshold": None,
        "metrics": {},
        "reference": _side(ref),
        "current": _side(cur),
        "bins": None,
        "sentence": f"{name}: not judged: {why}.",
    }


def compare_numeric(
    name: str, ref: NumericSummary, cur: NumericSummary, *, alpha: float = ALPHA, threshold: float = NUMERIC_THRESHOLD
) -> dict[str, Any]:
    """The drift of one numeric column (see the module's text)."""
    from scipy.stats import ks_2samp, kstwobign, wasserstein_distance

    for side, summary in (("reference", ref), ("current data", cur)):
        if not summary.n:
            return _degenerate(name, "numeric", ref, cur, f"the {side} has no present value")
    r_items, r_weights = ref.weighted()
    c_items, c_weights = cur.weighted()
    if ref.low == ref.high == cur.low == cur.high:
        return _degenerate(name, "numeric", ref, cur, f"both sides hold the one value {ref.low:g}")
    if ref.values is not None and cur.values is not None:
        with warnings.catch_warnings():  # scipy falls back to the asymptotic p-value where exact fails: fine
            warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful", RuntimeWarning)
            test = ks_2samp(ref.values, cur.values)
        statistic, p_value = float(test.statistic), float(test.pvalue)
        raw, error, method = statistic, 0.0, "ks (exact values)"
    else:
        points = np.union1d(r_items, c_items)
        raw = float(np.max(np.abs(_cdf(r_items, r_weights, points) - _cdf(c_items, c_weights, points))))
        error = ref.rank_error + cur.rank_error
        statistic = max(0.0, raw - error)
        effective = ref.n * cur.n / (ref.n + cur.n)
        p_value = float(kstwobign.sf(statistic * math.sqrt(effective))) if statistic > 0 else 1.0
        method = "ks (KLL sketches, rank error subtracted)"
    scale = ref.std
    if scale <= 0:
        pooled = np.concatenate([r_items, c_items])
        weights = np.concatenate([r_weights, c_weights])
        mean = float(np.average(pooled, weights=weights))
        scale = math.sqrt(float(np.average((pooled - mean) ** 2, weights=weights)))
    wasserstein = float(wasserstein_distance(r_items, c_items, r_weights, c_weights))
    effect = 0.0 if wasserstein == 0 else wasserstein / scale if scale > 0 else math.inf
    # PSI and JS over the reference's deciles
    edges = np.unique(_quantiles(r_items, r_weights, np.linspace(0.1, 0.9, 9)))
    r_dec = np.diff(np.concatenate([[0.0], _cdf(r_items, r_weights, edges), [1.0]]))
    c_dec = np.diff(np.concatenate([[0.0], _cdf(c_items, c_weights, edges), [1.0]]))
    drift = p_value < alpha and effect >= threshold
    metrics = {
        "ks": json_float(raw),
        "ks_p_value": json_float(p_value, 12),
        "wasserstein": json_float(effect),
        "psi": json_float(psi(r_dec, c_dec)),
        "js": json_float(js(r_dec, c_dec)),
        "mean_shift_sd": json_float((cur.mean - ref.mean) / scale) if scale > 0 else None,
    }
    sentence = (
        f"{name}: {'drift' if drift else 'no drift'}: KS D = {raw:.4f}"
        + (f" ({statistic:.4f} after the sketches' rank error {error:.4f})" if error else "")
        + f", p = {p_value:.3g} ({'<' if p_value < alpha else '>='} {alpha}); Wasserstein distance "
        f"{effect:.3f} reference standard deviations ({'>=' if effect >= threshold else '<'} {threshold})."
    )
    return {
        "name": name,
        "type": "numeric",
        "status": "fail" if drift else "pass",
        "test": method,
        "statistic": json_float(statistic),
        "p_value": json_float(p_value, 12),
        "effect": json_float(effect),
        "effect_name": "wasserstein",
        "threshold": threshold,
        "metrics": metrics,
        "reference": _numeric_side(ref),
        "current": _numeric_side(cur),
        "bins": _numeric_bins(r_items, r_weights, c_items, c_weights),
        "sentence": sentence,
    }


def _numeric_side(summary: NumericSummary) -> dict[str, Any]:
    return _side(summary) | {
        "mean": json_float(summary.mean),
        "std": json_float(summary.std),
        "exact": summary.values is not None,
    }


def _numeric_bins(
    r_items: NDArray[np.float64],
    r_weights: NDArray[np.float64],
    c_items: NDArray[np.float64],
    c_weights: NDArray[np.float64],
) -> dict[str, Any]:
    """Both distributions over the same equal-width bins (between the 0.5% and 99.5% quantiles of both sides; the
    end bins take the values beyond), as shares, for charts."""
    ends = np.concatenate([_quantiles(r_items, r_weights, np.array([0.005, 0.995])),
                           _quantiles(c_items, c_weights, np.array([0.005, 0.995]))])  # fmt: skip
    low, high = float(ends.min()), float(ends.max())
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, CHART_BINS + 1)
    inner = edges[1:-1]
    r = np.diff(np.concatenate([[0.0], _cdf(r_items, r_weights, inner), [1.0]]))
    c = np.diff(np.concatenate([[0.0], _cdf(c_items, c_weights, inner), [1.0]]))
    return {
        "edges": [json_float(float(e), 9) for e in edges],
        "reference": [json_float(float(v)) for v in r],
        "current": [json_float(float(v)) for v in c],
    }


def compare_categorical(
    name: str,
    ref: CategoricalSummary,
    cur: CategoricalSummary,
    *,
    alpha: float = ALPHA,
    threshold: float = CATEGORICAL_THRESHOLD,
) -> dict[str, Any]:
    """The drift of one categorical column (see the module's text)."""
    from scipy.stats import chi2_contingency

    for side, summary in (("reference", ref), ("current data", cur)):
        if not summary.n:
            return _degenerate(name, "categorical", ref, cur, f"the {side} has no present value")
    r_counts, c_counts = dict(ref.counts), dict(cur.counts)
    r_other, c_other = ref.other, cur.other
    if r_other or c_other:  # a truncated list: compare the values both list, the rest pooled as other
        shared = set(r_counts) & set(c_counts)
        r_other += sum(n for v, n in r_counts.items() if v not in shared)
        c_other += sum(n for v, n in c_counts.items() if v not in shared)
        r_counts = {v: r_counts[v] for v in shared}
        c_counts = {v: c_counts[v] for v in shared}
    levels = sorted(set(r_counts) | set(c_counts), key=lambda v: (-(r_counts.get(v, 0) + c_counts.get(v, 0)), v))
    labels = levels + (["(other)"] if r_other or c_other else [])
    table = np.array(
        [[r_counts.get(v, 0) for v in levels] + ([r_other] if len(labels) > len(levels) else []),
         [c_counts.get(v, 0) for v in levels] + ([c_other] if len(labels) > len(levels) else [])],
        dtype=np.float64,
    )  # fmt: skip
    if len(labels) == 1:
        return _degenerate(name, "categorical", ref, cur, f"both sides hold the one value {labels[0]!r}")
    p, q = _shares(table[0]), _shares(table[1])
    linf = float(np.max(np.abs(p - q)))
    expected = table.sum(axis=0) * table.sum(axis=1, keepdims=True) / table.sum()
    small = (expected < 5).any(axis=0)
    pooled = table[:, ~small]
    if small.any():
        pooled = np.column_stack([pooled, table[:, small].sum(axis=1)])
    pooled = pooled[:, pooled.sum(axis=0) > 0]
    if pooled.shape[1] < 2:
        return _degenerate(name, "categorical", ref, cur, "too few values for the chi-square test")
    test = chi2_contingency(pooled, correction=False)
    chi2, p_value = float(test.statistic), float(test.pvalue)
    drift = p_value < alpha and linf >= threshold
    order = np.argsort(-(p + q), kind="stable")
    shown = order[:CHART_LEVELS]
    rest = order[CHART_LEVELS:]
    tail = ["(rest)"] if len(rest) else []
    bins = {
        "labels": [labels[i] for i in shown] + tail,
        "reference": [json_float(float(p[i])) for i in shown] + [json_float(float(p[rest].sum()))] * len(tail),
        "current": [json_float(float(q[i])) for i in shown] + [json_float(float(q[rest].sum()))] * len(tail),
    }
    sentence = (
        f"{name}: {'drift' if drift else 'no drift'}: chi-square {chi2:.1f} on {pooled.shape[1] - 1} degrees of "
        f"freedom, p = {p_value:.3g} ({'<' if p_value < alpha else '>='} {alpha}); the largest change of a value's "
        f"share is {linf:.3f} ({'>=' if linf >= threshold else '<'} {threshold})."
    )
    return {
        "name": name,
        "type": "categorical",
        "status": "fail" if drift else "pass",
        "test": "chi-square (two-sample)",
        "statistic": json_float(chi2),
        "p_value": json_float(p_value, 12),
        "effect": json_float(linf),
        "effect_name": "linf",
        "threshold": threshold,
        "metrics": {
            "chi2": json_float(chi2),
            "chi2_p_value": json_float(p_value, 12),
            "linf": json_float(linf),
            "psi": json_float(psi(p, q)),
            "js": json_float(js(p, q)),
        },
        "reference": _side(ref) | {"levels": len(ref.counts), "other": ref.other},
        "current": _side(cur) | {"levels": len(cur.counts), "other": cur.other},
        "bins": bins,
        "sentence": sentence,
    }


def compare(
    reference: Summary,
    current: Summary,
    *,
    alpha: float = ALPHA,
    numeric_threshold: float = NUMERIC_THRESHOLD,
    categorical_threshold: float = CATEGORICAL_THRESHOLD,
) -> list[dict[str, Any]]:
    """Per column of ``current`` also in ``reference``: its drift (a column of another type on the two sides is
    refused)."""
    out = []
    for name, cur in current.columns.items():
        ref = reference.columns.get(name)
        if ref is None:
            continue
        if isinstance(ref, NumericSummary) and isinstance(cur, NumericSummary):
            out.append(compare_numeric(name, ref, cur, alpha=alpha, threshold=numeric_threshold))
        elif isinstance(ref, CategoricalSummary) and isinstance(cur, CategoricalSummary):
            out.append(compare_categorical(name, ref, cur, alpha=alpha, threshold=categorical_threshold))
        else:
            raise InvalidInput(
                f"column {name!r} is {'numeric' if isinstance(ref, NumericSummary) else 'text'} in the reference "
                f"and {'numeric' if isinstance(cur, NumericSummary) else 'text'} in the current data; cast one or "
                "leave it out"
            )
    return _holm(out, alpha)


def _holm(columns: list[dict[str, Any]], alpha: float) -> list[dict[str, Any]]:
    """The family of a report's columns at ``alpha`` (Holm's step-down): with many columns, some would pass ``p <
    alpha`` by chance alone (a 100-column dataset split at random alarmed on a few of them before). Each column keeps
    its own p-value and gains ``p_adjusted``; its verdict is ``p_adjusted < alpha`` AND its effect at the threshold."""
    tested = [c for c in columns if isinstance(c.get("p_value"), int | float) and c.get("status") in ("pass", "fail")]
    order = sorted(tested, key=lambda c: float(c["p_value"]))
    running, m = 0.0, len(order)
    for rank, column in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(column["p_value"])))
        column["p_adjusted"] = json_float(running, 12)
        was = column["status"] == "fail"
        drift = running < alpha and float(column["effect"]) >= float(column["threshold"])
        column["status"] = "fail" if drift else "pass"
        name = column["name"]
        if was and not drift:
            column["sentence"] = column["sentence"].replace(f"{name}: drift:", f"{name}: no drift:", 1)
        if m > 1:
            column["sentence"] += (
                f" Over the {m} columns tested (Holm): p = {running:.3g} ({'<' if running < alpha else '>='} {alpha})."
            )
    return columns


def domain_classifier(
    reference: Mapping[str, Sequence[Any]],
    current: Mapping[str, Sequence[Any]],
    kinds: Mapping[str, str],
    *,
    seed: int = 0,
    auc_threshold: float = AUC_THRESHOLD,
    folds: int = 5,
) -> dict[str, Any]:
    """Tell reference rows from current rows with gradient-boosted trees (scikit-learn's
    ``HistGradientBoostingClassifier``, text as categories, at most 254 levels per column, missing values as their
    own branch); the ROC AUC of out-of-fold scores with its 95% interval (Hanley-McNeil); drift when the interval's
    lower end is above ``auc_threshold``. An AUC of 0.5 means the two cannot be told apart."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    names = [n for n in kinds if n in reference and n in current]
    n_ref, n_cur = len(next(iter(reference.values()), [])), len(next(iter(current.values()), []))
    if not names or min(n_ref, n_cur) < 2 * folds:
        return {"status": "warn", "sentence": f"domain classifier: not run: {min(n_ref, n_cur)} rows on a side "
                f"(at least {2 * folds} needed)", "auc": None, "interval": None, "rows": [n_ref, n_cur]}  # fmt: skip
    columns, categorical = [], []
    for name in names:
        both = list(reference[name]) + list(current[name])
        if kinds[name] == "numeric":
            columns.append(np.array([np.nan if v is None else float(v) for v in both], dtype=np.float64))
            categorical.append(False)
        else:
            values = [None if v is None else str(v) for v in both]
            counts: dict[str, int] = {}
            for v in values:
                if v is not None:
                    counts[v] = counts.get(v, 0) + 1
            top = {v: i for i, (v, _) in enumerate(sorted(counts.items(), key=lambda p: (-p[1], p[0]))[:253])}
            columns.append(np.array([np.nan if v is None else top.get(v, 253) for v in values], dtype=np.float64))
            categorical.append(True)
    # a column with fewer than two values in the sample tells nothing (and breaks the trees' binning): left out
    useful = [i for i, c in enumerate(columns) if len(np.unique(c[~np.isnan(c)])) >= 2]
    if not useful:
        return {"status": "warn", "sentence": "domain classifier: not run: no column holds two values in the sample",
                "auc": None, "interval": None, "rows": [n_ref, n_cur]}  # fmt: skip
    names = [names[i] for i in useful]
    x = np.column_stack([columns[i] for i in useful])
    categorical = [categorical[i] for i in useful]
    y = np.concatenate([np.zeros(n_ref), np.ones(n_cur)])
    model = HistGradientBoostingClassifier(categorical_features=np.array(categorical), max_iter=100, random_state=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, scores))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    se = math.sqrt(
        max(0.0, auc * (1 - auc) + (n_cur - 1) * (q1 - auc**2) + (n_ref - 1) * (q2 - auc**2)) / (n_ref * n_cur)
    )
    low, high = max(0.0, auc - _Z * se), min(1.0, auc + _Z * se)
    drift = low > auc_threshold
    return {
        "status": "fail" if drift else "pass",
        "method": "HistGradientBoostingClassifier, out-of-fold ROC AUC, Hanley-McNeil 95% interval",
        "auc": json_float(auc),
        "interval": [json_float(low), json_float(high)],
        "threshold": auc_threshold,
        "rows": [n_ref, n_cur],
        "folds": folds,
        "columns": names,
        "sentence": f"domain classifier: {'drift' if drift else 'no drift'}: ROC AUC {auc:.3f} (95% interval "
        f"{low:.3f}-{high:.3f}) on {n_ref} reference and {n_cur} current rows; drift when the interval lies above "
        f"{auc_threshold}.",
    }  # fmt: skip


@dataclass(frozen=True)
class Drift:
    """The drift check's result: a verdict per column and, when reference rows were at hand, the domain
    classifier's; ``to_dict()`` is its ``assay.data-check`` document."""

    data: DataInfo
    reference_source: str
    reference_rows: int
    columns: tuple[dict[str, Any], ...]
    multivariate: dict[str, Any] | None
    spec: dict[str, Any]
    created_at: str
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        verdicts = [c["status"] for c in self.columns]
        if self.multivariate is not None:
            verdicts.append(self.multivariate["status"])
        if "fail" in verdicts:
            return "fail"
        return "warn" if "warn" in verdicts or not self.columns else "pass"

    def to_dict(self) -> dict[str, Any]:
        drifted = [c["name"] for c in self.columns if c["status"] == "fail"]
        warned = [c["name"] for c in self.columns if c["status"] == "warn"]
        summary = f"{len(drifted)} of {len(self.columns)} columns drifted" + (
            f" ({', '.join(drifted)})" if drifted else ""
        )
        if warned:
            summary += f"; {len(warned)} not judged ({', '.join(warned)})"
        if self.multivariate is not None and self.multivariate.get("auc") is not None:
            summary += f"; domain classifier AUC {self.multivariate['auc']:.3f}"
        document = envelope(
            "drift", data=self.data, spec=self.spec, passed=self.status != "fail", summary=summary,
            result={
                "reference": {"source": self.reference_source, "rows": self.reference_rows},
                "drifted": drifted,
                "columns": list(self.columns),
                "multivariate": self.multivariate,
            },
            created_at=self.created_at,
        )  # fmt: skip
        document["status"] = self.status
        if self.notes:
            document["warnings"] = [{"code": "drift", "message": note} for note in self.notes]
        return document


def _sample_of(block: Mapping[str, Any] | None) -> dict[str, list[Any]] | None:
    if not isinstance(block, Mapping) or not isinstance(block.get("sample"), Mapping):
        return None
    rows = block["sample"].get("rows")
    return {str(k): list(v) for k, v in rows.items()} if isinstance(rows, Mapping) else None


def detect_drift(
    data: Any,
    *,
    reference: Any = None,
    baseline_statistics: Mapping[str, Any] | None = None,
    baseline_source: str | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    alpha: float = ALPHA,
    numeric_threshold: float = NUMERIC_THRESHOLD,
    categorical_threshold: float = CATEGORICAL_THRESHOLD,
    exact_rows: int = EXACT_ROWS,
    sketch_k: int = SKETCH_K,
    max_levels: int = MAX_LEVELS,
    multivariate: bool = True,
    classifier_sample: int = CLASSIFIER_SAMPLE,
    auc_threshold: float = AUC_THRESHOLD,
    seed: int = 0,
) -> Drift:
    """Compare ``data`` (a path or a frame) with ``reference`` (raw data) or a baseline check's ``statistics.json``
    (its drift block, :data:`assay.checks.sketches.BLOCK`). Summaries are built on each side's engine."""
    if (reference is None) == (baseline_statistics is None):
        raise InvalidInput("the drift check compares with a reference: give either the reference data "
                           "(--reference) or a baseline (--baseline), not both")  # fmt: skip
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha must lie in (0, 1), not {alpha}")
    frame = open_frame(data)
    kinds = column_kinds(frame, columns)
    unknown = [c for c in exclude if c not in frame.schema]
    if unknown:
        frame.require_columns(*unknown)
    kinds = {n: k for n, k in kinds.items() if n not in set(exclude)}
    notes: list[str] = []
    ref_frame = None
    if reference is not None:
        ref_frame = open_frame(reference)
        missing = [n for n in kinds if n not in ref_frame.schema]
        if missing and columns is not None:
            raise InvalidInput(f"column {missing[0]!r} is not in the reference ({ref_frame.source})")
        ref_kinds = column_kinds(ref_frame, [n for n in kinds if n in ref_frame.schema])
        base = summarise(ref_frame, list(ref_kinds), k=sketch_k, max_levels=max_levels, keep_values=exact_rows)
        ref_source, ref_rows = ref_frame.source, base.rows
    else:
        assert baseline_statistics is not None
        block = baseline_statistics.get(BLOCK)
        if block is None:
            raise InvalidInput("the baseline's statistics.json has no drift summaries (no "
                               f"'{BLOCK}' block): rebuild it with `assay check baseline`")  # fmt: skip
        base = Summary.from_dict(block)
        ref_source, ref_rows = baseline_source or "baseline", base.rows
        missing = [n for n in kinds if n not in base.columns]
        if missing and columns is not None:
            raise InvalidInput(f"column {missing[0]!r} is not in the baseline's drift summaries")
    if missing:
        notes.append(f"{len(missing)} columns of the data are not in the reference and were not compared: "
                     + ", ".join(missing[:20]))  # fmt: skip
    kinds = {n: k for n, k in kinds.items() if n in base.columns}
    if not kinds:
        raise InvalidInput("no column of the data is also in the reference: there is nothing to compare")
    current = summarise(frame, list(kinds), k=sketch_k, max_levels=max_levels, keep_values=exact_rows)
    if base.rows == 0 or current.rows == 0:
        notes.append(f"the {'reference' if base.rows == 0 else 'current data'} has no rows")
    results = compare(base, current, alpha=alpha, numeric_threshold=numeric_threshold,
                      categorical_threshold=categorical_threshold)  # fmt: skip
    found = None
    if multivariate:
        ref_rows_sample: dict[str, list[Any]] | None = None
        if ref_frame is not None:
            ref_rows_sample, _, _ = sample_rows(ref_frame, list(kinds), size=classifier_sample, seed=seed)
        else:
            ref_rows_sample = _sample_of(baseline_statistics.get(BLOCK) if baseline_statistics else None)
        if ref_rows_sample is None:
            notes.append("no multivariate check: the baseline keeps no reference rows (build it with "
                         "--reference-sample N, or give --reference)")  # fmt: skip
        else:
            cur_rows, _, _ = sample_rows(frame, list(kinds), size=classifier_sample, seed=seed + 1)
            found = domain_classifier(ref_rows_sample, cur_rows, kinds, seed=seed, auc_threshold=auc_threshold)
    spec = {
        "alpha": alpha,
        "numeric_threshold": numeric_threshold,
        "categorical_threshold": categorical_threshold,
        "exact_rows": exact_rows,
        "sketch_k": sketch_k,
        "max_levels": max_levels,
        "multivariate": multivariate,
        "classifier_sample": classifier_sample,
        "auc_threshold": auc_threshold,
        "seed": seed,
        "rule": "drift = p-value (Holm-adjusted over the columns) < alpha AND effect >= threshold (numeric: KS test, "
        "normed Wasserstein effect; categorical: two-sample chi-square test, L-infinity effect)",
    }
    return Drift(
        data=data_info(frame, rows=current.rows), reference_source=ref_source, reference_rows=ref_rows,
        columns=tuple(results), multivariate=found, spec=spec, created_at=now(), notes=tuple(notes),
    )  # fmt: skip


def outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """How a monitor reads a drift document: ``baseline_drift_check`` per drifted column (and
    ``multivariate_drift_check`` for the domain classifier), the metrics per column."""
    result = document.get("result") or {}
    violations: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    for column in result.get("columns") or []:
        name = str(column["name"])
        if column.get("status") == "fail":
            violations.append({"check_type": "baseline_drift_check", "subject": name,
                               "description": column.get("sentence", ""), "value": column.get("effect"),
                               "threshold": column.get("threshold")})  # fmt: skip
        effect = column.get("effect_name")
        for metric, value in (column.get("metrics") or {}).items():
            if value is not None:
                judged = column.get("threshold") if metric == effect else None  # the effect decides, with its threshold
                metrics.append({"name": metric, "subject": name, "value": float(value), "threshold": judged})
    found = result.get("multivariate")
    if isinstance(found, Mapping) and found.get("auc") is not None:
        metrics.append({"name": "domain_auc", "subject": "", "value": float(found["auc"]),
                        "threshold": found.get("threshold")})  # fmt: skip
        if found.get("status") == "fail":
            violations.append({"check_type": "multivariate_drift_check", "subject": "domain classifier",
                               "description": found.get("sentence", ""), "value": found["interval"][0],
                               "threshold": found.get("threshold")})  # fmt: skip
    status = document.get("status")
    return {"status": status if status in ("pass", "fail", "warn") else "warn", "violations": violations,
            "metrics": metrics}  # fmt: skip
