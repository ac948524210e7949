"""Model quality of a window of captured data (Model Monitor's model-quality monitor), and the label-free estimate.

With labels (joined to the captured records on their inference id before this runs: the input is a frame with a
label column, null where the label has not arrived, and a predicted-label and/or a score column):

* the performance metrics of the bias engine (:func:`assay.metrics.performance.rates` on the confusion counts,
  :func:`~assay.metrics.performance.score_metrics` for ROC AUC) in Model Monitor's ``statistics.json`` shapes
  (``binary_classification_metrics`` / ``regression_metrics``: ``{"value", "standard_deviation"}``), each with a
  bootstrap interval (the multinomial bootstrap of :mod:`assay.metrics.bootstrap` on the count cells);
* run without a baseline, the window is the baseline: it suggests constraints in Model Monitor's
  ``constraints.json`` shape, ``threshold = value - tolerance`` (``LessThanThreshold``) for accuracy, precision,
  recall, f1, auc and r2, ``threshold = value * (1 + tolerance)`` (``GreaterThanThreshold``) for mae and rmse;
  with a score it also fits the CBPE calibration (isotonic regression of the label on the score);
* run against a baseline (a recorded model-quality document), each constrained metric is judged: a violation
  when the whole interval lies beyond the threshold (so a small window does not alarm on noise); without an
  interval (``bootstrap = 0``), the value. Too few labelled rows (``min_rows``): status ``warn``, not judged.

Without labels (CBPE, as NannyML's confidence-based performance estimation): the window's scores are calibrated
with the baseline's isotonic map; the expected confusion matrix is the sum of the calibrated probabilities over
the predicted positives and negatives, and accuracy, precision, recall, f1 follow from it. The document keeps it
apart (``estimated_binary_classification_metrics``, ``"estimate": true``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.documents import Note, head, now
from assay.errors import InvalidInput
from assay.frames import Frame, coerce_values
from assay.frames import open as open_frame
from assay.frames.roles import is_numeric
from assay.metrics.bootstrap import interval, resample
from assay.metrics.performance import _auc, rates, score_metrics
from assay.metrics.results import json_number

__all__ = ["CONSTRAINED", "SCHEMA", "QualityResult", "cbpe", "model_quality", "ndarray_of", "quality_outcome"]

SCHEMA = "assay.model-quality"
Problem = Literal["binary", "regression"]
Array = NDArray[np.float64]

#: The metrics a baseline suggests constraints for, with the direction of a violation.
CONSTRAINED: dict[str, dict[str, str]] = {
    "binary": dict.fromkeys(("accuracy", "precision", "recall", "f1", "auc"), "LessThanThreshold"),
    "regression": {"mae": "GreaterThanThreshold", "rmse": "GreaterThanThreshold", "r2": "LessThanThreshold"},
}
_SECTION = {"binary": "binary_classification_metrics", "regression": "regression_metrics"}
#: Model Monitor's names -> the bias engine's names (metrics.performance.rates)
_RATES = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "f1",
          "true_positive_rate": "recall", "false_positive_rate": "fpr", "false_negative_rate": "fnr"}  # fmt: skip
#: computed here from the same counts (not in the bias engine's rates)
_OWN = ("true_negative_rate", "f0_5", "f2", "accuracy_best_constant_classifier", "precision_best_constant_classifier",
        "recall_best_constant_classifier", "f1_best_constant_classifier")  # fmt: skip
_CURVE_POINTS = 101


@dataclass(frozen=True)
class QualityResult:
    """A model-quality document: :meth:`to_dict` is ``model_quality.json``; ``statistics`` / ``constraints`` /
    ``violations`` are Model Monitor's ``statistics.json`` / ``constraints.json`` / ``constraint_violations.json``."""

    body: dict[str, Any]
    created_at: str = field(default_factory=now)

    @property
    def status(self) -> str:
        return str(self.body["status"])

    @property
    def statistics(self) -> dict[str, Any]:
        return dict(self.body["statistics"])

    @property
    def constraints(self) -> dict[str, Any] | None:
        return self.body.get("constraints")

    def constraint_violations(self) -> dict[str, Any]:
        return {"violations": list(self.body["violations"])}

    def to_dict(self) -> dict[str, Any]:
        return {**head(SCHEMA, created_at=self.created_at), **self.body}


def ndarray_of(frame: Frame, columns: Sequence[str]) -> dict[str, Any]:
    """The ``columns`` of ``frame`` as numpy arrays (a window's label, prediction and score: three columns)."""
    table = frame.lazy.select([nw.col(c) for c in dict.fromkeys(columns)]).collect()
    return {c: table[c].to_numpy() for c in dict.fromkeys(columns)}


