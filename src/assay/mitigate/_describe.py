"""What a fitted mitigator learnt and how it was set, as plain JSON values (for result documents)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from assay.mitigate._reductions import ExponentiatedGradientClassifier
from assay.mitigate._reject import RejectOptionClassifier
from assay.mitigate._reweighing import ReweighingClassifier
from assay.mitigate._thresholds import ThresholdOptimizerClassifier

__all__ = ["describe", "plain"]


def plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity" if value < 0 else None)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    return value if isinstance(value, str | int | bool) or value is None else str(value)


def describe(fitted: Any) -> dict[str, Any]:
    """``{"parameters": ..., "learnt": ...}`` of a fitted mitigator (its parameters but the base estimator)."""
    parameters = {k: v for k, v in fitted.get_params(deep=False).items() if k != "estimator"}
    return {"parameters": dict(plain(parameters)), "learnt": dict(plain(_learnt(fitted)))}


def _learnt(fitted: Any) -> dict[str, Any]:
    if isinstance(fitted, ReweighingClassifier):
        r = fitted.reweighing_
        cells = [
            {"group": g, "label": c, "weight": r.weights_[i, j]}
            for i, g in enumerate(r.groups_)
            for j, c in enumerate(r.classes_)
        ]
        return {"weights": cells}
    if isinstance(fitted, ExponentiatedGradientClassifier):
        return {"classifiers": len(fitted.estimators_), "weights": fitted.weights_, "best_gap": fitted.best_gap_}
    if isinstance(fitted, ThresholdOptimizerClassifier):
        rules = {}
        for group, rule in zip(fitted.groups_, fitted.rules_, strict=True):
            p_ignore, constant, p0, s0, t0, p1, s1, t1 = (float(v) for v in rule)
            rules[str(group)] = {
                "p_ignore": p_ignore,
                "constant": constant,
                "thresholds": [
                    {"weight": p0, "rule": f"score {'>' if s0 > 0 else '<'} {t0:.6g}"},
                    {"weight": p1, "rule": f"score {'>' if s1 > 0 else '<'} {t1:.6g}"},
                ],
            }
        return {"rules": rules}
    if isinstance(fitted, RejectOptionClassifier):
        return {"margin": fitted.margin_, "favoured": fitted.favoured_, "search_on_training_rows": fitted.search_}
    raise TypeError(f"not one of Assay's mitigators: {type(fitted).__name__}")
