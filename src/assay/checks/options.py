"""The options of each data check (``assay check NAME``, ``POST /api/systems/{s}/checks/NAME``), declared once.

:data:`CHECK_OPTIONS` maps each check's name to its options model; :meth:`CheckOptions.arguments` gives the keyword
arguments of the check's function in :mod:`assay.services.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import Field

from assay.frames.options import Column, Columns, Labelled, Options, Seed, Share

__all__ = [
    "CHECK_OPTIONS",
    "BaselineOptions",
    "CheckOptions",
    "DriftOptions",
    "DuplicatesOptions",
    "LabelIssuesOptions",
    "LeakageOptions",
    "PiiOptions",
    "RepresentativenessOptions",
    "TargetLeakageOptions",
    "ValidateOptions",
]

_Categories = Annotated[int, Field(ge=1, le=100_000)]
_EXCLUDE = "Columns to leave out."
_SketchK = Annotated[int, Field(ge=8, le=65_535)]
_SKETCH_K = "k of the KLL quantile sketches of numeric columns (rank error 0.28% at 1000)."


class CheckOptions(Options):
    """Base of the data checks' options."""

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of the check's function."""
        return self.options_only()


class BaselineOptions(CheckOptions):
    """Profile a reference dataset and suggest constraints, in Model Monitor's formats."""

    max_categories: _Categories = Field(default=1000, description="Values kept per text column in statistics.json.")
    max_domain: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=50, description="Text columns with at most this many values get a domain."
    )
    comparison_threshold: Share = Field(default=0.1, description="Drift threshold (distance between CDFs).")
    comparison_method: Literal["Simple", "Robust"] = Field(
        default="Simple", description="Simple or Robust (Deequ's linf_simple/linf_robust)."
    )
    categorical_drift_method: Literal["LInfinity", "ChiSquared"] = Field(
        default="LInfinity", description="LInfinity or ChiSquared."
    )
    sketch_k: _SketchK = Field(default=1000, description=_SKETCH_K)
    reference_sample: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=0,
        description="Reference rows kept at random in statistics.json for the drift check's domain classifier "
        "(0: none; kept rows are copies of the data, personal data included).",
    )
    seed: Seed = Field(default=0, description="Seed of the kept reference rows.")

    def arguments(self) -> dict[str, Any]:
        return {
            "max_categories": self.max_categories,
            "max_domain": self.max_domain,
            "sketch_k": self.sketch_k,
            "reference_sample": self.reference_sample,
            "seed": self.seed,
            "monitoring_config": {
                "distribution_constraints": {
                    "comparison_threshold": self.comparison_threshold,
                    "comparison_method": self.comparison_method,
                    "categorical_comparison_threshold": self.comparison_threshold,
                    "categorical_drift_method": self.categorical_drift_method,
                }
            },
        }


class ValidateOptions(CheckOptions):
    """Validate a dataset against a baseline (Model Monitor's constraint violations and drift)."""

    max_categories: _Categories = Field(default=1000, description="Values kept per text column in statistics.json.")


class DuplicatesOptions(CheckOptions):
    """Count duplicate rows; examples name rows by position, never by value."""

    column_fields: ClassVar[tuple[str, ...]] = ("columns", "exclude", "id_column", "show")

    columns: Columns | None = Field(default=None, description="Columns compared (default: all).")
    exclude: Columns = Field(default=[], description=_EXCLUDE)
    id_column: Column | None = Field(default=None, description="Column naming rows in the examples (not compared).")
    show: Columns = Field(default=[], description="Columns whose values the examples may show.")
    examples: Annotated[int, Field(ge=0, le=1_000)] = Field(default=5, description="Largest groups listed.")
    max_share: Share = Field(default=0.0, description="Pass when the share of duplicate rows is at most this.")


class LeakageOptions(CheckOptions):
    """Rows of a dataset that also occur in another (e.g. test rows in the training set)."""

    column_fields: ClassVar[tuple[str, ...]] = ("columns", "exclude")

    columns: Columns | None = Field(default=None, description="Columns compared (default: all).")
    exclude: Columns = Field(default=[], description=_EXCLUDE)
    max_share: Share = Field(default=0.0, description="Pass when the share of shared rows is at most this.")


