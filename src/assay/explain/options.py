"""The options of an explanation (``assay explain``, ``POST /api/systems/{s}/explanations``), declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from assay.frames.options import Column, Columns, FacetOption, Labelled, Seed

if TYPE_CHECKING:
    from assay.frames.roles import Facet, Label

__all__ = ["AttributionDriftOptions", "ExplanationOptions", "StabilityOptions"]


class ExplanationOptions(Labelled):
    """SHAP importance (global, per group, local rows) and partial dependence of a model on data."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facets", "features")

    label: Column | None = Field(  # type: ignore[assignment]
        default=None, description="Label column (its positive values give the model's positive class)."
    )
    facets: Annotated[list[Column | FacetOption], Field(max_length=50)] = Field(
        default=[], description="Facet columns for importance per group: a name, or a column with values/threshold."
    )
    rows: (
        Annotated[int, Field(ge=0, le=1_000)]
        | Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]], Field(max_length=1_000)]
    ) = Field(default=5, description="Local explanations: the first N rows, or these rows (counted from 0).")
    sample: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="Rows explained for the global importance, drawn at random (default: all)."
    )
    background: Annotated[int, Field(ge=1, le=1_000)] = Field(
        default=100, description="Background rows of the linear, permutation and kernel explainers."
    )
    method: Literal["auto", "tree", "linear", "permutation", "kernel"] = Field(
        default="auto", description="Explainer: auto, tree, linear, permutation or kernel."
    )
    pdp: Annotated[int, Field(ge=0, le=50)] = Field(
        default=5, description="Partial dependence for this many top features (0: none)."
    )
    grid_resolution: Annotated[int, Field(ge=2, le=200)] = Field(
        default=15, description="Grid points of each partial dependence curve."
    )
    features: Columns | None = Field(default=None, description="Feature columns, for a model that does not name them.")
    seed: Seed = Field(default=0, description="Seed of the sample, the background and the explainer.")

    def label_role(self) -> Label | None:  # type: ignore[override]
        return None if self.label is None else super().label_role()

    def facet_roles(self) -> list[Facet]:
        return [FacetOption.of(item).facet() for item in self.facets]


class AttributionDriftOptions(ExplanationOptions):
    """NDCG of the window's global SHAP ranking scored with a recorded explanation's attributions."""

    rows: (
        Annotated[int, Field(ge=0, le=1_000)]
        | Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]], Field(max_length=1_000)]
    ) = Field(default=0, description="Local explanations: the first N rows, or these rows (counted from 0).")
    pdp: Annotated[int, Field(ge=0, le=50)] = Field(
        default=0, description="Partial dependence for this many top features (0: none)."
    )
    threshold: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.9, description="A violation when the NDCG is below this (Clarify's 0.90)."
    )
    min_rows: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=100, description="Fewer rows explained than this: the window is not judged (status warn)."
    )


class StabilityOptions(Labelled):
    """How much a model's SHAP explanations move when its rows are perturbed slightly: per-row rank correlation and
    top-k overlap of the attributions, a local Lipschitz estimate and the global ranking's stability, per group."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facet", "columns", "immutable")

    label: Column | None = Field(  # type: ignore[assignment]
        default=None, description="Label column (its positive values give the model's positive class)."
    )
    facet: Column | None = Field(default=None, description="Column whose groups get their own figures (clean value).")
    sample: Annotated[int, Field(ge=10, le=5_000)] | None = Field(
        default=None,
        description="Rows explained, drawn at random (seeded; default: 100 for the tree and linear explainers, 20 "
        "for the permutation and kernel explainers, which cost far more per row).",
    )
    perturbations: Annotated[int, Field(ge=1, le=20)] = Field(
        default=3, description="Perturbed copies of each row, each explained again."
    )
    severity: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.1,
        description="Gaussian noise on the numeric columns, its standard deviation as a share of each column's "
        "spread (IQR / 1.349).",
    )
    swap: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.0, description="Share of the rows given another category in each categorical column (0: none)."
    )
    columns: Columns | None = Field(
        default=None, description="Columns perturbed (default: every feature of the model but the immutable ones)."
    )
    immutable: Columns = Field(default=[], description="Columns never perturbed.")
    background: Annotated[int, Field(ge=1, le=1_000)] = Field(
        default=100, description="Background rows of the linear, permutation and kernel explainers."
    )
    method: Literal["auto", "tree", "linear", "permutation", "kernel"] = Field(
        default="auto", description="Explainer: auto, tree, linear, permutation or kernel."
    )
    top_k: Annotated[int, Field(ge=1, le=50)] = Field(
        default=3, description="The top-k features (by |SHAP|) whose overlap (Jaccard) is measured."
    )
    min_rank_correlation: Annotated[float, Field(ge=-1, le=1)] = Field(
        default=0.7,
        description="Fail when the mean per-row Spearman correlation of |SHAP| before and after is below this.",
    )
    group_tolerance: Annotated[float, Field(ge=0, le=2)] = Field(
        default=0.1,
        description="Fail when a group's mean rank correlation is below the other rows' by more than this (and the "
        "gap's interval is above 0).",
    )
    min_group_size: Annotated[int, Field(ge=2, le=5_000)] = Field(
        default=20, description="Least explained rows of a group (and of the other rows) to judge it."
    )
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=1000, description="Bootstrap replicates (rows resampled) of the intervals (0: none)."
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] = Field(default=0.95, description="Confidence of the intervals.")
    seed: Seed = Field(default=0, description="Seed of the sample, the perturbations, the explainer and the bootstrap.")

    def label_role(self) -> Label | None:  # type: ignore[override]
        return None if self.label is None else super().label_role()
