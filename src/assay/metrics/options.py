"""The options of a bias assessment (``assay assess``, ``POST /api/systems/{s}/assessments/run``, the web form).

Declared once here; see :mod:`assay.frames.options` for how the shells derive from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from assay.frames.options import Column, Columns, FacetOption, Labelled, Options, Seed, Share, setting

if TYPE_CHECKING:
    from assay.frames.roles import Facet

__all__ = ["BiasDriftOptions", "BiasOptions", "QualityOptions", "SatisfactionOptions"]


class BiasOptions(Labelled):
    """Clarify's pre- and post-training bias metrics, with intervals and per-group performance."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facets", "predicted", "score", "group", "features")

    facets: Annotated[list[Column | FacetOption], Field(min_length=1, max_length=50)] = Field(
        description="Facet columns: a name (one-vs-all), or a column with the values of facet d or a threshold."
    )
    predicted: Column | None = Field(
        default=None, description="Predicted-label column (uses the label's positive values)."
    )
    score: Column | None = Field(default=None, description="Score column: probability of the positive class.")
    threshold: Share = Field(default=0.5, description="Score threshold: score > T is positive.")
    group: Column | None = Field(default=None, description="Group column for CDDL and CDDPL.")
    intersect: bool = Field(default=False, description="Also assess every combination of the facets.")
    metrics: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=50)] | None = Field(
        default=None, description="Metric names (default: all)."
    )
    features: Columns | None = Field(default=None, description="Numeric feature columns for FT (default: Clarify's).")
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] | None = setting(
        "bootstrap_replicates", "Bootstrap replicates for the intervals (0: none)."
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] | None = setting("confidence", "Confidence level of the intervals.")
    seed: Seed | None = setting("seed", "Seed of the bootstrap.")
    min_group_size: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = setting(
        "min_group_size", "Warn about facet groups smaller than this."
    )
    divergence: Literal["sound", "clarify"] = Field(
        default="sound", description="sound (default) or clarify: Clarify's truncated KL/JS/LP/TVD/KS."
    )
    ft_max_rows: Annotated[int, Field(ge=1, le=10**12)] | None = Field(
        default=None,
        description="FT on a seeded random sample of this many rows when there are more; the result says so "
        "(default: the setting ASSAY_FT_MAX_ROWS, 1,000,000).",
    )
    ft_exact: bool = Field(default=False, description="FT on every row, however many (its cost is stated first).")

    @model_validator(mode="before")
    @classmethod
    def _exact_or_limit(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("ft_exact") and data.get("ft_max_rows") is not None:
            raise ValueError(
                "give a FT row limit (ft_max_rows, --ft-max-rows) or the exact run (ft_exact, --ft-exact), not both"
            )
        return data

    def facet_roles(self) -> list[Facet]:
        return [FacetOption.of(item).facet() for item in self.facets]


class QualityOptions(Labelled):
    """Model quality of a window with labels (Model Monitor's metrics and constraints), and the label-free CBPE
    estimate from a baseline's calibrated scores."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "predicted", "score")

    predicted: Column | None = Field(
        default=None, description="Predicted-label column (uses the label's positive values, or its threshold)."
    )
    score: Column | None = Field(default=None, description="Score column: probability of the positive class.")
    threshold: Share = Field(default=0.5, description="Score threshold: score > T is positive.")
    problem: Literal["auto", "binary", "regression"] = Field(
        default="auto",
        description="binary, regression, or auto: regression when the label is numeric with more than two values "
        "and no positive values or threshold are given.",
    )
    min_rows: Annotated[int, Field(ge=1, le=1_000_000_000)] = Field(
        default=200, description="Fewer labelled rows than this: the window is not judged (status warn)."
    )
    tolerance: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.05,
        description="Suggested constraints: baseline value minus this (rates, AUC, r2), or times 1 + this "
        "(mae, mse, rmse).",
    )
    judge_estimate: bool = Field(
        default=False,
        description="With too few labels, judge the CBPE estimate against the thresholds (default: report only).",
    )
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] | None = setting(
        "bootstrap_replicates", "Bootstrap replicates for the intervals (0: none)."
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] | None = setting("confidence", "Confidence level of the intervals.")
    seed: Seed | None = setting("seed", "Seed of the bootstrap.")

    @model_validator(mode="after")
    def _predicts(self) -> QualityOptions:
        if self.predicted is None and self.score is None:
            raise ValueError("give the predicted-label column (predicted) or the score column (score), or both")
        return self


class BiasDriftOptions(BiasOptions):
    """Clarify's bias metrics of a window against a recorded bias assessment (Model Monitor's bias drift check)."""

    band: Annotated[float, Field(ge=0, le=100)] = Field(
        default=0.1,
        description="A metric drifts when its interval lies wholly outside the baseline's interval widened by this "
        "(DI: by the factor e^band).",
    )
    min_count: Annotated[int, Field(ge=0, le=1_000_000_000)] = Field(
        default=30,
        description="Judge a metric only when every count it rests on (rows, labelled or predicted positives and "
        "negatives, confusion cells of each side) is at least this in the window and the baseline.",
    )
    # A window judges some 35 metrics at once, some on small groups: wider intervals than a single assessment's keep
    # clean windows quiet (measured in docs/monitoring-checks.md); replicates from count cells cost next to nothing.
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] | None = Field(
        default=2000, description="Bootstrap replicates for the window's intervals (0: none)."
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=0.995, description="Confidence level of the window's intervals."
    )


class SatisfactionOptions(Options):
    """End users' satisfaction from their ratings (mean rating, share positive) against a floor and a baseline."""

    column_fields: ClassVar[tuple[str, ...]] = ("rating",)

    rating: Column = Field(default="rating", description="Rating column (thumbs 0/1 or stars 1..5).")
    scale: Literal[2, 5] | None = Field(
        default=None, description="2: thumbs 0/1, 5: stars 1..5 (default: the scale column's one value)."
    )
    scale_column: Column = Field(default="scale", description="Column of each rating's scale, when there is one.")
    measure: Literal["positive", "mean"] = Field(
        default="positive", description="Judge the share of positive ratings (thumbs up, 4-5 stars) or the mean rating."
    )
    floor: Annotated[float, Field(ge=0, le=5)] | None = Field(
        default=None,
        description="Fail when the whole interval of the measure is below this (a share, or a mean rating).",
    )
    min_ratings: Annotated[int, Field(ge=1, le=1_000_000_000)] = Field(
        default=30, description="Fewer ratings than this: the window is not judged (status warn)."
    )
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        default=0.99, description="Confidence level of the intervals (Wilson for shares, t for mean stars)."
    )
    max_drop: Annotated[float, Field(ge=0, le=4)] = Field(
        default=0.05, description="Against a baseline: the drop of the measure allowed before it can fail."
    )
    alpha: Annotated[float, Field(gt=0, le=0.2)] = Field(
        default=0.0001, description="Against a baseline: fail when the drop exceeds max_drop at level 1 - alpha."
    )


class GuardRateOptions(Options):
    """A guardrail's block rate in a monitor's window (source ``guard``) against a ceiling and the previous window."""

    max_rate: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        default=None, description="Fail when the block rate is above this beyond chance (its lower bound is above)."
    )
    factor: Annotated[float, Field(gt=1, le=1000)] | None = Field(
        default=None, description="Fail when the rate is this many times the previous window's, significantly."
    )
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = Field(
        default=0.01, description="The false-alarm level of each test (one-sided)."
    )
    min_decisions: Annotated[int, Field(ge=1, le=1_000_000_000)] = Field(
        default=50, description="Fewer decisions than this in the window: not judged (status warn)."
    )

    @model_validator(mode="after")
    def _one_limit(self) -> GuardRateOptions:
        if self.max_rate is None and self.factor is None:
            raise ValueError("give max_rate, factor or both")
        return self
