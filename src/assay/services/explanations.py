"""The explanation use case: load the model, explain it on the data, write the files, record the result.

``explain(data, model, ...)`` returns an :class:`ExplanationReport` (the frozen
:class:`~assay.explain.Explanation` and its renderings); ``write_explanations`` writes ``explanations.json``,
``analysis.json`` (Clarify's ``explanations`` section) and ``report.html``; ``workspace.explanations.record``
keeps the document (kind ``assay.explanations``) in the governance store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.adapters import Output, load_model
from assay.errors import InvalidInput
from assay.explain import Explanation, FeatureImportance, GroupImportance, LocalExplanation, Note, explain_model
from assay.frames import Facet, Label
from assay.services._base import Service
from assay.services.compute import output_folder

if TYPE_CHECKING:
    from collections.abc import Callable

    from assay.store.models import Assessment

__all__ = [
    "ExplanationReport",
    "Explanations",
    "explain",
    "load_model",
    "write_explanations",
]


@dataclass(frozen=True)
class ExplanationReport:
    """What :func:`explain` returns: the frozen :class:`~assay.explain.Explanation` and its renderings."""

    result: Explanation

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_analysis_json(self) -> dict[str, Any]:
        from assay.reports.explanations import explanations_analysis_json

        return explanations_analysis_json(self.to_dict())

    def to_html(self) -> str:
        from assay.reports.explanations import render_explanations_html

        return render_explanations_html(self.to_dict())

    @property
    def importance(self) -> tuple[FeatureImportance, ...]:
        return self.result.importance

    @property
    def groups(self) -> tuple[GroupImportance, ...]:
        return self.result.groups

    @property
    def local(self) -> tuple[LocalExplanation, ...]:
        return self.result.local

    @property
    def warnings(self) -> tuple[Note, ...]:
        return self.result.warnings

    @property
    def expected_value(self) -> float:
        return self.result.expected_value


def _label(label: str | Label | None, positive: Sequence[Any] | Any | None, threshold: float | None) -> Label | None:
    if label is None or isinstance(label, Label):
        if positive is not None or threshold is not None:
            raise InvalidInput("positive and label_threshold go with a label column name, not a Label")
        return label
    values = None if positive is None else (tuple(positive) if isinstance(positive, list | tuple) else (positive,))
    return Label(label, values, threshold)


def _facets(facets: str | Facet | Sequence[str | Facet] | Mapping[str, Any]) -> tuple[Facet, ...]:
    from assay.services.assessments import _facets as parse

    return parse(facets)


def explain(
    data: Any,
    model: Any,
    *,
    label: str | Label | None = None,
    positive: Sequence[Any] | Any | None = None,
    label_threshold: float | None = None,
    facets: str | Facet | Sequence[str | Facet] | Mapping[str, Any] = (),
    rows: int | Sequence[int] = 5,
    sample: int | None = None,
    background: int = 100,
    method: str = "auto",
    pdp: int = 5,
    grid_resolution: int = 15,
    features: Sequence[str] | None = None,
    kind: str | None = None,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    output: Output = "auto",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ExplanationReport:
    """Explain ``model`` on ``data`` (a CSV/Parquet path or a pandas, Polars, PyArrow, DuckDB or PySpark frame).

    ``model`` is a :class:`~assay.adapters.Model`, a fitted scikit-learn estimator or pipeline, a callable, or
    what :func:`~assay.adapters.load_model` loads (a ``.skops``, ``.joblib``/``.pkl`` with ``trust=True``,
    ``.onnx`` file, an ``http(s)://`` endpoint, ``package.module:function``). Its positive class is the label's
    positive value (``label="income", positive=">50K"``). ``facets`` (names, ``{"race": ["Black"]}`` or
    :class:`~assay.frames.Facet` objects) give importance per group; ``rows`` the rows explained one by one.
    """
    chosen_label = _label(label, positive, label_threshold)
    loaded = load_model(
        model,
        kind=kind,
        trust=trust,
        trusted_types=trusted_types,
        feature_names=features,
        output=output,
    )
    result = explain_model(
        loaded,
        data,
        label=chosen_label,
        facets=_facets(facets),
        rows=rows,
        sample=sample,
        background=background,
        method=method,
        pdp=pdp,
        grid_resolution=grid_resolution,
        seed=seed,
        progress=progress,
    )
    return ExplanationReport(result)


def write_explanations(report: ExplanationReport | Mapping[str, Any], out: str | Path) -> dict[str, Path]:
    """Write ``explanations.json``, ``analysis.json`` and ``report.html`` into ``out``; return their paths."""
    from assay.reports.explanations import explanations_analysis_json, render_explanations_html

    folder = output_folder(out)
    document = report.to_dict() if isinstance(report, ExplanationReport) else dict(report)
    paths = {
        "explanations": folder / "explanations.json",
        "analysis": folder / "analysis.json",
        "report": folder / "report.html",
    }
    paths["explanations"].write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths["analysis"].write_text(
        json.dumps(explanations_analysis_json(document), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    paths["report"].write_text(render_explanations_html(document), encoding="utf-8")
    return paths


class Explanations(Service):
    """Explanations kept in the workspace: the ``assay.explanations`` document, recorded as an assessment."""

    def record(
        self,
        system: str,
        report: ExplanationReport | Mapping[str, Any],
        *,
        model_version: str | None = None,
        dataset_version: str | None = None,
        files: Mapping[str, Path] | None = None,
    ) -> Assessment:
        """Record the explanation document against ``system`` (and a model and dataset version), with ``files``."""
        document = report.to_dict() if isinstance(report, ExplanationReport) else dict(report)
        if document.get("schema") != "assay.explanations":
            raise InvalidInput(f"not an explanations document (schema {document.get('schema')!r})")
        return self.ws.assessments.record(
            system, document, model_version=model_version, dataset_version=dataset_version, files=files
        )

    def list(self, system: str) -> list[Assessment]:
        """The explanations recorded for ``system``, oldest first."""
        return [a for a in self.ws.assessments.list(system) if a.kind == "assay.explanations"]
