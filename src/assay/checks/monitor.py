"""Model Monitor's data-quality constraints: suggest ``constraints.json`` from a baseline profile, and validate
another dataset against it into ``constraint_violations.json`` with Model Monitor's check types.

Checks, each per feature of the constraints (thresholds from ``monitoring_config``, overridden per feature by
``monitoringConfigOverrides``):

- ``missing_column_check``: a baseline feature is not in the data; ``extra_column_check``: a column of the data is
  not in the baseline.
- ``data_type_check``: the share of present values that do not fit the baseline's type (a fraction in an
  Integral feature, text that is not a number in a numeric one) is above ``datatype_check_threshold``.
- ``completeness_check``: the share of present values is below the feature's ``completeness``, by more than the
  window's sampling explains (the upper end of its one-sided 99.9 % Wilson interval is below it too).
- ``categorical_values_check``: the share of present values outside ``string_constraints.domains`` is above
  ``domain_content_threshold``.
- ``baseline_drift_check``: the distance between the baseline's and the data's distributions is above
  ``comparison_threshold`` (numeric: the largest difference between the two CDFs that the two sketches prove,
  ``Simple``, or that minus the Kolmogorov-Smirnov critical value 1.8·sqrt((n+m)/(n·m)), ``Robust``, as Deequ
  computes it); categorical (``categorical_comparison_threshold``): the largest difference between the share of
  a value in the two (``LInfinity``), or a chi-square test whose p-value is below the threshold (``ChiSquared``).
  Above the threshold is not enough: the difference must also be beyond sampling noise at ``DRIFT_ALPHA``
  divided by the number of features compared (the KS critical value; a chi-square test for text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final

import narwhals as nw
import numpy as np

from assay.checks._common import (
    DataInfo,
    as_number,
    check_seed,
    clean,
    column_kind,
    envelope,
    json_float,
    now,
    sample_rows,
)
from assay.checks.sketches import BLOCK, SKETCH_K, summarise
from assay.checks.statistics import MAX_CATEGORIES, Profile, Sketch, profile, sketch_of
from assay.errors import InvalidInput
from assay.frames import Frame
from assay.frames import open as open_frame

__all__ = [
    "CHECK_TYPES",
    "DEFAULT_MONITORING_CONFIG",
    "Baseline",
    "Validation",
    "Violation",
    "imported_baseline",
    "suggest_baseline",
    "suggest_constraints",
    "validate",
]

CHECK_TYPES: Final = (
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
)
DEFAULT_MONITORING_CONFIG: Final[dict[str, Any]] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 0.1,
    "domain_content_threshold": 0.1,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Simple",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}
MAX_DOMAIN: Final = 50  # a String feature with at most this many distinct values gets its domain as a constraint
C_ALPHA: Final = 1.8  # Deequ's default KS critical coefficient (alpha 0.003) for linf_robust
#: the chance that a window drawn from the baseline's population gets any baseline_drift_check violation: each
#: feature's distance must also be beyond sampling noise at DRIFT_ALPHA / (features compared) (Bonferroni)
DRIFT_ALPHA: Final = 0.003
_Z: Final = 1.96
#: the chance that a window of the baseline's population fails one feature's completeness_check (one-sided)
_WINDOW_ALPHA: Final = 0.001
_WINDOW_Z: Final = 3.090232306167813  # scipy.stats.norm.ppf(1 - _WINDOW_ALPHA)
_OTHER: Final = "\x00other"
_INTEGRAL_TEXT = r"^\s*[-+]?[0-9]+\s*$"
_FRACTIONAL_TEXT = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


def suggest_constraints(
    baseline: Profile | Mapping[str, Any],
    *,
    max_domain: int = MAX_DOMAIN,
    monitoring_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Suggest ``constraints.json`` (version 0) from a baseline profile (or its ``statistics.json``).

    Per feature: its ``inferred_type``; ``completeness``, the lower end of the 95% interval of the observed share
    of present values, rounded down to 4 places (1.0 for a complete feature), so that a sample of the same
    population passes; ``num_constraints.is_non_negative`` for numbers; and ``string_constraints.domains``, the
    observed values, for text with at most ``max_domain`` distinct values. ``monitoring_config`` has Model
    Monitor's documented defaults, updated by ``monitoring_config``."""
    statistics = baseline.statistics if isinstance(baseline, Profile) else baseline
    features = []
    for i, feature in enumerate(_features(statistics, "statistics.json")):
        where = f"statistics.json features[{i}]"
        stats = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
        present, missing = _common(stats, where)
        out: dict[str, Any] = {"name": feature["name"], "inferred_type": feature["inferred_type"]}
        out["completeness"] = _completeness_bound(present, present + missing)
        if "numerical_statistics" in feature:
            low = stats.get("min")
            out["num_constraints"] = {"is_non_negative": bool(low is not None and low >= 0)}
        elif "string_statistics" in feature:
            buckets = ((stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
            distinct = stats.get("distinct_count", len(buckets))
            if feature["inferred_type"] == "String" and 0 < distinct <= max_domain and len(buckets) >= distinct:
                out["string_constraints"] = {"domains": sorted(str(b["value"]) for b in buckets)}
        features.append(out)
    config = _merge(DEFAULT_MONITORING_CONFIG, monitoring_config or {})
    _check_config(config, "monitoring_config")
    return {"version": 0, "features": features, "monitoring_config": config}


@dataclass(frozen=True)
class Baseline:
    """A baseline: the reference dataset's profile (``statistics.json``) and the constraints suggested from it
    (``constraints.json``)."""

    profile: Profile
    constraints: dict[str, Any]

    @property
    def statistics(self) -> dict[str, Any]:
        return self.profile.statistics

    def to_dict(self) -> dict[str, Any]:
        document = self.profile.to_dict()
        by_name = {f["name"]: f for f in self.constraints["features"]}
        for row in document["result"]["features"]:
            constraint = by_name.get(row["name"], {})
            row["completeness_constraint"] = constraint.get("completeness")
            if "string_constraints" in constraint:
                row["domain_size"] = len(constraint["string_constraints"]["domains"])
            if "num_constraints" in constraint:
                row["is_non_negative"] = constraint["num_constraints"]["is_non_negative"]
        document["spec"]["monitoring_config"] = self.constraints["monitoring_config"]
        return document


def suggest_baseline(
    data: Any,
    *,
    max_categories: int = MAX_CATEGORIES,
    max_domain: int = MAX_DOMAIN,
    monitoring_config: Mapping[str, Any] | None = None,
    sketch_k: int = SKETCH_K,
    reference_sample: int = 0,
    seed: int = 0,
) -> Baseline:
    """Profile ``data`` on its engine and suggest constraints from the profile (:func:`suggest_constraints`).

    ``statistics.json`` also gets the drift check's baseline beside Model Monitor's fields (which stay as they are):
    under ``assay_drift``, every column's mergeable summary (KLL sketch or counts, :mod:`assay.checks.sketches`)
    and, with ``reference_sample``, that many reference rows drawn at random (for the domain classifier)."""
    frame = open_frame(data)
    base = profile(frame, max_categories=max_categories)
    summary = summarise(frame, k=sketch_k, max_levels=max_categories)
    block = summary.to_dict()
    if reference_sample:
        check_seed(seed)
        rows, _, sample = sample_rows(frame, list(summary.columns), size=reference_sample, seed=seed)
        block["sample"] = {**sample.to_dict(), "rows": {n: [_plain(v) for v in vs] for n, vs in rows.items()}}
    base = replace(base, statistics={**base.statistics, BLOCK: block})
    return Baseline(base, suggest_constraints(base, max_domain=max_domain, monitoring_config=monitoring_config))


def imported_baseline(constraints: Mapping[str, Any], statistics: Mapping[str, Any], source: str) -> Baseline:
    """A baseline made elsewhere (SageMaker Model Monitor's baselining job, or Assay's own files): its
    ``statistics.json`` and ``constraints.json`` as they are, checked to be readable as Assay reads them (every
    feature named and typed, numeric distributions readable, the monitoring config valid)."""
    features = _features(statistics, "statistics.json")
    for i, feature in enumerate(features):
        where = f"statistics.json features[{i}]"
        if not isinstance(feature.get("name"), str) or not feature["name"]:
            raise InvalidInput(f"{where}: each feature needs a name")
        numerical, text = feature.get("numerical_statistics"), feature.get("string_statistics")
        stats = numerical or text
        if not isinstance(stats, Mapping):
            raise InvalidInput(f"{where} ({feature['name']}): needs numerical_statistics or string_statistics")
        _common(stats, f"{where} ({feature['name']})")
        if isinstance(numerical, Mapping):
            sketch_of(numerical, f"{where} ({feature['name']})")
    _features(constraints, "constraints.json")
    config = _merge(DEFAULT_MONITORING_CONFIG, constraints.get("monitoring_config") or {})
    _check_config(config, "constraints.json monitoring_config")
    dataset = statistics.get("dataset")
    rows = dataset.get("item_count") if isinstance(dataset, Mapping) else None
    if not isinstance(dataset, Mapping) or not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise InvalidInput("statistics.json: dataset.item_count must be the number of rows profiled")
    info = DataInfo(source=source, engine="imported", rows=rows, columns=len(features))
    kept = {"version": statistics.get("version", 0), "dataset": dict(dataset), "features": [dict(f) for f in features]}
    profiled = Profile(data=info, statistics=kept, max_categories=MAX_CATEGORIES, created_at=now())
    return Baseline(profiled, {**constraints, "monitoring_config": config})


def _plain(value: Any) -> Any:
    """A sampled value as JSON holds it: numbers as numbers (NaN as null), anything else as text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else value
    number = as_number(value) if isinstance(value, Decimal) else None
    return number if number is not None else str(value)


def _completeness_bound(present: int, total: int) -> float:
    if total == 0:
        return 0.0
    p = present / total
    if p >= 1.0:
        return 1.0
    low = max(0.0, p - _Z * math.sqrt(p * (1 - p) / total))
    return math.floor(low * 10_000) / 10_000


def _completeness_upper(present: int, total: int) -> float:
    """The upper end of the one-sided Wilson score interval (``_WINDOW_ALPHA``) of the data's share of present
    values: a window fails ``completeness_check`` only when even this is below the constraint, so that a window
    drawn from the baseline's population passes whatever its size (a 16,281-row window of adult.test shows
    94.09 % against a bound of 94.11 % by sampling alone)."""
    if total == 0:
        return 0.0
    p = present / total
    z = _WINDOW_Z
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return min(1.0, centre + half)


@dataclass(frozen=True)
class Violation:
    """One entry of ``constraint_violations.json``."""

    feature_name: str
    constraint_check_type: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


@dataclass(frozen=True)
class Validation:
    """The result of validating a dataset against a baseline: the violations, what was measured per feature, and
    the dataset's own profile (``current.statistics`` is its ``statistics.json``)."""

    data: DataInfo
    current: Profile
    violations: tuple[Violation, ...]
    measurements: tuple[dict[str, Any], ...]
    monitoring_config: dict[str, Any]
    created_at: str
    baseline_source: str | None = None
    drift_evaluated: bool = True  # False without the baseline's statistics.json: no baseline_drift_check

    @property
    def status(self) -> str:
        """Model Monitor's execution status."""
        return "CompletedWithViolations" if self.violations else "Completed"

    def constraint_violations(self) -> dict[str, Any]:
        """The ``constraint_violations.json`` document."""
        return {"violations": [v.to_dict() for v in self.violations]}

    def to_dict(self) -> dict[str, Any]:
        counts = {kind: sum(v.constraint_check_type == kind for v in self.violations) for kind in CHECK_TYPES}
        return envelope(
            "validate",
            data=self.data,
            spec={
                "baseline": self.baseline_source,
                "baseline_statistics": self.drift_evaluated,
                "monitoring_config": self.monitoring_config,
            },
            passed=not self.violations,
            summary=f"{len(self.violations)} violations ({self.status})",
            result={
                "status": self.status,
                "violation_counts": counts,
                "violations": [v.to_dict() for v in self.violations],
                "features": list(self.measurements),
            },
            created_at=self.created_at,
        )


def validate(
    data: Any,
    constraints: Mapping[str, Any],
    baseline_statistics: Mapping[str, Any] | None = None,
    *,
    max_categories: int = MAX_CATEGORIES,
    baseline_source: str | None = None,
) -> Validation:
    """Validate ``data`` (a path or a frame) against ``constraints`` (``constraints.json``) and, for the drift
    check, the baseline's ``statistics.json``. Every aggregation runs on the data's engine."""
    frame = open_frame(data)
    features = _features(constraints, "constraints.json")
    config = _merge(DEFAULT_MONITORING_CONFIG, constraints.get("monitoring_config") or {})
    _check_config(config, "constraints.json monitoring_config")
    baseline = {f["name"]: f for f in _features(baseline_statistics, "statistics.json")} if baseline_statistics else {}
    current = profile(frame, max_categories=max_categories)
    stats = {f["name"]: f for f in current.features}
    names = [str(f["name"]) for f in features]
    evaluate = config["evaluate_constraints"] == "Enabled"
    violations: list[Violation] = []
    measurements: list[dict[str, Any]] = []
    if evaluate:
        for name in names:
            if name not in frame.schema:
                violations.append(
                    Violation(name, "missing_column_check", f"Feature {name!r} of the baseline is not in the data.")
                )
        for name in frame.columns:
            if name not in names:
                violations.append(
                    Violation(name, "extra_column_check", f"Column {name!r} of the data is not in the baseline.")
                )
    shares = _shares(frame, [f for f in features if f["name"] in frame.schema])
    alpha = DRIFT_ALPHA / max(1, sum(str(f["name"]) in frame.schema and str(f["name"]) in baseline for f in features))
    for i, feature in enumerate(features):
        name = str(feature["name"])
        if name not in frame.schema:
            continue
        where = f"constraints.json features[{i}] ({name})"
        cfg = _merge(config, feature.get("monitoringConfigOverrides") or {})
        _check_config(cfg, where + " monitoringConfigOverrides")
        measured, found = _check_feature(
            feature, cfg, stats[name], baseline.get(name), shares.get(name, {}), where, alpha
        )
        measurements.append(measured)
        if evaluate:
            violations += found
    return Validation(
        data=current.data,
        current=current,
        violations=tuple(violations),
        measurements=tuple(measurements),
        monitoring_config=config,
        created_at=now(),
        baseline_source=baseline_source,
        drift_evaluated=bool(baseline),
    )


def _check_feature(
    feature: Mapping[str, Any],
    cfg: Mapping[str, Any],
    current: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    shares: Mapping[str, float | None],
    where: str,
    alpha: float = DRIFT_ALPHA,
) -> tuple[dict[str, Any], list[Violation]]:
    name = str(feature["name"])
    expected = str(feature.get("inferred_type", "Unknown"))
    found: list[Violation] = []
    stats = current.get("numerical_statistics") or current.get("string_statistics") or {}
    present, missing = _common(stats, f"profile of {name}")
    completeness = present / (present + missing) if present + missing else 0.0
    measured: dict[str, Any] = {
        "name": name,
        "inferred_type": current["inferred_type"],
        "baseline_inferred_type": expected,
        "completeness": json_float(completeness),
    }
    mismatch = shares.get("type_mismatch")
    if mismatch is not None:
        threshold = float(cfg["datatype_check_threshold"])
        measured["type_mismatch_share"] = json_float(mismatch)
        if mismatch > threshold:
            found.append(
                Violation(
                    name,
                    "data_type_check",
                    f"Data type match requirement is not met. Expected data type: {expected}, expected match: "
                    f"at least {1 - threshold:.1%}. Observed: only {1 - mismatch:.1%} of the values are {expected}.",
                )
            )
    if "completeness" in feature:
        bound = _float(feature["completeness"], where + " completeness")
        measured["completeness_constraint"] = bound
        upper = _completeness_upper(present, present + missing)
        measured["completeness_upper"] = json_float(upper)
        if completeness < bound and upper < bound:
            found.append(
                Violation(
                    name,
                    "completeness_check",
                    f"Data completeness requirement is not met. Expected completeness: at least {bound:.2%}. "
                    f"Observed completeness: {completeness:.2%} ({missing} of {present + missing} values missing; "
                    f"at most {upper:.2%} at {1 - _WINDOW_ALPHA:.1%} confidence).",
                )
            )
    unknown = shares.get("unknown")
    if unknown is not None:
        threshold = float(cfg["domain_content_threshold"])
        measured["unknown_value_share"] = json_float(unknown)
        if unknown > threshold:
            found.append(
                Violation(
                    name,
                    "categorical_values_check",
                    f"Categorical values requirement is not met: {unknown:.2%} of the present values are not in "
                    f"the baseline's domain of {len(feature['string_constraints']['domains'])} values "
                    f"(threshold {threshold:.2%}).",
                )
            )
    drift = _drift(name, cfg, current, baseline, where, alpha) if baseline is not None else None
    if drift is not None:
        measured["drift"] = drift
        if drift["violation"]:
            found.append(Violation(name, "baseline_drift_check", drift.pop("description")))
        else:
            drift.pop("description")
    return measured, found


def _drift(
    name: str, cfg: Mapping[str, Any], current: Mapping[str, Any], baseline: Mapping[str, Any], where: str, alpha: float
) -> dict[str, Any] | None:
    """The drift measurement of one feature. A violation needs the distance above the threshold (Model Monitor's
    rule) and the difference beyond sampling noise at ``alpha``: the two-sample Kolmogorov-Smirnov critical
    value for numbers, a chi-square test of the value counts for text (``ChiSquared`` is that test already)."""
    dist = cfg["distribution_constraints"]
    if dist.get("perform_comparison", "Enabled") != "Enabled":
        return None
    if "numerical_statistics" in baseline and "numerical_statistics" in current:
        before = sketch_of(baseline["numerical_statistics"], f"statistics.json feature {name!r}")
        after = sketch_of(current["numerical_statistics"], f"profile of {name!r}")
        if before is None or after is None:
            return None
        simple = _linf(before, after)
        method = _method(str(dist.get("comparison_method", "Simple")), where)
        n, m = before.weight, after.weight
        scale = math.sqrt((n + m) / (n * m))
        distance = simple if method == "Simple" else max(0.0, simple - C_ALPHA * scale)
        critical = math.sqrt(-math.log(alpha / 2) / 2) * scale  # the KS critical value at alpha (Deequ's c(alpha))
        threshold = float(dist["comparison_threshold"])
        violation = distance > threshold and simple > critical
        description = (
            f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold} "
            f"(largest difference between the two cumulative distributions, {method}; beyond the two-sample "
            f"Kolmogorov-Smirnov critical value {critical:.4f} for {n:.0f} and {m:.0f} values at alpha {alpha:.2g})."
        )
        return {
            "method": f"linf_{method.lower()}",
            "distance": json_float(distance),
            "threshold": threshold,
            "critical_value": json_float(critical),
            "alpha": json_float(alpha, 12),
            "violation": violation,
            "description": description,
        }
    if "string_statistics" in baseline and "string_statistics" in current:
        before_counts, before_rest = _categories(baseline["string_statistics"])
        after_counts, after_rest = _categories(current["string_statistics"])
        if not before_counts or not after_counts:
            return None
        if before_rest or after_rest:
            # a truncated list of values: compare the values both list, the rest pooled
            shared = set(before_counts) & set(after_counts)
            before_rest += sum(n for v, n in before_counts.items() if v not in shared)
            after_rest += sum(n for v, n in after_counts.items() if v not in shared)
            before_counts = {v: before_counts[v] for v in shared}
            after_counts = {v: after_counts[v] for v in shared}
        total_b = sum(before_counts.values()) + before_rest
        total_a = sum(after_counts.values()) + after_rest
        threshold = float(dist.get("categorical_comparison_threshold", dist["comparison_threshold"]))
        method = str(dist.get("categorical_drift_method", "LInfinity"))
        pooled_b, pooled_a = before_counts, after_counts
        if before_rest or after_rest:
            pooled_b, pooled_a = {**before_counts, _OTHER: before_rest}, {**after_counts, _OTHER: after_rest}
        if method == "LInfinity":
            values = set(before_counts) | set(after_counts)
            distance = max(
                (abs(before_counts.get(v, 0) / total_b - after_counts.get(v, 0) / total_a) for v in values), default=0.0
            )
            p_value = _chi_squared(pooled_b, pooled_a) if distance > threshold else None
            significant = p_value is not None and p_value < alpha
            return {
                "method": "LInfinity",
                "distance": json_float(distance),
                "threshold": threshold,
                "p_value": None if p_value is None else json_float(p_value, 12),
                "alpha": json_float(alpha, 12),
                "violation": distance > threshold and significant,
                "description": f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold} "
                "(largest difference between the share of a value in the baseline and in the data, LInfinity; "
                f"the chi-square test of the value counts gives p-value {p_value or 0:.4g}, below alpha {alpha:.2g}).",
            }
        if method == "ChiSquared":
            p_value = _chi_squared(pooled_b, pooled_a)
            if p_value is None:
                return None
            return {
                "method": "ChiSquared",
                "p_value": json_float(p_value, 12),
                "threshold": threshold,
                "violation": p_value < threshold,
                "description": f"Baseline drift: the chi-square test of the value counts gives p-value "
                f"{p_value:.4g}, below the threshold {threshold}.",
            }
        raise InvalidInput(f"{where}: categorical_drift_method must be LInfinity or ChiSquared, not {method!r}")
    return None