def _missing(values: NDArray[Any]) -> NDArray[np.bool_]:
    if values.dtype.kind in "fc":
        nan: NDArray[np.bool_] = np.isnan(values)
        return nan
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    return np.asarray([v is None or (isinstance(v, float) and math.isnan(v)) for v in values], dtype=bool)


def _positive(
    values: NDArray[Any], dtype: Any, column: str, positive: tuple[Any, ...] | None, threshold: float | None
) -> NDArray[np.bool_]:
    """Which values are positive: above the threshold, among the positive values, or 1/true."""
    if threshold is not None:
        if not is_numeric(dtype):
            raise InvalidInput(f"column {column!r} is {dtype}; a threshold needs numbers")
        above: NDArray[np.bool_] = np.asarray(values, dtype=np.float64) > threshold
        return above
    if positive is not None:
        wanted = set(coerce_values(positive, dtype, column))
        return np.asarray([v in wanted for v in values], dtype=bool)
    present = {v for v, m in zip(values.tolist(), _missing(values).tolist(), strict=True) if not m}
    if present <= {0, 1}:  # also True and False
        return np.asarray([v == 1 for v in values.tolist()], dtype=bool)
    shown = ", ".join(sorted(map(str, present))[:5])
    raise InvalidInput(
        f"column {column!r} has the values {shown}{' ...' if len(present) > 5 else ''}: give the positive label "
        "values (positive, --label COL=V) or a threshold (label_threshold, --label 'COL>T')"
    )


def _metric(value: float | None, boot: Array | None, confidence: float) -> dict[str, Any]:
    """Model Monitor's ``{"value", "standard_deviation"}`` plus the bootstrap interval."""
    out: dict[str, Any] = {"value": json_number(value), "standard_deviation": None, "interval": None}
    if value is None or boot is None or (isinstance(value, float) and math.isnan(value)):
        return out
    ci = interval(boot, np.isnan(boot), confidence)
    ok = boot[~np.isnan(boot)]
    if ci is not None and len(ok) > 1:
        out["standard_deviation"] = float(np.std(ok, ddof=1))
        out["interval"] = [json_number(ci[0]), json_number(ci[1])]
    return out


