"""Bias drift: the Clarify metrics of a window against a recorded bias assessment (Model Monitor's bias drift check).

Both sides are ``assay.assessment`` documents (the window's is computed by the ``bias`` kind's computation on the
window). For each facet entry (``facet``, ``value_or_threshold``) and metric the baseline computed:

* ``allowed = [baseline interval low - band, baseline interval high + band]`` (the baseline's own uncertainty,
  widened by ``band``; the baseline's value when it has no interval); DI, a ratio of two selection rates, is judged
  on the log scale: ``[low * e^-band, high * e^band]``, a relative band whatever its level;
* a violation (``bias_drift_check``) when the window's whole interval lies outside ``allowed``: a metric that
  moved beyond the band, and surely so, however many rows the window has; a small window has a wide interval and
  does not flip the verdict on noise;
* only when every count the metric rests on (:data:`RESTS_ON`: the rows each of its rates is estimated on, and
  both counts of a ratio that is not a proportion) is at least ``min_count`` in the window and in the baseline
  (each facet entry's ``counts``); below that the percentile bootstrap interval of a rate or ratio is too narrow
  (measured on adult: DCA from 15 women predicted positive), and the metric is "not judged: too few ...".

A metric without an interval in the window (FT; every metric when ``bootstrap = 0``) is judged on its value only
when the window was computed without a bootstrap; otherwise it is listed as not judged. Metrics that are undefined
or infinite on either side, and facet values missing from the window, are listed as not compared; a window where
nothing could be compared is ``warn`` (too little data to judge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assay.documents import head, now
from assay.errors import InvalidInput

__all__ = ["SCHEMA", "BiasDriftResult", "bias_drift", "bias_drift_outcome"]

SCHEMA = "assay.bias-drift"


@dataclass(frozen=True)
class BiasDriftResult:
    """A bias-drift document; :meth:`constraint_violations` is Clarify's ``constraint_violations.json``."""

    body: dict[str, Any]
    created_at: str = field(default_factory=now)

    @property
    def status(self) -> str:
        return str(self.body["status"])

    def constraint_violations(self) -> dict[str, Any]:
        keys = ("facet", "facet_value", "metric_name", "constraint_check_type", "description")
        return {"version": "1.0", "violations": [{k: v[k] for k in keys} for v in self.body["violations"]]}

    def to_dict(self) -> dict[str, Any]:
        return {**head(SCHEMA, created_at=self.created_at), **self.body}


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _bounds(metric: Mapping[str, Any]) -> tuple[float, float] | None:
    ci = metric.get("ci")
    if not ci:
        return None
    lo, hi = _finite(ci[0]), _finite(ci[1])
    return None if lo is None or hi is None else (lo, hi)


# The counts each metric rests on, per side of the facet (d: the facet value, a: every other row), after the
# definitions in metrics/bias.py. Every rate is estimated on enough rows (its denominator: the side's labelled rows for
# the label rates, its predicted positives for precision, ...); a ratio that is not a proportion (DI's ratio of
# selection rates, DCA's labelled over predicted positives, DCR, TE's FN / FP) also needs its numerator, as the
# spread of a ratio is set by its smaller count. GE is a statistic of all rows together (both sides summed). FT has no
# interval and is not judged in a bootstrapped window.
RESTS_ON: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"), ("rows",)),
    **dict.fromkeys(("DPPL", "AD", "CDDPL"), ("predicted_rows",)),
    "DI": ("predicted_rows", "predicted_positive"),
    "DCA": ("observed_positive", "predicted_positive"),
    "DCR": ("observed_negative", "predicted_negative"),
    "RD": ("observed_positive",),
    "SD": ("observed_negative",),
    "DAR": ("predicted_positive",),
    "DRR": ("predicted_negative",),
    "TE": ("FN", "FP"),
    "FT": ("rows",),
}
ALL_ROWS: dict[str, tuple[str, ...]] = {"GE": ("predicted_rows",)}
# Ratios of two proportions, judged on the log scale: the band is then a relative change (e^band - 1, about 10.5 %
# for 0.1) whatever the baseline's level; percentile intervals map through the logarithm unchanged.
LOG_SCALE = frozenset({"DI"})