def _linf(before: Sketch, after: Sketch) -> float:
    """The largest difference between the two CDFs that the two summaries prove: at every item of either, the
    distance between the intervals each summary leaves for its CDF (:meth:`Sketch.cdf` to
    :meth:`Sketch.cdf_ceiling`). Reading each CDF as a step at its own items instead (Deequ's reading of two KLL
    sketches) counts a whole item's weight as a difference wherever the two sides' items fall apart: with
    equal-width bins on a heavy-tailed column one bin holds a large share of the rows, and two random halves of
    15,000 bank rows read 0.1 apart on ``balance`` where the exact KS statistic is about 0.01."""
    points = np.union1d(before.items, after.items)
    low_b, high_b = before.cdf(points), before.cdf_ceiling(points)
    low_a, high_a = after.cdf(points), after.cdf_ceiling(points)
    return max(0.0, float(np.max(low_b - high_a)), float(np.max(low_a - high_b)))


def _method(text: str, where: str) -> str:
    methods = {"simple": "Simple", "linf_simple": "Simple", "robust": "Robust", "linf_robust": "Robust"}
    if text.lower() not in methods:
        raise InvalidInput(
            f"{where}: comparison_method must be Simple or Robust (linf_simple/linf_robust), not {text!r}"
        )
    return methods[text.lower()]


