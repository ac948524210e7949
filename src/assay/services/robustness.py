"""The perturbation robustness suite: a model scored on its data under realistic corruptions at stated severities
(:mod:`assay.robustness.corrupt`), with accuracy, the positive rate and the bias metrics DI and DPPL
(:mod:`assay.metrics`, Clarify's definitions) overall and per group of a facet.

It lives here rather than in :mod:`assay.robustness` because it combines that package with :mod:`assay.metrics` and
the privacy tests' sampling, and siblings stay independent of each other (as the mitigation does).

Flow: a seeded sample of labelled rows -> the clean figures -> for each corruption and severity, the corrupted copy
of the sample scored by the model -> the drops against the clean figures -> the verdict at the judged severities
(up to ``at``): ``fail`` when accuracy drops by more than ``max_accuracy_drop``, or a group's accuracy drops more than
the other rows' by more than ``group_tolerance`` (both the group and the other rows at least ``min_group_size``);
``warn`` when a group was too small to judge; ``pass`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from assay.documents import Note, head, now
from assay.errors import InvalidInput
from assay.frames import Label
from assay.frames import open as open_frame
from assay.privacy._data import binary, require, sample
from assay.robustness.corrupt import corrupt, fits, kind_of
from assay.robustness.options import CORRUPTIONS

__all__ = ["MAX_GROUPS", "SCHEMA", "Robustness", "outcome", "robustness"]

SCHEMA: Final = "assay.robustness"
MAX_GROUPS: Final = 20  # the commonest values of the facet get their own figures


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _bias(predicted: np.ndarray, y: np.ndarray, inside: np.ndarray) -> dict[str, float | None]:
    """DI and DPPL of the group ``inside`` (facet d) against the other rows (facet a), by :mod:`assay.metrics`."""
    from assay.metrics.bias import METRICS, Counts

    post = np.zeros((1, 1, 2, 2, 2), dtype=np.int64)
    cells = np.zeros((2, 2, 2), dtype=np.int64)
    np.add.at(cells, (inside.astype(np.int64), y.astype(np.int64), predicted.astype(np.int64)), 1)
    post[0, 0] = cells
    counts = Counts(pre=post.sum(axis=4), post=post, has_group=False)
    out: dict[str, float | None] = {}
    for name in ("DI", "DPPL"):
        result = METRICS[name].compute(counts)  # type: ignore[misc]
        out[name] = None if result.reason(0) is not None else _round(float(result.value[0]))
    return out


@dataclass(frozen=True)
class _Scored:
    accuracy: float
    positive_rate: float
    groups: dict[str, dict[str, Any]]


def _score(
    model: Any, rows: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None, values: Sequence[str]
) -> tuple[_Scored, np.ndarray]:
    predicted = (model.predict_proba(rows) > 0.5).astype(np.int64)
    right = predicted == y
    by_group: dict[str, dict[str, Any]] = {}
    if groups is not None:
        for value in values:
            inside = groups == value
            by_group[value] = {
                "rows": int(inside.sum()),
                "accuracy": float(right[inside].mean()),
                "positive_rate": float(predicted[inside].mean()),
                **_bias(predicted, y, inside),
            }
    return _Scored(float(right.mean()), float(predicted.mean()), by_group), predicted


@dataclass(frozen=True)
class Robustness:
    model: dict[str, Any]
    data: dict[str, Any]
    spec: dict[str, Any]
    clean: dict[str, Any]
    corruptions: tuple[dict[str, Any], ...]
    findings: tuple[dict[str, Any], ...]
    small_groups: tuple[str, ...]
    notes: tuple[Note, ...] = ()
    created_at: str = field(default_factory=now)
    columns: tuple[dict[str, Any], ...] | None = None  # the per-column sensitivity, ranked (None: not run)

    @property
    def status(self) -> str:
        if self.findings:
            return "fail"
        return "warn" if self.small_groups else "pass"

    def to_dict(self) -> dict[str, Any]:
        at = self.spec["at"]
        worst = max(
            ((c["name"], s["severity"], s["accuracy_drop"]) for c in self.corruptions for s in c["severities"]
             if s["severity"] <= at and s["accuracy_drop"] is not None),
            key=lambda t: t[2], default=None,
        )  # fmt: skip
        worst_text = (
            "" if worst is None else f"; worst drop at severity <= {at}: {worst[2]:.3f} ({worst[0]} {worst[1]})"
        )
        if self.findings:
            summary = f"{len(self.findings)} findings: " + "; ".join(f["description"] for f in self.findings[:3])
        elif self.small_groups:
            summary = f"no finding, but groups too small to judge: {', '.join(self.small_groups)}{worst_text}"
        else:
            summary = f"accuracy {self.clean['accuracy']:.3f} clean, no finding{worst_text}"
        return {
            **head(SCHEMA, created_at=self.created_at),
            "model": self.model,
            "data": self.data,
            "spec": self.spec,
            "status": self.status,
            "summary": summary,
            "result": {
                "clean": self.clean,
                "corruptions": list(self.corruptions),
                "findings": list(self.findings),
                "small_groups": list(self.small_groups),
                "columns": None if self.columns is None else list(self.columns),
            },
            "warnings": [n.to_dict() for n in self.notes],
        }


def _refused(severity: float, exc: InvalidInput) -> dict[str, Any]:
    """A severity (or column) whose corrupted rows the model refused (a one-hot encoder that meets a missing or
    unseen category, a model that cannot take missing values): no figures, the model's error instead."""
    return {"severity": severity, "accuracy": None, "positive_rate": None, "accuracy_drop": None, "groups": [],
            "refused": str(exc)}  # fmt: skip


