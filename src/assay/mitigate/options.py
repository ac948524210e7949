"""The options of a bias mitigation (``assay mitigate``, ``POST /api/systems/{s}/mitigations``), declared once."""

from __future__ import annotations

from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from assay.frames.options import Columns, FacetOption, Finite, Labelled, Seed, Share

__all__ = ["METHODS", "MitigationOptions"]

Method = Literal["reweighing", "exponentiated-gradient", "threshold-optimizer", "reject-option"]
METHODS: Final = ("reweighing", "exponentiated-gradient", "threshold-optimizer", "reject-option")


class MitigationOptions(Labelled):
    """Fit a mitigator around a model for facet d, and measure the trade-off on held-out rows."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facet", "features")

    facet: FacetOption = Field(description="Facet d, the group to protect: its values or a threshold.")
    method: Method = Field(description=f"One of: {', '.join(METHODS)}.")
    constraint: Literal["demographic_parity", "equalized_odds"] | None = Field(
        default=None,
        description="demographic_parity (default) or equalized_odds (exponentiated-gradient, threshold-optimizer).",
    )
    features: Columns | None = Field(
        default=None, description="Feature columns (default: the names the model was fit on)."
    )
    test_size: Annotated[float, Field(ge=0.05, le=0.95)] = Field(
        default=0.3, description="Share of the rows held out to measure the trade-off."
    )
    seed: Seed = Field(default=0, description="Seed of the split, the sample and the bootstrap.")
    sample: Annotated[int, Field(ge=10, le=100_000_000)] | None = Field(
        default=None, description="Use a random sample of this many rows."
    )
    difference_bound: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.01, description="exponentiated-gradient: the largest difference between the groups allowed."
    )
    max_iter: Annotated[int, Field(ge=1, le=1_000)] = Field(
        default=50, description="exponentiated-gradient: iterations."
    )
    tolerance: Share | None = Field(
        default=None, description="threshold-optimizer, demographic parity: selection-rate difference allowed."
    )
    margin: Annotated[float, Field(ge=0, le=0.5)] | None = Field(
        default=None, description="reject-option: half-width of the critical region (default: searched)."
    )
    metric: Literal["DPPL", "DI"] = Field(
        default="DPPL", description="reject-option: DPPL or DI, kept within the bounds by the search."
    )
    bounds: tuple[Finite, Finite] | None = Field(
        default=None, description="reject-option: LOW,HIGH for the metric (default -0.05,0.05 or 0.8,1.25)."
    )
    threshold: Share = Field(default=0.5, description="reject-option: the decision threshold on the probability.")
    curve: bool = Field(default=True, description="Compute the trade-off curve over the method's parameter.")
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=200, description="Bootstrap replicates for the intervals (0: none)."
    )