_COUNT_NAMES = {
    "rows": "labelled rows", "label_positive": "rows labelled positive", "label_negative": "rows labelled negative",
    "predicted_positive": "rows predicted positive", "predicted_negative": "rows predicted negative",
    "observed_positive": "predicted rows labelled positive", "observed_negative": "predicted rows labelled negative",
    "predicted_rows": "rows with a prediction", "TP": "true positives", "FP": "false positives",
    "FN": "false negatives", "TN": "true negatives",
}  # fmt: skip


def _derived(cells: Mapping[str, Any]) -> dict[str, int]:
    """Every count of :data:`RESTS_ON` from one side's label counts and confusion cells (``counts`` of an entry)."""
    out = {k: int(v) for k, v in cells.items()}
    out["rows"] = out.get("label_positive", 0) + out.get("label_negative", 0)
    if "TP" in out:
        tp, fp, fn, tn = out["TP"], out["FP"], out["FN"], out["TN"]
        out.update(predicted_positive=tp + fp, predicted_negative=tn + fn, observed_positive=tp + fn,
                   observed_negative=tn + fp, predicted_rows=tp + fp + fn + tn)  # fmt: skip
    return out


def _entries(document: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (str(e["facet"]), str(e["value_or_threshold"])): {
            "metrics": {str(m["name"]): m for m in e["metrics"]},
            "counts": {who: _derived(c) for who, c in (e.get("counts") or {}).items()},
        }
        for e in document.get("facets") or []
    }


def _too_few(name: str, key: tuple[str, str], counts: Mapping[str, Mapping[str, int]], minimum: int) -> str | None:
    """Why ``name`` cannot be judged on these counts (the smallest count below ``minimum``), or None."""
    if not counts or minimum <= 0:
        return None
    sides: dict[str, Mapping[str, int]]
    if name in ALL_ROWS:
        sides = {"all rows": {k: counts["d"].get(k, 0) + counts["a"].get(k, 0) for k in ALL_ROWS[name]}}
        needs = ALL_ROWS[name]
    else:
        sides = {f"{key[0]}={key[1]}": counts["d"], f"{key[0]}\u2260{key[1]}": counts["a"]}
        needs = RESTS_ON.get(name, ())
    short = [
        (side.get(k, 0), _COUNT_NAMES[k], who) for who, side in sides.items() for k in needs if side.get(k, 0) < minimum
    ]
    if not short:
        return None
    n, what, who = min(short)
    return f"{n} {what} in {who}"


def _allowed(name: str, lo: float, hi: float, band: float) -> tuple[float, float]:
    if name in LOG_SCALE and lo > 0:
        return lo * math.exp(-band), hi * math.exp(band)
    return lo - band, hi + band


