"""The bias assessment use case: build the spec, run it, and write the output files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assay.config import Settings, load_settings
from assay.documents import Note
from assay.errors import InvalidInput
from assay.frames import Facet, Label, Prediction, Score
from assay.frames import open as open_frame
from assay.metrics import BiasResult, BiasSpec, FacetEntry, GroupPerformance, assess_bias
from assay.metrics.assess import Progress
from assay.reports import to_analysis_json
from assay.services.compute import output_folder

__all__ = ["BiasReport", "FacetsArg", "assess", "write_outputs"]

FacetsArg = str | Facet | Sequence[str | Facet] | Mapping[str, Any]


@dataclass(frozen=True)
class BiasReport:
    """What :func:`assess` returns: the frozen :class:`~assay.metrics.BiasResult` and its renderings."""

    result: BiasResult

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_analysis_json(self) -> dict[str, Any]:
        return to_analysis_json(self.to_dict())

    def _repr_html_(self) -> str:
        from assay.reports.html import render_summary_html

        return render_summary_html(self.to_dict())

    @property
    def entries(self) -> tuple[FacetEntry, ...]:
        return self.result.entries

    @property
    def performance(self) -> tuple[GroupPerformance, ...]:
        return self.result.performance

    @property
    def warnings(self) -> tuple[Note, ...]:
        return self.result.warnings

    @property
    def rows(self) -> dict[str, int]:
        return self.result.rows


def _facets(facets: FacetsArg) -> tuple[Facet, ...]:
    """Facets from names, :class:`Facet` objects, ``{column: values}`` mappings, or a list of those."""
    items: list[Any] = [facets] if isinstance(facets, str | Facet | Mapping) else list(facets)
    out: list[Facet] = []
    for item in items:
        if isinstance(item, Facet):
            out.append(item)
        elif isinstance(item, str):
            out.append(Facet(item))
        elif isinstance(item, Mapping):
            for column, v in item.items():
                if v is None or isinstance(v, list | tuple):
                    out.append(Facet(column, None if v is None else tuple(v)))
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    raise InvalidInput(
                        f"facet {column!r}: give a list of values, or Facet({column!r}, threshold={v}) for a threshold"
                    )
                else:
                    out.append(Facet(column, (v,)))
        else:
            raise InvalidInput(f"facet {item!r}: give a column name, a Facet or a {{column: values}} mapping")
    return tuple(out)


def assess(
    data: Any,
    *,
    label: str | Label,
    facets: FacetsArg,
    positive: Sequence[Any] | Any | None = None,
    label_threshold: float | None = None,
    predicted: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    group: str | None = None,
    intersect: bool = False,
    metrics: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    bootstrap: int | None = None,
    confidence: float | None = None,
    seed: int | None = None,
    min_group_size: int | None = None,
    divergence: Literal["sound", "clarify"] = "sound",
    settings: Settings | None = None,
    progress: Progress | None = None,
    model: Any = None,
    ft_max_rows: int | None = None,
    ft_exact: bool = False,
) -> BiasReport:
    """Assess bias in ``data`` (a CSV/Parquet path or a pandas, Polars, PyArrow, DuckDB or PySpark frame).

    ``label`` is the label column (positive values in ``positive`` or ``label_threshold``; a 0/1 label
    needs neither), ``facets`` the sensitive columns (names for one-vs-all, ``{"race": ["Black"]}``, or
    :class:`~assay.frames.Facet` objects with values or a threshold). ``predicted`` or ``score`` (with
    ``threshold``) adds the post-training metrics; ``group`` the conditional ones (CDDL, CDDPL).
    ``model`` (an :class:`assay.adapters.Model`, or a fitted estimator or callable) computes the score itself
    (column ``model_score``; ``model_prediction`` for a model that gives labels only) from its own feature
    columns, instead of ``score``/``predicted``.
    The flip test (FT) uses a seeded random sample of ``ft_max_rows`` rows (default: the setting
    ``ASSAY_FT_MAX_ROWS``) when there are more, and says so in the result; ``ft_exact=True`` uses every row.
    """
    s = settings or load_settings()
    if ft_exact and ft_max_rows is not None:
        raise InvalidInput("give a FT row limit (--ft-max-rows) or the exact run (--ft-exact), not both")
    if isinstance(label, str):
        values = None if positive is None else (positive if isinstance(positive, list | tuple) else [positive])
        label = Label(label, None if values is None else tuple(values), label_threshold)
    if model is not None:
        data, score, predicted = _model_output(data, model, label, score, predicted)
    spec = BiasSpec(
        label=label,
        facets=_facets(facets),
        prediction=Prediction(predicted) if predicted else None,
        score=Score(score, threshold) if score else None,
        group=group,
        intersect=intersect,
        metrics=tuple(metrics) if metrics is not None else None,
        features=tuple(features) if features is not None else None,
        bootstrap=s.bootstrap_replicates if bootstrap is None else bootstrap,
        confidence=s.confidence if confidence is None else confidence,
        seed=s.seed if seed is None else seed,
        min_group_size=s.min_group_size if min_group_size is None else min_group_size,
        divergence=divergence,
        ft_max_rows=None if ft_exact else s.ft_max_rows if ft_max_rows is None else ft_max_rows,
    )
    return BiasReport(assess_bias(open_frame(data), spec, progress=progress))


def _model_output(
    data: Any, model: Any, label: Label, score: str | None, predicted: str | None
) -> tuple[Any, Any, Any]:
    """The data with the model's score (or labels) as a new column: (data, score column, predicted column)."""
    if score or predicted:
        raise InvalidInput("give a model or a score/predicted column, not both")
    from assay.adapters import load_model

    loaded = load_model(model).with_positive(label.values)
    frame = open_frame(data)
    table = frame.lazy.collect().to_pandas()
    try:
        values, name = loaded.predict_proba(table), "model_score"
    except InvalidInput:
        if loaded.output != "label":  # a model that gives labels only (known now for callables) goes on below
            raise
        values, name = loaded.predict(table), "model_prediction"
    while name in table.columns:
        name = "_" + name
    data = open_frame(table.assign(**{name: values}), source=frame.source)  # a new frame: the user's is untouched
    return (data, None, name) if name.endswith("prediction") else (data, name, None)


def write_outputs(report: BiasReport, out: str | Path) -> dict[str, Path]:
    """Write ``analysis.json``, ``assessment.json`` and ``report.html`` into ``out``; return their paths."""
    from assay.reports.html import render_report_html

    folder = output_folder(out)
    document = report.to_dict()
    paths = {
        "assessment": folder / "assessment.json",
        "analysis": folder / "analysis.json",
        "report": folder / "report.html",
    }
    paths["assessment"].write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths["analysis"].write_text(
        json.dumps(to_analysis_json(document), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    paths["report"].write_text(render_report_html(document), encoding="utf-8")
    return paths