def _figures(scored: _Scored, clean: _Scored | None) -> dict[str, Any]:
    out: dict[str, Any] = {"accuracy": _round(scored.accuracy), "positive_rate": _round(scored.positive_rate)}
    if clean is not None:
        out["accuracy_drop"] = _round(clean.accuracy - scored.accuracy)
    groups = []
    for value, entry in scored.groups.items():
        row = {"value": value, **{k: _round(v) if isinstance(v, float) else v for k, v in entry.items()}}
        if clean is not None:
            base = clean.groups[value]
            drop = base["accuracy"] - entry["accuracy"]
            row["accuracy_drop"] = _round(drop)
        groups.append(row)
    out["groups"] = groups
    return out


def robustness(
    data: Any,
    model: Any,
    *,
    label: Label,
    facet: str | None = None,
    corruptions: Sequence[str] | None = None,
    severities: Sequence[float] = (0.1, 0.2, 0.5, 1.0),
    columns: Sequence[str] | None = None,
    immutable: Sequence[str] = (),
    at: float = 0.2,
    max_accuracy_drop: float = 0.05,
    group_tolerance: float = 0.05,
    min_group_size: int = 100,
    sample_size: int = 5000,
    seed: int = 0,
    per_column: bool = True,
    column_severity: float = 0.2,
    progress: Callable[[str], None] | None = None,
) -> Robustness:
    """Score ``model`` (an :class:`assay.adapters.Model`) on a sample of ``data`` clean and corrupted; see the module
    docstring."""
    say = progress or (lambda _stage: None)
    if model is None:
        raise InvalidInput("the robustness suite needs the model: give --model")
    frame = open_frame(data)
    features = list(model.feature_names)
    require(frame, [label.column], role="label column")
    require(frame, [facet], role="facet column")
    require(frame, features, role="model feature")
    require(frame, list(columns or []), role="columns:")
    require(frame, list(immutable), role="immutable:")
    chosen = [c for c in (columns if columns is not None else features) if c not in set(immutable)]
    if not chosen:
        raise InvalidInput("columns: no column is left to corrupt (every one is immutable); name columns to corrupt")
    wanted = list(dict.fromkeys([*features, *chosen, label.column, *([facet] if facet else [])]))
    say("sampling rows")
    rows, _, total = sample(frame, wanted, sample_size, seed)
    y_all = binary(rows[label.column], label)
    keep = ~np.isnan(y_all)
    rows, y = rows[keep].reset_index(drop=True), y_all[keep].astype(np.int64)
    if len(rows) < 10:
        raise InvalidInput(f"{frame.source} has {len(rows)} labelled rows in the sample: too few to measure accuracy")
    kinds = {c: kind_of(rows[c]) for c in chosen}
    names = list(corruptions) if corruptions is not None else [
        c for c in CORRUPTIONS if any(fits(c, k) for k in kinds.values())
    ]  # fmt: skip
    for name in names:
        if name not in CORRUPTIONS:
            raise InvalidInput(f"corruptions: {name!r} is not one of {', '.join(CORRUPTIONS)}")
        if not any(fits(name, k) for k in kinds.values()):
            shown = ", ".join(f"{c} ({k})" for c, k in list(kinds.items())[:10])
            raise InvalidInput(f"corruptions: {name!r} fits none of the columns corrupted ({shown})")

    groups = values = None
    notes: list[Note] = []
    if facet:
        groups = rows[facet].astype("string").fillna("(missing)").to_numpy(dtype=object)
        found, counts = np.unique(groups, return_counts=True)
        values = [str(v) for v in found[np.argsort(-counts, kind="stable")][:MAX_GROUPS]]
        if len(found) > MAX_GROUPS:
            notes.append(Note("many_groups", f"{facet} has {len(found)} values: the {MAX_GROUPS} commonest are shown"))
    model_rows = rows[features]
    say("scoring the clean rows")
    clean, _ = _score(model, model_rows, y, groups, values or [])
    small = tuple(
        f"{facet}={v}" for v, g in clean.groups.items() if min(g["rows"], len(rows) - g["rows"]) < min_group_size
    )
    if small:
        notes.append(Note("small_group", f"groups with fewer than {min_group_size} rows (or other rows) are not "
                                         f"judged: {', '.join(small)}"))  # fmt: skip

    results: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for name in names:
        touched: list[str] = []
        per_severity = []
        for severity in severities:
            say(f"corrupting ({name}, severity {severity})")
            changed, touched = corrupt(rows, name, severity, chosen, seed=seed)
            judged = severity <= at
            try:
                scored, _ = _score(model, changed[features], y, groups, values or [])
            except InvalidInput as exc:  # the model refuses the corrupted rows: the least robust outcome
                per_severity.append(_refused(severity, exc))
                if judged:
                    findings.append({
                        "kind": "refused", "corruption": name, "severity": severity, "subject": "", "value": None,
                        "threshold": None,
                        "description": f"{name} at severity {severity}: the model refused the corrupted rows ({exc})",
                    })  # fmt: skip
                continue
            figures = {"severity": severity, **_figures(scored, clean)}
            drop = clean.accuracy - scored.accuracy
            if judged and drop > max_accuracy_drop:
                findings.append({
                    "kind": "accuracy", "corruption": name, "severity": severity, "subject": "",
                    "value": _round(drop), "threshold": max_accuracy_drop,
                    "description": f"{name} at severity {severity}: accuracy drops by {drop:.3f} "
                                   f"(from {clean.accuracy:.3f}), more than {max_accuracy_drop}",
                })  # fmt: skip
            for row in figures["groups"]:
                value = row["value"]
                n_in = clean.groups[value]["rows"]
                n_out = len(rows) - n_in
                right_clean_out = clean.accuracy * len(rows) - clean.groups[value]["accuracy"] * n_in
                right_now_out = scored.accuracy * len(rows) - scored.groups[value]["accuracy"] * n_in
                rest_drop = (right_clean_out - right_now_out) / n_out if n_out else math.nan
                excess = (clean.groups[value]["accuracy"] - scored.groups[value]["accuracy"]) - rest_drop
                row["excess_drop"] = _round(excess)
                if judged and min(n_in, n_out) >= min_group_size and excess > group_tolerance:
                    findings.append({
                        "kind": "group", "corruption": name, "severity": severity, "subject": f"{facet}={value}",
                        "value": _round(excess), "threshold": group_tolerance,
                        "description": f"{name} at severity {severity}: {facet}={value} loses {excess:.3f} more "
                                       f"accuracy than the other rows (tolerance {group_tolerance})",
                    })  # fmt: skip
            per_severity.append(figures)
        results.append({"name": name, "columns": touched, "severities": per_severity})

    sensitivity = None
    if per_column:
        sensitivity = _sensitivity(model, rows, y, features, chosen, kinds, groups, values or [], clean,
                                   column_severity, seed, say)  # fmt: skip

    return Robustness(
        model=model.describe(),
        data={"source": frame.source, "rows": total, "sampled": len(rows)},
        spec={
            "label": label.column,
            "positive": None if label.values is None else [str(v) for v in label.values],
            "label_threshold": label.threshold,
            "facet": facet,
            "corruptions": names,
            "severities": list(severities),
            "columns": chosen,
            "column_types": kinds,
            "immutable": list(immutable),
            "at": at,
            "max_accuracy_drop": max_accuracy_drop,
            "group_tolerance": group_tolerance,
            "min_group_size": min_group_size,
            "sample": sample_size,
            "seed": seed,
            "per_column": per_column,
            "column_severity": column_severity,
        },
        clean=_figures(clean, None),
        corruptions=tuple(results),
        findings=tuple(findings),
        small_groups=small,
        notes=tuple(notes),
        columns=sensitivity,
    )