class TargetLeakageOptions(Labelled, CheckOptions):
    """Features that predict the label alone (ROC AUC at least the threshold), computed on the engine."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "features", "exclude")

    features: Columns | None = Field(default=None, description="Feature columns (default: all but the label).")
    exclude: Columns = Field(default=[], description=_EXCLUDE)
    threshold: Annotated[float, Field(ge=0.5, le=1)] = Field(
        default=0.99, description="Flag a feature whose ROC AUC alone is at least this."
    )
    max_bins: Annotated[int, Field(ge=2, le=100_000)] = Field(
        default=1000, description="Bins for numeric features with more distinct values."
    )

    def arguments(self) -> dict[str, Any]:
        given = self.model_dump(include={"features", "exclude", "threshold", "max_bins"})
        return {**given, "label": self.label_role()}


class LabelIssuesOptions(CheckOptions):
    """Rows likely mislabelled, by cross-validated confident learning (cleanlab) on a stated sample."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "features", "exclude")

    label: Column = Field(description="Label column (any number of classes).")
    features: Columns | None = Field(default=None, description="Feature columns (default: all but the label).")
    exclude: Columns = Field(default=[], description=_EXCLUDE)
    sample: Annotated[int, Field(ge=10, le=100_000)] = Field(
        default=5000, description="Rows sampled (at random) for the cross-validated model."
    )
    folds: Annotated[int, Field(ge=2, le=20)] = Field(default=5, description="Cross-validation folds.")
    seed: Seed = Field(default=0, description="Seed of the sample and the folds.")
    max_excess: Share = Field(
        default=0.05,
        description="Fail when the share flagged exceeds the share expected of correct labels (labels drawn from "
        "the model's own probabilities) by more than this, and significantly.",
    )
    max_share: Share | None = Field(
        default=None,
        description="Also fail when the share of likely mislabelled rows is above this (default: no limit).",
    )


class RepresentativenessOptions(CheckOptions):
    """Group shares against a reference population, with a chi-square goodness-of-fit test."""

    column_fields: ClassVar[tuple[str, ...]] = ("populations",)

    populations: Annotated[
        dict[Column, Annotated[dict[Annotated[str, Field(max_length=1_000)], Share], Field(min_length=1)]],
        Field(min_length=1, max_length=100),
    ] = Field(description='Reference shares per column and group: {"sex": {"Female": 0.51, "Male": 0.49}}.')
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.05, description="Significance level of the chi-square test."
    )


class PiiOptions(CheckOptions):
    """Personal data in column names and sampled values (Presidio, offline); never returns a value."""

    column_fields: ClassVar[tuple[str, ...]] = ("columns",)

    columns: Columns | None = Field(default=None, description="Columns scanned (default: all).")
    sample: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=200, description="Values scanned per column (drawn at random)."
    )
    seed: Seed = Field(default=0, description="Seed of the sample.")
    min_score: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.4, description="Least recogniser score that counts."
    )


class DriftOptions(CheckOptions):
    """Data drift per column (and a domain classifier) against a reference or a baseline check's sketches."""

    column_fields: ClassVar[tuple[str, ...]] = ("columns", "exclude")

    columns: Columns | None = Field(default=None, description="Columns compared (default: all).")
    exclude: Columns = Field(default=[], description=_EXCLUDE)
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.01, description="Significance level of the columns' tests as one family (Holm's step-down)."
    )
    numeric_threshold: Annotated[float, Field(ge=0, le=100)] = Field(
        default=0.05, description="Least Wasserstein distance, in reference standard deviations, that is drift."
    )
    categorical_threshold: Share = Field(
        default=0.05, description="Least change of a value's share (L-infinity) that is drift."
    )
    exact_rows: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        default=100_000, description="Sides of at most this many rows are tested on their values, larger on sketches."
    )
    sketch_k: _SketchK = Field(default=1000, description=_SKETCH_K)
    max_levels: _Categories = Field(default=1000, description="Values counted per text column (the rest as other).")
    multivariate: bool = Field(default=True, description="Run the domain classifier when reference rows are at hand.")
    classifier_sample: Annotated[int, Field(ge=100, le=100_000)] = Field(
        default=5000, description="Rows per side the domain classifier is trained on (drawn at random)."
    )
    auc_threshold: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        default=0.55, description="Drift when the domain classifier's ROC AUC interval lies above this."
    )
    seed: Seed = Field(default=0, description="Seed of the domain classifier's samples and folds.")


#: Each check by the name the CLI (``assay check NAME``) and the server (``/checks/NAME``) give it.
CHECK_OPTIONS: Final[dict[str, type[CheckOptions]]] = {
    "baseline": BaselineOptions,
    "validate": ValidateOptions,
    "duplicates": DuplicatesOptions,
    "leakage": LeakageOptions,
    "target-leakage": TargetLeakageOptions,
    "label-issues": LabelIssuesOptions,
    "representativeness": RepresentativenessOptions,
    "pii": PiiOptions,
    "drift": DriftOptions,
}