def _categories(stats: Mapping[str, Any]) -> tuple[dict[str, float], float]:
    """Counts by value, and the count of present values beyond the recorded buckets (a truncated list)."""
    buckets = ((stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    counts = {str(b["value"]): float(b["count"]) for b in buckets}
    present = float((stats.get("common") or {}).get("num_present", sum(counts.values())))
    return counts, max(0.0, present - sum(counts.values()))


def _chi_squared(before: Mapping[str, float], after: Mapping[str, float]) -> float | None:
    """p-value of the chi-square test of homogeneity of the two value-count vectors; values expected fewer than
    5 times are pooled (Yates-Moore-McCabe); None with fewer than two categories left."""
    from scipy.stats import chi2_contingency

    values = sorted(set(before) | set(after))
    table = np.array([[before.get(v, 0.0) for v in values], [after.get(v, 0.0) for v in values]])
    expected = table.sum(axis=0) * table.sum(axis=1, keepdims=True) / table.sum()
    small = (expected < 5).any(axis=0)
    if small.any():
        table = np.column_stack([table[:, ~small], table[:, small].sum(axis=1)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return None
    return float(chi2_contingency(table, correction=False).pvalue)


def _shares(frame: Frame, features: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """One aggregation pass: for each feature, the share of present values that do not fit the baseline's type
    and the share outside its domain."""
    aggregates: list[nw.Expr] = []
    plan: list[tuple[str, str, str]] = []
    for i, feature in enumerate(features):
        name = str(feature["name"])
        dtype = frame.schema[name]
        kind = column_kind(dtype)
        expected = str(feature.get("inferred_type", "Unknown"))
        value = clean(name, dtype)
        aggregates.append(value.count().alias(f"p{i}"))
        bad: nw.Expr | None = None
        if expected == "Integral" and kind == "Fractional":
            bad = (value != value.floor()).fill_null(value=False)
        elif expected == "Integral" and kind == "String":
            bad = ~value.str.contains(_INTEGRAL_TEXT).fill_null(value=True)
        elif expected == "Fractional" and kind == "String":
            bad = ~value.str.contains(_FRACTIONAL_TEXT).fill_null(value=True)
        elif expected in ("Integral", "Fractional", "String") and kind == "Unknown":
            bad = ~nw.col(name).is_null()
        if bad is not None:
            aggregates.append(bad.cast(nw.Int64).sum().alias(f"t{i}"))
            plan.append((name, "type_mismatch", f"t{i}"))
        domain = (feature.get("string_constraints") or {}).get("domains")
        if domain is not None:
            if not isinstance(domain, list) or not all(isinstance(v, str | int | float) for v in domain):
                raise InvalidInput(f"constraints.json feature {name!r}: string_constraints.domains must be a list")
            text = value if kind == "String" else value.cast(nw.String)
            aggregates.append(text.is_in([str(v) for v in domain]).cast(nw.Int64).sum().alias(f"d{i}"))
            plan.append((name, "unknown", f"d{i}"))
    if not aggregates:
        return {}
    row = frame.lazy.select(*aggregates).collect().to_dict(as_series=False)
    out: dict[str, dict[str, float | None]] = {}
    index = {str(f["name"]): i for i, f in enumerate(features)}
    for name, key, alias in plan:
        present = int(row[f"p{index[name]}"][0])
        count = as_number(row[alias][0]) or 0.0
        share = (count if key == "type_mismatch" else present - count) / present if present else 0.0
        out.setdefault(name, {})[key] = share
    return out


def _features(document: Mapping[str, Any] | None, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping) or not isinstance(document.get("features"), list):
        raise InvalidInput(f"{where}: expected an object with a 'features' list")
    for i, feature in enumerate(document["features"]):
        if not isinstance(feature, Mapping) or not isinstance(feature.get("name"), str):
            raise InvalidInput(f"{where}: features[{i}] needs a 'name'")
        if feature.get("inferred_type", "Unknown") not in ("Integral", "Fractional", "String", "Unknown"):
            raise InvalidInput(
                f"{where}: features[{i}] ({feature['name']}): inferred_type must be Integral, Fractional, String "
                f"or Unknown, not {feature.get('inferred_type')!r}"
            )
    return list(document["features"])


def _common(stats: Mapping[str, Any], where: str) -> tuple[int, int]:
    common = stats.get("common")
    if not isinstance(common, Mapping):
        raise InvalidInput(f"{where}: no 'common' block with num_present and num_missing")
    return int(common.get("num_present", 0)), int(common.get("num_missing", 0))


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: expected a number, found {value!r}")
    return float(value)


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``, nested objects merged key by key."""
    out = {key: dict(value) if isinstance(value, Mapping) else value for key, value in base.items()}
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_config(config: Mapping[str, Any], where: str) -> None:
    for key in ("datatype_check_threshold", "domain_content_threshold"):
        _float(config.get(key), f"{where} {key}")
    dist = config.get("distribution_constraints")
    if not isinstance(dist, Mapping):
        raise InvalidInput(f"{where}: distribution_constraints must be an object")
    _float(dist.get("comparison_threshold"), f"{where} comparison_threshold")
    if "categorical_comparison_threshold" in dist:
        _float(dist["categorical_comparison_threshold"], f"{where} categorical_comparison_threshold")
    _method(str(dist.get("comparison_method", "Simple")), where)
    for key in ("evaluate_constraints", "emit_metrics"):
        if config.get(key, "Enabled") not in ("Enabled", "Disabled"):
            raise InvalidInput(f"{where}: {key} must be Enabled or Disabled, not {config.get(key)!r}")
