"""The mitigation use case: split the data, fit a mitigator around the user's model, measure the trade-off, write
the mitigated model and the report, and register the result with lineage.

:func:`mitigate` does the work (no workspace needed) and returns a :class:`MitigationReport`;
:func:`write_outputs` writes ``model.skops`` (or ``model.joblib``), ``mitigation.json`` and ``report.html``;
:meth:`Mitigation.record` registers the mitigated model as a new version whose parent is the original and records
the document (schema ``assay.mitigation``) as an assessment of it.

Accuracy, DPPL, DI, RD, SD and AD are Clarify's, computed by :mod:`assay.metrics` on the held-out rows for the
original model, the model retrained without mitigation (for the methods that retrain), the mitigated model, and
every point of the trade-off curve.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.documents import SCHEMAS, head
from assay.errors import Conflict, InvalidInput
from assay.frames import Facet, Label
from assay.governance.records import ModelVersionSpec, coerce
from assay.mitigate import describe, model_classes, plain, positives, prepare
from assay.services._base import Service
from assay.services.compute import output_folder
from assay.services.registry import record_assessment, register_model_version

if TYPE_CHECKING:
    from assay.adapters import Model
    from assay.store.models import Assessment, ModelVersion

__all__ = [
    "METHODS",
    "SCHEMA",
    "Mitigation",
    "MitigationReport",
    "RecordedMitigation",
    "load_estimator",
    "mitigate",
    "write_outputs",
]

SCHEMA: Final = "assay.mitigation"
SCHEMA_VERSION: Final = SCHEMAS[SCHEMA]
METHODS: Final = ("reweighing", "exponentiated-gradient", "threshold-optimizer", "reject-option")
_STAGES: Final = {
    "reweighing": "pre-processing",
    "exponentiated-gradient": "in-processing",
    "threshold-optimizer": "post-processing",
    "reject-option": "post-processing",
}
_CONSTRAINED: Final = ("exponentiated-gradient", "threshold-optimizer")
_METRICS: Final = ("DPPL", "DI", "RD", "SD", "AD")
_BOUND_GRID: Final = (0.01, 0.02, 0.05, 0.1, 0.2)
_TOLERANCE_GRID: Final = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)

Progress = Callable[[str], None]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class MitigationReport:
    """What :func:`mitigate` returns: the result document, the fitted mitigated estimator and the original one."""

    document: dict[str, Any]
    estimator: Any = field(repr=False)
    original: Any = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.document)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.document, indent=indent, allow_nan=False)

    @property
    def comparison(self) -> list[dict[str, Any]]:
        return list(self.document["comparison"])

    def row(self, name: str) -> dict[str, Any]:
        """A row of the comparison: ``original``, ``retrained`` or ``mitigated``."""
        for row in self.document["comparison"]:
            if row["name"] == name:
                return dict(row)
        raise KeyError(name)


@dataclass(frozen=True)
class RecordedMitigation:
    """What :meth:`Mitigation.record` stored: the new model version and the assessment."""

    version: ModelVersion
    assessment: Assessment
    ref: str


# ---- inputs ---------------------------------------------------------------------------------------------------


def _label(label: str | Label, positive: Any) -> Label:
    if isinstance(label, Label):
        return label
    values = None if positive is None else (positive if isinstance(positive, list | tuple) else [positive])
    return Label(label, None if values is None else tuple(values))


def _facet(facet: str | Facet | Mapping[str, Any], values: Any) -> Facet:
    if isinstance(facet, Facet):
        chosen = facet
    elif isinstance(facet, Mapping):
        if len(facet) != 1:
            raise InvalidInput("give one facet: {column: [values of facet d]}")
        ((column, given),) = facet.items()
        chosen = Facet(column, tuple(given) if isinstance(given, list | tuple) else (given,))
    else:
        chosen = Facet(
            facet, None if values is None else tuple(values) if isinstance(values, list | tuple) else (values,)
        )
    if chosen.values is None and chosen.threshold is None:
        raise InvalidInput(
            f"facet {chosen.column!r}: say which rows are facet d, the group to protect: COL=V[,V...] or 'COL>T'"
        )
    return chosen


def load_estimator(model: Any, trust_pickle: bool = False, trusted_types: Sequence[str] = ()) -> Model:
    """The model through Assay's adapters; a skops file may also hold Assay's own estimators (mitigated again)."""
    from assay.adapters import load_model
    from assay.mitigate import SKOPS_TYPES

    loaded = load_model(model, trust=trust_pickle, trusted_types=[*trusted_types, *SKOPS_TYPES])
    if loaded.estimator is None:
        raise InvalidInput(
            f"model {loaded.source!r} is a {loaded.kind} model: mitigation retrains or post-processes a "
            "scikit-learn estimator (a .skops or trusted .joblib file, or a fitted estimator)"
        )
    return loaded


# ---- measuring --------------------------------------------------------------------------------------------------


def _names(facet: Facet) -> tuple[str, str]:
    label, predicted = "label", "predicted"
    while facet.column in (label, predicted):
        label, predicted = f"_{label}", f"_{predicted}"
    return label, predicted


def _measure(
    y: Ints, facet_values: pd.Series, predicted: Ints, facet: Facet, d: NDArray[np.bool_], *, bootstrap: int, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Accuracy and Clarify's DPPL, DI, RD, SD, AD of 0/1 predictions: (numbers, assessment document)."""
    from assay.services.assessments import assess

    label_name, predicted_name = _names(facet)
    frame = pd.DataFrame(
        {facet.column: facet_values.to_numpy(), label_name: y, predicted_name: np.asarray(predicted, dtype=np.int64)}
    )
    document = assess(
        frame,
        label=Label(label_name, (1,)),
        facets=[facet],
        predicted=predicted_name,
        metrics=list(_METRICS),
        bootstrap=bootstrap,
        seed=seed,
    ).to_dict()
    overall = next(p for p in document["performance"] if p["facet"] == "all")
    entry = document["facets"][0]
    numbers: dict[str, Any] = {
        "accuracy": overall["metrics"].get("accuracy"),
        "accuracy_ci": (overall.get("ci") or {}).get("accuracy"),
    }
    for metric in entry["metrics"]:
        numbers[metric["name"]] = metric["value"]
        numbers[f"{metric['name']}_ci"] = metric["ci"]
    numbers["selection_rate_d"] = float(predicted[d].mean())
    numbers["selection_rate_a"] = float(predicted[~d].mean())
    numbers["n_d"] = int(d.sum())
    numbers["n_a"] = int((~d).sum())
    return numbers, document