#: the corruption that tests a column alone, by its type
_ALONE: Final = {"numeric": "noise", "categorical": "swap", "text": "typo"}


def _sensitivity(
    model: Any,
    rows: pd.DataFrame,
    y: np.ndarray,
    features: Sequence[str],
    chosen: Sequence[str],
    kinds: dict[str, str],
    groups: np.ndarray | None,
    values: Sequence[str],
    clean: _Scored,
    severity: float,
    seed: int,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], ...]:
    """Each column corrupted alone (its type's corruption at ``severity``): accuracy, its drop, the positive rate,
    and per group the accuracy drop, DI and its shift away from parity; ranked by the accuracy drop (then by the
    largest DI shift, then by name)."""
    out = []
    for column in chosen:
        corruption = _ALONE[kinds[column]]
        say(f"corrupting {column} alone ({corruption}, severity {severity})")
        changed, _ = corrupt(rows, corruption, severity, [column], seed=seed)
        try:
            scored, _ = _score(model, changed[list(features)], y, groups, values)
        except InvalidInput as exc:
            out.append({"column": column, "type": kinds[column], "corruption": corruption, "max_DI_shift": None,
                        **_refused(severity, exc)})  # fmt: skip
            continue
        entry: dict[str, Any] = {
            "column": column, "type": kinds[column], "corruption": corruption, "severity": severity,
            "accuracy": _round(scored.accuracy), "accuracy_drop": _round(clean.accuracy - scored.accuracy),
            "positive_rate": _round(scored.positive_rate),
        }  # fmt: skip
        shifts = []
        group_rows = []
        for value in values:
            before, after = clean.groups[value], scored.groups[value]
            shift = None
            if before["DI"] is not None and after["DI"] is not None:
                shift = abs(after["DI"] - 1) - abs(before["DI"] - 1)
                shifts.append(shift)
            group_rows.append({
                "value": value, "accuracy_drop": _round(before["accuracy"] - after["accuracy"]), "DI": after["DI"],
                "DI_change": None if shift is None else _round(after["DI"] - before["DI"]),
                "DI_shift": _round(shift),
            })  # fmt: skip
        entry["groups"] = group_rows
        entry["max_DI_shift"] = _round(max(shifts)) if shifts else None
        out.append(entry)
    out.sort(key=lambda e: ("refused" not in e, -(e["accuracy_drop"] or 0.0), -(e["max_DI_shift"] or 0.0), e["column"]))
    for rank, entry in enumerate(out, 1):
        entry["rank"] = rank
    return tuple(out)


