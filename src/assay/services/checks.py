"""Data checks as use cases: run a check of :mod:`assay.checks` on a file or a frame (files get their SHA-256 as
the data fingerprint), write its files, and record its document in the workspace.

The functions need no workspace; :class:`DataChecks` (``workspace.checks``) records a result against an AI
system (kind ``assay.data-check``) with its files kept in the artifact store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, cast

from assay.errors import InvalidInput
from assay.services._base import Service
from assay.services.compute import output_folder

if TYPE_CHECKING:
    from assay.checks import (
        Baseline,
        Duplicates,
        LabelIssues,
        PiiScan,
        Representativeness,
        SharedRows,
        TargetLeakage,
        Validation,
    )
    from assay.checks._common import DataInfo
    from assay.checks.drift import Drift
    from assay.frames import Label
    from assay.store.models import Assessment

__all__ = [
    "CHECKS",
    "CheckResult",
    "DataChecks",
    "baseline",
    "baseline_attachments",
    "drift",
    "duplicates",
    "label_issues",
    "leakage",
    "monitoring_config",
    "pii",
    "representativeness",
    "target_leakage",
    "validate",
    "write_check",
]


_R = TypeVar("_R")


class CheckResult(Protocol):
    """What every check returns: a frozen result whose ``to_dict()`` is an ``assay.data-check`` document."""

    @property
    def data(self) -> DataInfo: ...

    def to_dict(self) -> dict[str, Any]: ...


def _fingerprinted(result: _R, data: Any, field: str = "data") -> _R:
    """The result with the SHA-256 of the file it read (when ``data`` is a path, or a frame over a file) as its
    data fingerprint."""
    from assay.frames import Frame

    if isinstance(data, Frame) and data.path is not None:
        data = data.path
    if not isinstance(data, str | os.PathLike):
        return result
    path = Path(data)
    if not path.is_file():
        return result
    from assay.store.artifacts import sha256_file

    info = dataclasses.replace(getattr(result, field), fingerprint=sha256_file(path))
    return cast(_R, dataclasses.replace(cast(Any, result), **{field: info}))


def baseline(
    reference: Any,
    *,
    max_categories: int = 1000,
    max_domain: int = 50,
    monitoring_config: Mapping[str, Any] | None = None,
    sketch_k: int = 1000,
    reference_sample: int = 0,
    seed: int = 0,
) -> Baseline:
    """Profile ``reference`` and suggest constraints (Model Monitor's statistics.json and constraints.json, the
    drift check's sketches beside them)."""
    from assay.checks import suggest_baseline

    result = suggest_baseline(
        reference, max_categories=max_categories, max_domain=max_domain, monitoring_config=monitoring_config,
        sketch_k=sketch_k, reference_sample=reference_sample, seed=seed,
    )  # fmt: skip
    return dataclasses.replace(result, profile=_fingerprinted(result.profile, reference))


def monitoring_config(
    comparison_threshold: float = 0.1, comparison_method: str = "Simple", categorical_drift_method: str = "LInfinity"
) -> dict[str, Any]:
    """Model Monitor's ``monitoring_config`` for the drift constraints of a baseline (one threshold for numeric and
    categorical columns; ``Simple`` or ``Robust``; ``LInfinity`` or ``ChiSquared``)."""
    return {
        "distribution_constraints": {
            "comparison_threshold": comparison_threshold,
            "comparison_method": comparison_method,
            "categorical_comparison_threshold": comparison_threshold,
            "categorical_drift_method": categorical_drift_method,
        }
    }


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{what} {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{what} {str(path)!r} is not readable JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{what} {str(path)!r} is not a JSON object")
    return document


def read_baseline(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``constraints.json`` (required) and ``statistics.json`` (for the drift check; None when absent) of a
    baseline folder, or the constraints file itself."""
    path = Path(folder)
    if path.is_file():
        constraints_path, statistics_path = path, path.with_name("statistics.json")
    elif path.is_dir():
        constraints_path, statistics_path = path / "constraints.json", path / "statistics.json"
        if not constraints_path.is_file():
            raise InvalidInput(f"baseline folder {str(path)!r} has no constraints.json: run `assay check baseline`")
    else:
        raise InvalidInput(f"baseline {str(path)!r} does not exist")
    constraints = _read_json(constraints_path, "constraints file")
    statistics = _read_json(statistics_path, "statistics file") if statistics_path.is_file() else None
    return constraints, statistics


def validate(
    data: Any, baseline_folder: str | Path, *, max_categories: int = 1000, baseline_source: str | None = None
) -> Validation:
    """Validate ``data`` against the baseline in ``baseline_folder`` (constraints.json and statistics.json);
    ``baseline_source`` says where the baseline came from (default: the folder)."""
    from assay.checks import validate as run

    constraints, statistics = read_baseline(baseline_folder)
    source = str(baseline_folder) if baseline_source is None else baseline_source
    result = run(data, constraints, statistics, max_categories=max_categories, baseline_source=source)
    current = _fingerprinted(result.current, data)
    return dataclasses.replace(result, current=current, data=current.data)


def drift(
    data: Any,
    *,
    reference: Any = None,
    baseline_folder: str | Path | None = None,
    baseline_source: str | None = None,
    **options: Any,
) -> Drift:
    """Data drift of ``data`` against ``reference`` (raw data) or the baseline check in ``baseline_folder`` (its
    statistics.json's drift summaries); ``options`` are :class:`assay.checks.options.DriftOptions`'."""
    from assay.checks.drift import detect_drift

    statistics = None
    if baseline_folder is not None:
        folder = Path(baseline_folder)
        path = folder if folder.is_file() else folder / "statistics.json"
        if not path.is_file():
            raise InvalidInput(f"baseline {str(folder)!r} has no statistics.json: run `assay check baseline`")
        statistics = _read_json(path, "statistics file")
        baseline_source = str(baseline_folder) if baseline_source is None else baseline_source
    result = detect_drift(
        data, reference=reference, baseline_statistics=statistics, baseline_source=baseline_source, **options
    )
    return _fingerprinted(result, data)


def duplicates(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    id_column: str | None = None,
    examples: int = 5,
    show: Sequence[str] = (),
    max_share: float = 0.0,
) -> Duplicates:
    from assay.checks import find_duplicates

    result = find_duplicates(
        data, columns=columns, exclude=exclude, id_column=id_column, examples=examples, show=show, max_share=max_share
    )
    return _fingerprinted(result, data)


def leakage(
    data: Any,
    reference: Any,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    max_share: float = 0.0,
) -> SharedRows:
    """Rows of ``data`` (e.g. the test set) that also occur in ``reference`` (e.g. the training set)."""
    from assay.checks import shared_rows

    result = shared_rows(data, reference, columns=columns, exclude=exclude, max_share=max_share)
    return _fingerprinted(_fingerprinted(result, data), reference, "reference")


def target_leakage(
    data: Any,
    label: str | Label,
    *,
    positive: Any = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    threshold: float = 0.99,
    max_bins: int = 1000,
) -> TargetLeakage:
    from assay.checks import target_leakage as run

    result = run(
        data, label, positive=positive, features=features, exclude=exclude, threshold=threshold, max_bins=max_bins
    )
    return _fingerprinted(result, data)


def label_issues(
    data: Any,
    label: str,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    sample: int = 5000,
    folds: int = 5,
    seed: int = 0,
    max_excess: float = 0.05,
    max_share: float | None = None,
    reference: Any = None,
) -> LabelIssues:
    """Rows likely mislabelled; with ``reference`` (trusted labelled rows) the model is fitted on it."""
    from assay.checks import find_label_issues

    result = find_label_issues(
        data,
        label,
        features=features,
        exclude=exclude,
        sample=sample,
        folds=folds,
        seed=seed,
        max_excess=max_excess,
        max_share=max_share,
        reference=reference,
    )
    return _fingerprinted(result, data)


def representativeness(
    data: Any, populations: Mapping[str, Mapping[str, float]] | Sequence[str], *, alpha: float = 0.05
) -> Representativeness:
    """Group shares against reference populations: ``{column: {group: share}}`` or specs like
    ``"sex=Female:0.51,Male:0.49"``."""
    from assay.checks import parse_population
    from assay.checks import representativeness as run

    if isinstance(populations, Mapping):
        parsed = dict(populations)
    else:
        parsed = {}
        for text in populations:
            column, shares = parse_population(text)
            if column in parsed:
                raise InvalidInput(f"the population of {column!r} is given twice")
            parsed[column] = shares
    return _fingerprinted(run(data, parsed, alpha=alpha), data)


def pii(
    data: Any, *, columns: Sequence[str] | None = None, sample: int = 200, seed: int = 0, min_score: float = 0.4
) -> PiiScan:
    """Scan column names and a sample of values per column for personal data (offline Presidio)."""
    from assay.checks import scan_pii

    return _fingerprinted(scan_pii(data, columns=columns, sample=sample, seed=seed, min_score=min_score), data)


def write_check(result: CheckResult | Baseline | Validation, out: str | Path) -> dict[str, Path]:
    """Write ``<check>.json`` (the document) and ``report.html`` into ``out``; a baseline adds Model Monitor's
    statistics.json and constraints.json, a validation its statistics.json and constraint_violations.json."""
    from assay.checks import Baseline, Validation
    from assay.reports.checks import render_check_html

    folder = output_folder(out)
    document = result.to_dict()
    files: dict[str, Any] = {}
    if isinstance(result, Baseline):
        files |= {"statistics.json": result.statistics, "constraints.json": result.constraints}
    elif isinstance(result, Validation):
        files |= {
            "statistics.json": result.current.statistics,
            "constraint_violations.json": result.constraint_violations(),
        }
    files[f"{document['check']}.json"] = document
    paths: dict[str, Path] = {}
    for name, content in files.items():
        path = folder / name
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        paths[name] = path
    report = folder / "report.html"
    report.write_text(render_check_html(document), encoding="utf-8")
    paths["report.html"] = report
    return paths


#: Each check by the name the CLI (``assay check NAME``) and the server (``/checks/NAME``) give it, and its function.
CHECKS: Final[dict[str, Callable[..., Any]]] = {
    "baseline": baseline,
    "validate": validate,
    "duplicates": duplicates,
    "leakage": leakage,
    "target-leakage": target_leakage,
    "label-issues": label_issues,
    "representativeness": representativeness,
    "pii": pii,
    "drift": drift,
}


def baseline_attachments(recorded: Assessment, system: str) -> Mapping[str, str]:
    """The attachments of ``recorded`` (name -> SHA-256), refused unless it is a baseline check of ``system`` with its
    constraints.json (what the validate check reads)."""
    if recorded.kind != "assay.data-check" or recorded.document.get("check") != "baseline":
        raise InvalidInput(f"assessment {recorded.id} of {system} is not a baseline check")
    attachments = recorded.attachments or {}
    if "constraints.json" not in attachments:
        raise InvalidInput(f"baseline check {recorded.id} of {system} was recorded without its constraints.json")
    return attachments


class DataChecks(Service):
    """Data checks recorded in the workspace: ``workspace.checks.record(system, result)``; a check on a registered
    dataset version runs through ``workspace.runs.run(check, target, options)``."""

    @contextmanager
    def baseline_files(self, system: str, assessment_id: int) -> Iterator[Path]:
        """A temporary folder with the constraints.json (and statistics.json) of the baseline check recorded as
        assessment ``assessment_id`` of ``system``."""
        recorded = self.ws.assessments.get(system, assessment_id)
        attachments = baseline_attachments(recorded, system)
        files: dict[str, str] = {
            name: attachments[name] for name in ("constraints.json", "statistics.json") if name in attachments
        }
        with self.ws.artifacts.linked(files) as links:
            yield links["constraints.json"].parent

    def import_baseline(self, system: str, folder: str | Path, *, dataset_version: str | None = None) -> Assessment:
        """Record a baseline made elsewhere (SageMaker Model Monitor's ``statistics.json`` and ``constraints.json``
        in ``folder``) as a baseline check of ``system``, so monitors and ``validate`` use it as it is."""
        from assay.checks import imported_baseline

        constraints, statistics = read_baseline(folder)
        if statistics is None:
            raise InvalidInput(f"baseline folder {str(folder)!r} has no statistics.json: the drift checks need it")
        result = imported_baseline(constraints, statistics, f"imported from {Path(folder).name}")
        with tempfile.TemporaryDirectory() as out:
            paths = write_check(result, out)
            return self.record(system, result, dataset_version=dataset_version, files=paths)

    def record(
        self,
        system: str,
        result: CheckResult | Baseline | Validation | Mapping[str, Any],
        *,
        dataset_version: str | None = None,
        model_version: str | None = None,
        files: Mapping[str, Path] | None = None,
    ) -> Assessment:
        """Record a check's document (kind ``assay.data-check``) against ``system``; ``files`` (e.g. those
        :func:`write_check` wrote) are kept in the artifact store."""
        document = dict(result) if isinstance(result, Mapping) else result.to_dict()
        if document.get("schema") != "assay.data-check":
            raise InvalidInput("not a data-check document: record the result of an Assay data check")
        return self.ws.assessments.record(
            system, document, model_version=model_version, dataset_version=dataset_version, files=files
        )