def _guarded(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except InvalidInput:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        text = str(exc).strip().splitlines()
        raise InvalidInput(f"{what} failed: {type(exc).__name__}: {text[0] if text else ''}") from exc


# ---- the mitigators -----------------------------------------------------------------------------------------------


def _mitigator(
    method: str,
    estimator: Any,
    facet: Facet,
    features: list[str],
    positive: Any,
    *,
    constraint: str | None,
    difference_bound: float,
    max_iter: int,
    tolerance: float | None,
    margin: float | None,
    metric: str,
    bounds: tuple[float, float] | None,
    threshold: float,
    seed: int,
) -> Any:
    from assay import mitigate as m

    common: dict[str, Any] = {
        "facet": facet.column,
        "facet_values": None if facet.values is None else list(facet.values),
        "facet_threshold": facet.threshold,
        "features": features,
    }
    if constraint is not None and method not in _CONSTRAINED:
        raise InvalidInput(f"--constraint applies to exponentiated-gradient and threshold-optimizer, not {method}")
    chosen = constraint or "demographic_parity"
    if chosen not in m.CONSTRAINTS:
        raise InvalidInput(f"constraint {chosen!r} is not one of {', '.join(m.CONSTRAINTS)}")
    if method == "reweighing":
        return m.ReweighingClassifier(estimator, **common)
    if method == "exponentiated-gradient":
        return m.ExponentiatedGradientClassifier(
            estimator,
            **common,
            pos_label=positive,
            constraint=cast(Any, chosen),
            difference_bound=difference_bound,
            max_iter=max_iter,
            random_state=seed,
        )
    if method == "threshold-optimizer":
        return m.ThresholdOptimizerClassifier(
            estimator,
            **common,
            pos_label=positive,
            constraint=cast(Any, chosen),
            tolerance=tolerance,
            random_state=seed,
        )
    if method == "reject-option":
        if metric not in m.DEFAULT_BOUNDS:
            raise InvalidInput(f"metric {metric!r} must be DPPL or DI")
        return m.RejectOptionClassifier(
            estimator,
            **common,
            pos_label=positive,
            threshold=threshold,
            margin=margin,
            metric=cast(Any, metric),
            bounds=bounds,
        )
    raise InvalidInput(f"method {method!r} is not one of {', '.join(METHODS)}")


# ---- the trade-off curve --------------------------------------------------------------------------------------


def _curve(
    method: str,
    fitted: Any,
    train: pd.DataFrame,
    y_train: NDArray[Any],
    test: pd.DataFrame,
    measure: Callable[[Ints], dict[str, Any]],
    zero_one: Callable[[NDArray[Any]], Ints],
    progress: Progress,
) -> dict[str, Any] | None:
    from sklearn.base import clone

    points: list[dict[str, Any]] = []
    if method == "reject-option":
        margins, decisions = fitted.predict_margins(test)
        for value, predicted in zip(margins, decisions, strict=True):
            points.append({"value": float(value), **_point(measure(predicted))})
        chosen = float(fitted.margin_)
        if not any(math.isclose(p["value"], chosen) for p in points):
            points.append({"value": chosen, **_point(measure(zero_one(fitted.predict(test))))})
        name, text = "margin", "half-width θ of the critical region |p − threshold| ≤ θ"
    elif method == "exponentiated-gradient":
        chosen = float(fitted.difference_bound)
        grid = sorted({*_BOUND_GRID, chosen})
        for i, value in enumerate(grid):
            progress(f"trade-off curve: difference bound {value:g} ({i + 1}/{len(grid)})")
            model = fitted if value == chosen else clone(fitted).set_params(difference_bound=value).fit(train, y_train)
            points.append({"value": value, **_point(measure(zero_one(model.predict(test))))})
        name, text = "difference_bound", "largest difference between the groups the constraint allows"
    elif method == "threshold-optimizer" and fitted.constraint == "demographic_parity":
        chosen = float(fitted.tolerance or 0.0)
        grid = sorted({*_TOLERANCE_GRID, chosen})
        for value in grid:
            model = fitted if value == chosen else _variant(fitted, tolerance=value or None).fit(train, y_train)
            points.append({"value": value, **_point(measure(zero_one(model.predict(test))))})
        name, text = "tolerance", "allowed difference of selection rates between the groups"
    else:
        return None
    points.sort(key=lambda p: p["value"])
    for p in points:
        p["chosen"] = math.isclose(p["value"], chosen)
    return {"parameter": name, "description": text, "chosen": chosen, "points": points}


def _variant(fitted: Any, **params: Any) -> Any:
    """A copy of a post-processing mitigator with other parameters, sharing its fitted base model (``clone`` would
    refit the base)."""
    other = copy.copy(fitted)
    other.set_params(**params)
    return other


def _point(numbers: dict[str, Any]) -> dict[str, Any]:
    return {k: numbers.get(k) for k in ("accuracy", "DPPL", "DI", "RD", "SD", "selection_rate_d", "selection_rate_a")}


# ---- the use case -------------------------------------------------------------------------------------------------


def mitigate(
    data: Any,
    model: Any,
    *,
    label: str | Label,
    facet: str | Facet | Mapping[str, Any],
    method: str,
    positive: Any = None,
    facet_values: Any = None,
    constraint: str | None = None,
    features: Sequence[str] | None = None,
    test_size: float = 0.3,
    seed: int = 0,
    sample: int | None = None,
    difference_bound: float = 0.01,
    max_iter: int = 50,
    tolerance: float | None = None,
    margin: float | None = None,
    metric: Literal["DPPL", "DI"] = "DPPL",
    bounds: tuple[float, float] | None = None,
    threshold: float = 0.5,
    curve: bool = True,
    bootstrap: int = 200,
    trust_pickle: bool = False,
    trusted_types: Sequence[str] = (),
    progress: Progress | None = None,
) -> MitigationReport:
    """Mitigate bias of ``model`` against facet d and measure the trade-off on held-out rows.

    ``data`` is a CSV/Parquet path or a frame with the label, facet and feature columns. ``model`` is a fitted
    scikit-learn classifier, an :class:`assay.adapters.Model`, or a ``.skops`` file (``.joblib``/``.pkl`` with
    ``trust_pickle``). ``label`` and ``positive`` give the positive label (a favourable outcome); ``facet`` and
    ``facet_values`` (or a :class:`~assay.frames.Facet` with a threshold, or ``{column: [values]}``) give facet d.
    ``method`` is one of :data:`METHODS`. The rows are split (stratified by label and group) into a training part,
    on which the mitigator is fitted (post-processing methods use the model as it is and fit only their rule), and
    a test part (``test_size``), on which the original, retrained and mitigated models are measured.
    """
    say = progress or (lambda _stage: None)
    if method not in METHODS:
        raise InvalidInput(f"method {method!r} is not one of {', '.join(METHODS)}")
    if bootstrap < 0:
        raise InvalidInput(f"bootstrap replicates must be >= 0, not {bootstrap}")
    the_label = _label(label, positive)
    the_facet = _facet(facet, facet_values)
    say("loading the model")
    loaded = load_estimator(model, trust_pickle, trusted_types)
    estimator = loaded.estimator
    if features is not None:
        columns = [str(f) for f in features]
    elif loaded.has_feature_names:
        columns = list(loaded.feature_names)
    else:
        raise InvalidInput("the model does not name its features (it was fit on an array): give them (--features)")
    say("reading data")
    prepared = prepare(
        data, label=the_label, facet=the_facet, features=columns, test_size=test_size, seed=seed, sample=sample
    )
    the_label, the_facet = prepared.label, prepared.facet
    positive_class, negative_class = model_classes(estimator, the_label)
    train = prepared.rows.iloc[prepared.train].reset_index(drop=True)
    test = prepared.rows.iloc[prepared.test].reset_index(drop=True)
    y_train = np.where(prepared.y[prepared.train] == 1, positive_class, negative_class)  # the model's own classes
    y_test, d_test, facet_test = prepared.y[prepared.test], prepared.d[prepared.test], test[the_facet.column]

    def zero_one(labels: NDArray[Any]) -> Ints:
        return positives(labels, positive_class)

    def measured(predicted: Ints, replicates: int) -> tuple[dict[str, Any], dict[str, Any]]:
        return _measure(y_test, facet_test, predicted, the_facet, d_test, bootstrap=replicates, seed=seed)

    def measure(predicted: Ints) -> dict[str, Any]:
        return measured(predicted, 0)[0]

    say("measuring the original model")
    original_predictions = _guarded("predicting with the original model", lambda: zero_one(loaded.predict(test)))
    original, original_doc = measured(original_predictions, bootstrap)
    comparison = [{"name": "original", "description": "the model as given", **original}]
    if method in ("reweighing", "exponentiated-gradient"):
        say("retraining without mitigation")
        retrained = _guarded("retraining the model", lambda: _retrain(estimator, train[columns], y_train))
        numbers = measured(zero_one(retrained.predict(test[columns])), bootstrap)[0]
        description = "the model retrained on the training rows without mitigation"
        comparison.append({"name": "retrained", "description": description, **numbers})
    mitigator = _mitigator(
        method, estimator, the_facet, columns, positive_class, constraint=constraint, difference_bound=difference_bound,
        max_iter=max_iter, tolerance=tolerance, margin=margin, metric=metric, bounds=bounds, threshold=threshold,
        seed=seed,
    )  # fmt: skip
    say(f"fitting {method}")
    fitted = _guarded(f"fitting {method}", lambda: mitigator.fit(train, y_train))
    say("measuring the mitigated model")
    mitigated, mitigated_doc = measured(zero_one(fitted.predict(test)), bootstrap)
    comparison.append({"name": "mitigated", "description": f"the model after {method}", **mitigated})
    trade_off = None
    if curve:
        say("trade-off curve")
        trade_off = _guarded(
            "the trade-off curve", lambda: _curve(method, fitted, train, y_train, test, measure, zero_one, say)
        )
    document: dict[str, Any] = {
        **head(SCHEMA),
        "method": method,
        "stage": _STAGES[method],
        "constraint": (constraint or "demographic_parity") if method in _CONSTRAINED else None,
        "estimator": f"assay.mitigate.{type(fitted).__name__}",
        **describe(fitted),
        "label": {
            "column": the_label.column,
            "values": plain(the_label.values),
            "threshold": the_label.threshold,
            "positive_class": plain(positive_class),
        },
        "facet": {"column": the_facet.column, "values": plain(the_facet.values), "threshold": the_facet.threshold},
        "features": columns,
        "model": plain(loaded.describe()),
        "data": prepared.data,
        "split": {"test_size": test_size, "seed": seed, "stratified_by_label_and_group": prepared.stratified},
        "comparison": plain(comparison),
        "held_out_effect": _effect(original, mitigated, method, constraint),
        "curve": trade_off,
        "assessments": {"original": original_doc, "mitigated": mitigated_doc},
        "deployment": {
            "columns": [str(c) for c in fitted.feature_names_in_],
            "reads_facet": method in ("threshold-optimizer", "reject-option"),
            "classes": plain(list(fitted.classes_)),
            "positive_class": plain(positive_class),
            "output": "predict gives the original model's classes; predict_proba their probabilities, in that order",
        },
    }
    return MitigationReport(document=document, estimator=fitted, original=estimator)


#: the value of each metric when the groups are treated alike
_IDEAL: Final = {"DPPL": 0.0, "DI": 1.0, "RD": 0.0, "SD": 0.0, "AD": 0.0}


def _effect(original: Mapping[str, Any], mitigated: Mapping[str, Any], method: str, constraint: str | None
            ) -> dict[str, Any]:  # fmt: skip
    """Per metric, whether the mitigated model is nearer the groups' parity than the original on the held-out rows
    (``improved``, ``not improved`` or ``unchanged``), and whether the metrics the method aims at improved."""
    targets = ["RD"] if constraint == "equalized_odds" else ["DPPL", "DI"]
    metrics: list[dict[str, Any]] = []
    for name, ideal in _IDEAL.items():
        before, after = _finite(original.get(name)), _finite(mitigated.get(name))
        if before is None or after is None:
            verdict = "not measured"
        else:
            gap_before, gap_after = _gap(name, before), _gap(name, after)
            verdict = "unchanged" if math.isclose(gap_before, gap_after, abs_tol=1e-9) else (
                "improved" if gap_after < gap_before else "not improved")  # fmt: skip
        metrics.append({"metric": name, "ideal": ideal, "original": before, "mitigated": after, "verdict": verdict,
                        "targeted": name in targets})  # fmt: skip
    aimed = [m for m in metrics if m["targeted"]]
    helped = bool(aimed) and all(m["verdict"] == "improved" for m in aimed)
    accuracy = (original.get("accuracy"), mitigated.get("accuracy"))
    said = ", ".join(f"{m['metric']} {m['original']:.3f} -> {m['mitigated']:.3f}" for m in aimed
                     if m["verdict"] != "not measured")  # fmt: skip
    summary = (
        f"{method} improved {' and '.join(m['metric'] for m in aimed)} on the held-out rows ({said})"
        if helped
        else f"{method} did not improve {' and '.join(m['metric'] for m in aimed if m['verdict'] != 'improved')} "
        f"on the held-out rows ({said or 'not measured'}): it did not help here"
    )
    return {"helped": helped, "summary": summary, "metrics": plain(metrics), "accuracy": plain(list(accuracy))}


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _gap(metric: str, value: float) -> float:
    """The distance from parity: |log DI| for the ratio (DI 0.5 and 2 are as far from 1), |value| otherwise."""
    if metric == "DI":
        return abs(math.log(value)) if value > 0 else math.inf
    return abs(value)


def _retrain(estimator: Any, inputs: pd.DataFrame, y: NDArray[Any]) -> Any:
    from sklearn.base import clone

    return clone(estimator).fit(inputs, y)


# ---- files ----------------------------------------------------------------------------------------------------


def save_model(estimator: Any, path: Path, *, format: Literal["skops", "joblib"] = "skops") -> Path:
    """Write a fitted estimator as a skops file (loads without running code) or a joblib file (a pickle)."""
    if format == "skops":
        import skops.io as sio  # type: ignore[import-untyped]

        sio.dump(estimator, path)
    elif format == "joblib":
        import joblib  # type: ignore[import-untyped]

        joblib.dump(estimator, path)
    else:
        raise InvalidInput(f"model format {format!r} must be skops or joblib")
    return path


def write_outputs(
    report: MitigationReport, out: str | Path, *, format: Literal["skops", "joblib"] = "skops"
) -> dict[str, Path]:
    """Write ``model.skops`` (or ``model.joblib``), ``mitigation.json`` and ``report.html`` into ``out``."""
    from assay.reports.mitigation import render_mitigation_html

    if format not in ("skops", "joblib"):
        raise InvalidInput(f"model format {format!r} must be skops or joblib")
    folder = output_folder(out)
    paths = {
        "model": save_model(report.estimator, folder / f"model.{format}", format=format),
        "mitigation": folder / "mitigation.json",
        "report": folder / "report.html",
    }
    paths["mitigation"].write_text(report.to_json() + "\n", encoding="utf-8")
    paths["report"].write_text(render_mitigation_html(report.document), encoding="utf-8")
    return paths


# ---- the workspace ------------------------------------------------------------------------------------------------


class Mitigation(Service):
    """Mitigation in a workspace: run it, and record the result as a new model version with lineage."""

    def _refs(self, system: str, model_version: str, new_version: str | None, method: str) -> tuple[str, str]:
        """(parent ref, new ref) as MODEL@VERSION; the parent must exist and the new version must not."""
        from assay.errors import NotFound

        parent = self.ws.models.get_version(system, model_version)
        name = next(m.name for m, v in self.ws.models.list_versions(system) if v.id == parent.id)
        parent_ref = f"{name}@{parent.version}"
        new_ref = new_version if new_version and "@" in new_version else f"{name}@{new_version or ''}"
        if not new_version:
            new_ref = f"{name}@{parent.version}-{method}"
        try:
            self.ws.models.get_version(system, new_ref)
        except NotFound:
            return parent_ref, new_ref
        raise Conflict(f"model version {new_ref} already exists in {system}: choose another --new-version")

    def check_target(self, system: str, *, model_version: str, new_version: str | None, method: str) -> str:
        """Fail early when the system or the original version is missing or the new version exists; the new ref."""
        return self._refs(system, model_version, new_version, method)[1]

    def record(
        self,
        report: MitigationReport,
        system: str,
        *,
        model_version: str,
        model_file: Path,
        new_version: str | None = None,
        dataset_version: str | None = None,
        files: Mapping[str, Path] | None = None,
        document: Mapping[str, Any] | None = None,
    ) -> RecordedMitigation:
        """Register ``model_file`` as a new version (parent ``model_version``) and record the document on it (and
        on ``dataset_version``, the data it was fitted and measured on, when given)."""
        parent_ref, new_ref = self._refs(system, model_version, new_version, report.document["method"])
        if dataset_version is not None:  # before the registration: a missing dataset version changes nothing
            self.ws.assessments.check_target(system, dataset_version=dataset_version)
        name, version = new_ref.split("@", 1)
        method = report.document["method"]
        spec = coerce(
            ModelVersionSpec,
            {
                "model": name,
                "version": version,
                "parent": parent_ref,
                "framework": "scikit-learn",
                "description": f"{method} mitigation of {parent_ref}",
            },
            "model version",
        )
        given = report.to_dict() if document is None else dict(document)
        document = {**given, "lineage": {"parent": parent_ref, "version": new_ref}}
        model_stored = self.ws.artifacts.put_file(model_file)
        stored = {name: self.ws.artifacts.put_file(path) for name, path in (files or {}).items()}
        with self._write() as tx:  # the new version and its record together, or neither
            registered = register_model_version(tx, system, spec, model_stored, model_file.name)
            assessment = record_assessment(
                tx, system, document, model_version=new_ref, dataset_version=dataset_version, files=stored,
                evidence_valid_days=self.ws.settings.evidence_valid_days,
            )  # fmt: skip
        return RecordedMitigation(version=registered, assessment=assessment, ref=new_ref)