def outcome(document: Any) -> dict[str, Any]:
    """The verdict, the findings as violations, and the accuracy per corruption and severity as metrics."""
    result = document.get("result") or {}
    spec = document.get("spec") or {}
    violations = [
        {"check_type": f"robustness_{f['kind']}_check",
         "subject": f"{f['corruption']}@{f['severity']}" + (f" {f['subject']}" if f["subject"] else ""),
         "description": f["description"], "value": f["value"], "threshold": f["threshold"]}
        for f in result.get("findings") or []
    ]  # fmt: skip
    metrics: list[dict[str, Any]] = []
    clean = result.get("clean") or {}
    if isinstance(clean.get("accuracy"), int | float):
        metrics.append({"name": "accuracy", "subject": "clean", "value": float(clean["accuracy"])})
    for corruption in result.get("corruptions") or []:
        for entry in corruption.get("severities") or []:
            subject = f"{corruption['name']}@{entry['severity']}"
            if isinstance(entry.get("accuracy"), int | float):
                metrics.append({"name": "accuracy", "subject": subject, "value": float(entry["accuracy"])})
            if isinstance(entry.get("accuracy_drop"), int | float):
                metrics.append({"name": "accuracy_drop", "subject": subject, "value": float(entry["accuracy_drop"]),
                                "threshold": spec.get("max_accuracy_drop")})  # fmt: skip
    for entry in result.get("columns") or []:
        if isinstance(entry.get("accuracy_drop"), int | float):
            metrics.append({"name": "column_accuracy_drop", "subject": entry["column"],
                            "value": float(entry["accuracy_drop"])})  # fmt: skip
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": metrics}
