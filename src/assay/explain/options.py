"""The options of an explanation (``assay explain``, ``POST /api/systems/{s}/explanations``), declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from assay.frames.options import Column, Columns, FacetOption, Labelled, Seed

if TYPE_CHECKING:
    from assay.frames.roles import Facet, Label

__all__ = ["AttributionDriftOptions", "ExplanationOptions"]


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