def bias_drift(
    window: Mapping[str, Any], baseline: Mapping[str, Any], *, band: float = 0.1, min_count: int = 30
) -> BiasDriftResult:
    """Compare the bias assessment document ``window`` with the recorded ``baseline`` (see the module docstring)."""
    for name, document in (("window", window), ("baseline", baseline)):
        if document.get("schema") != "assay.assessment":
            raise InvalidInput(
                f"the {name} of a bias drift check must be a bias assessment document (got {document.get('schema')!r})"
            )
    if window.get("label") != baseline.get("label"):
        raise InvalidInput(
            f"the window's label {window.get('label')!r} is not the baseline's {baseline.get('label')!r}: run the "
            "bias drift check with the baseline's label"
        )
    bootstrapped = bool((window.get("spec") or {}).get("bootstrap"))
    current = _entries(window)
    comparisons: list[dict[str, Any]] = []
    violations: list[dict[str, Any]] = []
    for key, entry in _entries(baseline).items():
        for name, base in entry["metrics"].items():
            row: dict[str, Any] = {"facet": key[0], "facet_value": key[1], "metric_name": name,
                                   "baseline_value": _finite(base.get("value")), "baseline_interval": base.get("ci"),
                                   "value": None, "interval": None, "allowed": None,
                                   "scale": "log" if name in LOG_SCALE else "linear"}  # fmt: skip
            comparisons.append(row)
            base_value = _finite(base.get("value"))
            if base_value is None:
                row["verdict"] = "not compared: undefined or infinite in the baseline"
                continue
            now_entry = current.get(key)
            now_metric = None if now_entry is None else now_entry["metrics"].get(name)
            if now_entry is None or now_metric is None:
                row["verdict"] = "not compared: not in the window"
                continue
            value = _finite(now_metric.get("value"))
            row.update(value=value, interval=now_metric.get("ci"))
            if value is None:
                row["verdict"] = "not compared: undefined or infinite in the window"
                continue
            window_bounds = _bounds(now_metric)
            if window_bounds is None and bootstrapped:
                row["verdict"] = "not judged: no interval"
                continue
            for where, counts in (("window", now_entry["counts"]), ("baseline", entry["counts"])):
                short = _too_few(name, key, counts, min_count)
                if short is not None:
                    row["verdict"] = f"not judged: too few in the {where} ({short}; at least {min_count})"
                    break
            else:
                short = None
            if short is not None:
                continue
            lo, hi = _bounds(base) or (base_value, base_value)
            allowed = _allowed(name, lo, hi, band)
            row["allowed"] = [allowed[0], allowed[1]]
            w_lo, w_hi = window_bounds or (value, value)
            if w_hi < allowed[0] or w_lo > allowed[1]:
                row["verdict"] = "drift"
                shown = f" (interval {w_lo:.4g} .. {w_hi:.4g})" if window_bounds else ""
                widened = (
                    f"widened by a factor e^{band:g}" if row["scale"] == "log" and lo > 0 else f"widened by {band:g}"
                )
                violations.append({
                    "facet": key[0],
                    "facet_value": key[1],
                    "metric_name": name,
                    "constraint_check_type": "bias_drift_check",
                    "description": (
                        f"Value {value:.6g}{shown} does not meet the constraint requirement: outside "
                        f"{allowed[0]:.4g} .. {allowed[1]:.4g}, the baseline's {base_value:.4g} (interval "
                        f"{lo:.4g} .. {hi:.4g}) {widened}"
                    ),
                    "value": value,
                    "baseline_value": base_value,
                })  # fmt: skip
            else:
                row["verdict"] = "ok"
    judged = sum(1 for c in comparisons if c["verdict"] in ("ok", "drift"))
    status = "fail" if violations else "pass" if judged else "warn"
    notes = []
    if not judged:
        notes.append({"code": "nothing_compared", "message": "no metric of the baseline could be judged in the "
                      "window (facet values missing, undefined metrics, or too few rows): not judged"})  # fmt: skip
    body: dict[str, Any] = {
        "data": window.get("data"),
        "label": window.get("label"),
        "band": band,
        "min_count": min_count,
        "status": status,
        "baseline": {"created_at": baseline.get("created_at"), "data": baseline.get("data")},
        "violations": violations,
        "comparisons": comparisons,
        "window": dict(window),
        "warnings": notes,
    }
    return BiasDriftResult(body)


def bias_drift_outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """How a monitor reads a bias-drift document (``services.compute.Outcome``)."""
    violations = [
        {"check_type": v["constraint_check_type"], "subject": f"{v['facet']}={v['facet_value']} {v['metric_name']}",
         "description": v["description"], "value": v.get("value"), "threshold": None}
        for v in document.get("violations") or []
    ]  # fmt: skip
    metrics = [
        {"name": c["metric_name"], "subject": f"{c['facet']}={c['facet_value']}", "value": c["value"]}
        for c in document.get("comparisons") or []
        if isinstance(c.get("value"), int | float)
    ]
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": metrics}