def _fbeta(tp: Array, fp: Array, fn: Array, beta: float) -> Array:
    b2 = beta * beta
    num, den = (1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _binary_metrics(
    y: NDArray[np.bool_], p: NDArray[np.bool_], s: Array | None, bootstrap: int, confidence: float, seed: int
) -> dict[str, Any]:
    """Model Monitor's ``binary_classification_metrics`` of labelled rows (y, prediction p, optional score s)."""
    cells = np.zeros((2, 2), dtype=np.int64)  # [y, p]
    np.add.at(cells, (y.astype(np.intp), p.astype(np.intp)), 1)
    reps = resample(cells, bootstrap, [seed, 1]) if bootstrap else None

    def computed(c: NDArray[np.int64]) -> dict[str, Array]:
        c = c.reshape(-1, 2, 2)
        out = rates(c.sum(axis=2), c, c.sum(axis=(1, 2)))
        t = c.astype(np.float64)
        tp, fp, fn, tn = t[:, 1, 1], t[:, 0, 1], t[:, 1, 0], t[:, 0, 0]
        out["true_negative_rate"] = 1.0 - out["fpr"]
        out["f0_5"], out["f2"] = _fbeta(tp, fp, fn, 0.5), _fbeta(tp, fp, fn, 2.0)
        base = out["base_rate"]
        out["accuracy_best_constant_classifier"] = np.maximum(base, 1 - base)
        out["precision_best_constant_classifier"] = base  # always predicting the positive class
        out["recall_best_constant_classifier"] = np.where(base > 0, 1.0, np.nan)
        out["f1_best_constant_classifier"] = _fbeta(tp + fn, tn + fp, np.zeros_like(tp), 1.0)
        return out

    point = computed(cells)
    boot = computed(reps) if reps is not None else None
    names = {**_RATES, **{k: k for k in _OWN}}
    metrics: dict[str, Any] = {
        "confusion_matrix": {
            "0": {"0": int(cells[0, 0]), "1": int(cells[0, 1])},
            "1": {"0": int(cells[1, 0]), "1": int(cells[1, 1])},
        }
    }
    for name, key in names.items():
        value = float(point[key][0])
        metrics[name] = _metric(None if math.isnan(value) else value, None if boot is None else boot[key], confidence)
    if s is not None:
        metrics |= _score_curves(y, s, bootstrap, confidence, seed)
    return metrics


def _score_curves(y: NDArray[np.bool_], s: Array, bootstrap: int, confidence: float, seed: int) -> dict[str, Any]:
    """ROC AUC (the bias engine's, with ties counted half) with its interval, and the two curves."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    pairs, weights = np.unique(np.column_stack((y.astype(np.float64), s)), axis=0, return_counts=True)
    yy, ss, w = pairs[:, 0].astype(np.int8), pairs[:, 1], weights.astype(np.int64)
    auc = score_metrics(yy, ss, w).roc_auc
    out: dict[str, Any] = {}
    boot = None
    if auc is not None and bootstrap:
        reps = resample(w, bootstrap, [seed, 2])
        values = []
        for rep in reps:
            both = rep[yy == 1].sum() > 0 and rep[yy == 0].sum() > 0
            values.append(_auc(yy[rep > 0], ss[rep > 0], rep[rep > 0]) if both else math.nan)
        boot = np.asarray(values)
    out["auc"] = _metric(auc, boot, confidence)
    if auc is not None:
        fpr, tpr, _ = roc_curve(y, s)
        precision, recall, _ = precision_recall_curve(y, s)
        roc = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), _CURVE_POINTS)).astype(int))
        pr = np.unique(np.linspace(0, len(precision) - 1, min(len(precision), _CURVE_POINTS)).astype(int))
        out["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": [float(v) for v in fpr[roc]],
            "true_positive_rates": [float(v) for v in tpr[roc]],
        }
        out["precision_recall_curve"] = {
            "precisions": [float(v) for v in precision[pr]],
            "recalls": [float(v) for v in recall[pr]],
        }
    return out


def _regression_metrics(y: Array, yhat: Array, bootstrap: int, confidence: float, seed: int) -> dict[str, Any]:
    def computed(idx: NDArray[np.intp] | None) -> dict[str, Array]:
        yy, pp = (y, yhat) if idx is None else (y[idx], yhat[idx])
        yy, pp = np.atleast_2d(yy), np.atleast_2d(pp)
        err = pp - yy
        mse = np.mean(err**2, axis=1)
        var = np.var(yy, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(var > 0, 1 - mse / np.where(var > 0, var, 1.0), np.nan)
        return {"mae": np.mean(np.abs(err), axis=1), "mse": mse, "rmse": np.sqrt(mse), "r2": r2}

    point = computed(None)
    boot = None
    if bootstrap:
        rng = np.random.default_rng([seed, 3])
        boot = computed(rng.integers(0, len(y), size=(bootstrap, len(y))))
    return {
        name: _metric(float(point[name][0]) if not math.isnan(point[name][0]) else None,
                      None if boot is None else boot[name], confidence)
        for name in ("mae", "mse", "rmse", "r2")
    }  # fmt: skip


def _suggest(problem: Problem, metrics: Mapping[str, Any], tolerance: float) -> dict[str, Any]:
    """Model Monitor's ``constraints.json``: each constrained metric's threshold derived from its baseline value."""
    constraints: dict[str, Any] = {}
    for name, operator in CONSTRAINED[problem].items():
        value = (metrics.get(name) or {}).get("value")
        if not isinstance(value, int | float):
            continue
        threshold = value * (1 + tolerance) if operator == "GreaterThanThreshold" else value - tolerance
        constraints[name] = {"threshold": round(float(threshold), 6), "comparison_operator": operator}
    return {"version": 0.0, f"{_problem_key(problem)}_constraints": constraints}


def _problem_key(problem: Problem) -> str:
    return {"binary": "binary_classification", "regression": "regression"}[problem]


def _judge(metrics: Mapping[str, Any], constraints: Mapping[str, Any], *, estimated: bool) -> list[dict[str, Any]]:
    """Model Monitor's violation entries for the metrics beyond their thresholds (beyond with the whole interval
    when there is one)."""
    out = []
    for name, rule in constraints.items():
        entry = metrics.get(name)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), int | float):
            continue
        value, threshold, operator = float(entry["value"]), float(rule["threshold"]), rule["comparison_operator"]
        ci = entry.get("interval")
        below, above = (ci[1], ci[0]) if ci and all(isinstance(v, int | float) for v in ci) else (value, value)
        breached = below < threshold if operator == "LessThanThreshold" else above > threshold
        if breached:
            what = "Estimated metric" if estimated else "Metric"
            out.append({
                "constraint_check_type": operator,
                "description": f"{what} {name} with {value:.4g} was {operator} {threshold:.4g}",
                "metric_name": name,
                "value": value,
                "threshold": threshold,
                "estimated": estimated,
            })  # fmt: skip
    return out


def _calibration(y: NDArray[np.bool_], s: Array) -> dict[str, Any] | None:
    """The CBPE calibration map: isotonic regression of the label on the score (scikit-learn), as its knots."""
    from sklearn.isotonic import IsotonicRegression

    if len(y) == 0 or y.all() or not y.any():
        return None
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y.astype(np.float64))
    return {
        "method": "isotonic",
        "rows": len(y),
        "scores": [float(v) for v in iso.X_thresholds_],
        "probabilities": [float(v) for v in iso.y_thresholds_],
    }


def cbpe(calibration: Mapping[str, Any], scores: Array, predicted: NDArray[np.bool_]) -> dict[str, Any]:
    """NannyML's CBPE: the expected confusion matrix from the calibrated probabilities of the window's rows, and
    accuracy, precision, recall, f1 from it (``estimate: true``; no labels used)."""
    knots = np.asarray(calibration["scores"], dtype=np.float64)
    probs = np.asarray(calibration["probabilities"], dtype=np.float64)
    p = np.interp(scores, knots, probs)  # the isotonic fit's prediction (piecewise linear between knots, clipped)
    tp, fp = float(p[predicted].sum()), float((1 - p[predicted]).sum())
    fn, tn = float(p[~predicted].sum()), float((1 - p[~predicted]).sum())
    n = len(p)

    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 else None

    values = {
        "accuracy": ratio(tp + tn, n),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "false_positive_rate": ratio(fp, fp + tn),
    }
    return {
        "estimate": True,
        "method": "CBPE: the baseline's isotonic calibration of the score, expected confusion matrix",
        "rows": n,
        "expected_confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
        **{name: {"value": json_number(v), "standard_deviation": None, "interval": None} for name, v in values.items()},
    }


def _problem(given: str, dtype: Any, labels: NDArray[Any], positive: Any, label_threshold: float | None) -> Problem:
    if given != "auto":
        return "binary" if given == "binary" else "regression"
    if positive is not None or label_threshold is not None or not is_numeric(dtype):
        return "binary"
    return "regression" if len(np.unique(labels[~_missing(labels)])) > 2 else "binary"


def model_quality(
    data: Any,
    *,
    label: str,
    positive: tuple[Any, ...] | None = None,
    label_threshold: float | None = None,
    predicted: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    problem: str = "auto",
    baseline: Mapping[str, Any] | None = None,
    min_rows: int = 200,
    tolerance: float = 0.05,
    judge_estimate: bool = False,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> QualityResult:
    """Model quality of ``data`` (see the module docstring); ``baseline`` is a recorded model-quality document."""
    if predicted is None and score is None:
        raise InvalidInput("model quality needs the predicted-label column (predicted) or the score column (score)")
    frame = open_frame(data)
    frame.require_columns(label, predicted, score)
    schema = frame.schema
    if score is not None and not is_numeric(schema[score]):
        raise InvalidInput(f"score {score!r} is {schema[score]}; a score must be a probability")
    columns = ndarray_of(frame, [c for c in (label, predicted, score) if c is not None])
    labels = columns[label]
    kind = _problem(problem, schema[label], labels, positive, label_threshold)
    if baseline is not None:
        if baseline.get("schema") != SCHEMA:
            raise InvalidInput(
                f"the baseline of model quality must be a model-quality document (got {baseline.get('schema')!r})"
            )
        if baseline.get("problem") != kind:
            raise InvalidInput(
                f"the baseline is a {baseline.get('problem')} model-quality document and this window is {kind}: "
                f"give problem={baseline.get('problem')}"
            )
    labelled = ~_missing(labels)
    notes: list[Note] = []
    n = len(labels)
    estimate: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    if kind == "regression":
        if predicted is None or not is_numeric(schema[predicted]) or not is_numeric(schema[label]):
            raise InvalidInput(f"regression needs a numeric label {label!r} and a numeric predicted column (predicted)")
        pred = np.asarray(columns[predicted], dtype=np.float64)
        keep = labelled & ~np.isnan(pred)
        metrics = (
            _regression_metrics(np.asarray(labels[keep], dtype=np.float64), pred[keep], bootstrap, confidence, seed)
            if keep.any()
            else {}
        )
        used = int(keep.sum())
    else:
        s = np.asarray(columns[score], dtype=np.float64) if score is not None else None
        if s is not None and ((s[~np.isnan(s)] < 0).any() or (s[~np.isnan(s)] > 1).any()):
            raise InvalidInput(f"score {score!r} has values outside [0, 1]; a score must be a probability")
        if predicted is not None:
            pcol = columns[predicted]
            p_missing = _missing(pcol)
            p = _positive(pcol, schema[predicted], predicted, positive, label_threshold)
        else:
            assert s is not None
            p_missing, p = np.isnan(s), s > threshold
        s_missing = np.isnan(s) if s is not None else np.zeros(n, dtype=bool)
        keep = labelled & ~p_missing & ~s_missing
        y = (
            _positive(labels[keep], schema[label], label, positive, label_threshold)
            if keep.any()
            else np.zeros(0, bool)
        )
        used = int(keep.sum())
        metrics = (
            _binary_metrics(y, p[keep], None if s is None else s[keep], bootstrap, confidence, seed) if used else {}
        )
        if s is not None and baseline is None and used:
            calibration = _calibration(y, s[keep])
        calib = None if baseline is None else baseline.get("calibration")
        if s is not None and calib:
            scored = ~s_missing & ~p_missing
            if scored.any():
                estimate = cbpe(calib, s[scored], p[scored])
        elif baseline is not None and s is not None:
            notes.append(Note("no_calibration", "the baseline has no score calibration: no CBPE estimate"))
    if used < n:
        notes.append(Note("unlabelled", f"{n - used:,} of {n:,} rows have no label (or no prediction) yet: "
                                        "left out of the measured metrics"))  # fmt: skip
    statistics = {"version": 0.0, "dataset": {"item_count": used, "evaluation_time": now()}, _SECTION[kind]: metrics}
    constraints = None
    violations: list[dict[str, Any]] = []
    status = "pass"
    judged: dict[str, Any] | None = None
    enough = used >= min_rows
    if baseline is None:
        constraints = _suggest(kind, metrics, tolerance) if enough else None
        if not enough:
            status = "warn"
            notes.append(Note("too_few_labels", f"{used:,} labelled rows (< min_rows {min_rows:,}): no constraints "
                                                "suggested from so few"))  # fmt: skip
    else:
        judged = dict((baseline.get("constraints") or {}).get(f"{_problem_key(kind)}_constraints") or {})
        if enough:
            violations = _judge(metrics, judged, estimated=False)
        elif judge_estimate and estimate is not None:
            violations = _judge(estimate, judged, estimated=True)
            notes.append(Note("estimated", f"{used:,} labelled rows (< min_rows {min_rows:,}): the CBPE estimate "
                                           "was judged instead"))  # fmt: skip
        else:
            status = "warn"
            notes.append(Note("too_few_labels", f"{used:,} labelled rows (< min_rows {min_rows:,}): not judged"))
        if violations:
            status = "fail"
    body: dict[str, Any] = {
        "data": {"source": frame.source, "engine": frame.engine, "rows": n},
        "problem": kind,
        "label": {"column": label, "positive": None if positive is None else [str(v) for v in positive],
                  "threshold": label_threshold},
        "predicted": predicted,
        "score": score,
        "threshold": threshold,
        "rows": {"total": n, "labelled": used},
        "options": {"min_rows": min_rows, "tolerance": tolerance, "bootstrap": bootstrap, "confidence": confidence,
                    "seed": seed, "judge_estimate": judge_estimate},
        "status": status,
        "statistics": statistics,
        "constraints": constraints,
        "baseline": None if baseline is None else {"created_at": baseline.get("created_at"), "constraints": judged},
        "violations": violations,
        "estimated_binary_classification_metrics": estimate,
        "calibration": calibration,
        "warnings": [w.to_dict() for w in notes],
    }  # fmt: skip
    return QualityResult(body)


def quality_outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """How a monitor reads a model-quality document (``services.compute.Outcome``)."""
    metrics = []
    section = (document.get("statistics") or {}).get(_SECTION.get(str(document.get("problem")), ""), {}) or {}
    judged = (document.get("baseline") or {}).get("constraints") or {}  # the thresholds the window was judged on
    for name, entry in section.items():
        if isinstance(entry, Mapping) and isinstance(entry.get("value"), int | float):
            rule = judged.get(name) if isinstance(judged.get(name), Mapping) else None
            threshold = None if rule is None else rule.get("threshold")
            metrics.append({"name": name, "subject": "", "value": float(entry["value"]), "threshold": threshold})
    for name, entry in (document.get("estimated_binary_classification_metrics") or {}).items():
        if isinstance(entry, Mapping) and isinstance(entry.get("value"), int | float):
            metrics.append({"name": f"estimated_{name}", "subject": "", "value": float(entry["value"])})
    violations = [
        {"check_type": v["constraint_check_type"], "subject": v["metric_name"], "description": v["description"],
         "value": v.get("value"), "threshold": v.get("threshold")}
        for v in document.get("violations") or []
    ]  # fmt: skip
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": metrics}
