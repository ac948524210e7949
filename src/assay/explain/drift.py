"""Feature attribution drift: NDCG of a window's global SHAP ranking scored with the baseline's attributions
(SageMaker Clarify's model explainability monitor).

With ``F = [f1..fm]`` the features in the baseline's order of global SHAP (mean |SHAP|), ``a(f)`` the baseline's
attribution of ``f`` and ``F' = [f'1..f'm]`` the features in the window's order::

    NDCG = DCG / iDCG,  DCG = sum a(f'_i) / log2(i + 1),  iDCG = sum a(f_i) / log2(i + 1)

1 when the window ranks the features as the baseline does; a violation below ``threshold`` (Clarify's 0.90). NDCG
reacts to rank changes weighted by the baseline's importance only: scaling every attribution, or reordering
features the baseline finds unimportant, does not move it (a limit of the method, kept for compatibility).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.documents import head, now
from assay.errors import InvalidInput

__all__ = ["SCHEMA", "AttributionDriftResult", "attribution_drift", "attribution_drift_outcome", "ndcg"]

SCHEMA = "assay.attribution-drift"


def ndcg(baseline: Mapping[str, float], window: Mapping[str, float]) -> float:
    """NDCG of ``window``'s ranking of the baseline's features, scored with the ``baseline`` attributions (a feature
    the window lacks ranks last; ties keep the baseline's order)."""
    ideal = sorted(baseline, key=lambda f: -baseline[f])
    position = {f: i for i, f in enumerate(ideal)}
    live = sorted(ideal, key=lambda f: (-window.get(f, -math.inf), position[f]))
    idcg = sum(baseline[f] / math.log2(i + 2) for i, f in enumerate(ideal))
    if idcg <= 0:
        raise InvalidInput("the baseline's attributions are all zero: NDCG is undefined")
    return sum(baseline[f] / math.log2(i + 2) for i, f in enumerate(live)) / idcg


@dataclass(frozen=True)
class AttributionDriftResult:
    """An attribution-drift document; :meth:`constraint_violations` is Clarify's ``constraint_violations.json``."""

    body: dict[str, Any]
    created_at: str = field(default_factory=now)

    @property
    def status(self) -> str:
        return str(self.body["status"])

    def constraint_violations(self) -> dict[str, Any]:
        keys = ("label", "metric_name", "constraint_check_type", "description")
        return {"version": "1.0", "violations": [{k: v[k] for k in keys} for v in self.body["violations"]]}

    def to_dict(self) -> dict[str, Any]:
        return {**head(SCHEMA, created_at=self.created_at), **self.body}


def _importance(document: Mapping[str, Any], name: str) -> dict[str, float]:
    if document.get("schema") != "assay.explanations":
        raise InvalidInput(
            f"the {name} of an attribution drift check must be an explanations document "
            f"(got {document.get('schema')!r})"
        )
    out = {}
    for item in document.get("features") or []:
        value = item.get("mean_abs_shap")
        out[str(item["feature"])] = float(value) if isinstance(value, int | float) else 0.0
    if not out:
        raise InvalidInput(f"the {name} explanations document has no global SHAP importance")
    return out


def _rank(values: Mapping[str, float], order: Sequence[str]) -> dict[str, int]:
    position = {f: i for i, f in enumerate(order)}
    ranked = sorted(values, key=lambda f: (-values[f], position.get(f, len(position))))
    return {f: i + 1 for i, f in enumerate(ranked)}


def attribution_drift(
    window: Mapping[str, Any], baseline: Mapping[str, Any], *, threshold: float = 0.9, min_rows: int = 100
) -> AttributionDriftResult:
    """Compare the explanations document ``window`` with the recorded ``baseline`` (see the module docstring)."""
    base, live = _importance(baseline, "baseline"), _importance(window, "window")
    score = ndcg(base, live)
    base_rank, live_rank = _rank(base, list(base)), _rank({f: live.get(f, -math.inf) for f in base}, list(base))
    features = [
        {"feature": f, "baseline": base[f], "baseline_rank": base_rank[f], "window": live.get(f),
         "window_rank": live_rank[f]}
        for f in sorted(base, key=lambda f: base_rank[f])
    ]  # fmt: skip
    label = (window.get("label") or {}).get("column") or "label0"
    explained = int(((window.get("method") or {}).get("sample") or {}).get("rows") or 0)
    notes = []
    missing = [f for f in base if f not in live]
    if missing:
        notes.append({"code": "missing_features", "message": f"the window has no attribution for {', '.join(missing)}"
                      ": ranked last"})  # fmt: skip
    violations = []
    if explained < min_rows:
        status = "warn"
        notes.append({"code": "too_few_rows", "message": f"{explained:,} rows explained (< min_rows {min_rows:,}): "
                      "not judged"})  # fmt: skip
    elif score < threshold:
        status = "fail"
        violations.append({
            "label": label,
            "metric_name": "shap",
            "constraint_check_type": "feature_attribution_drift_check",
            "description": f"Feature attribution drift: NDCG {score:.4f} of the window's global SHAP ranking is "
                           f"below the threshold {threshold:g}",
            "value": score,
            "threshold": threshold,
        })  # fmt: skip
    else:
        status = "pass"
    body: dict[str, Any] = {
        "data": window.get("data"),
        "label": label,
        "ndcg": score,
        "threshold": threshold,
        "min_rows": min_rows,
        "rows_explained": explained,
        "status": status,
        "baseline": {"created_at": baseline.get("created_at"), "data": baseline.get("data")},
        "features": features,
        "violations": violations,
        "window": dict(window),
        "warnings": notes,
    }
    return AttributionDriftResult(body)


def attribution_drift_outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """How a monitor reads an attribution-drift document (``services.compute.Outcome``)."""
    violations = [
        {"check_type": v["constraint_check_type"], "subject": v["metric_name"], "description": v["description"],
         "value": v.get("value"), "threshold": v.get("threshold")}
        for v in document.get("violations") or []
    ]  # fmt: skip
    metrics = [
        {"name": "ndcg", "subject": "", "value": float(document["ndcg"]), "threshold": document.get("threshold")}
    ]
    metrics += [
        {"name": "mean_abs_shap", "subject": f["feature"], "value": float(f["window"])}
        for f in document.get("features") or []
        if isinstance(f.get("window"), int | float)
    ]
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": metrics}
