"""The options of the perturbation robustness suite, declared once: ``assay run robustness``, the server's request
body and the job derive from them."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from assay.frames.options import Column, Columns, Finite, Labelled, Seed, Share

__all__ = ["ADVERSARIAL_ATTACKS", "CORRUPTIONS", "AdversarialOptions", "Corruption", "RobustnessOptions"]

Corruption = Literal["noise", "unit", "missing", "swap", "typo"]
CORRUPTIONS: tuple[Corruption, ...] = ("noise", "unit", "missing", "swap", "typo")
Severity = Annotated[float, Field(gt=0, le=1)]


class RobustnessOptions(Labelled):
    """Accuracy, the positive rate and the bias metrics DI and DPPL of a model on its data under realistic
    corruptions (Gaussian noise, unit errors, missing values, category swaps, typos) at stated severities, overall
    and per group of a facet."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facet", "columns", "immutable")

    facet: Column | None = Field(default=None, description="Column whose groups get their own figures (clean value).")
    corruptions: Annotated[list[Corruption], Field(min_length=1, max_length=5)] | None = Field(
        default=None,
        description="Corruptions run: noise, unit, missing, swap, typo (default: all that fit the columns).",
    )
    severities: Annotated[list[Severity], Field(min_length=1, max_length=20)] = Field(
        default=[0.1, 0.2, 0.5, 1.0],
        description="Severities in (0, 1]: the noise's standard deviation as a share of the column's spread, the "
        "share of rows given a unit error, a missing value, a swapped category or a typo.",
    )
    columns: Columns | None = Field(
        default=None, description="Columns corrupted (default: every feature of the model but the immutable ones)."
    )
    immutable: Columns = Field(default=[], description="Columns never corrupted.")
    at: Severity = Field(
        default=0.2,
        description="The verdict judges the severities up to this one (it must be one of them or above one).",
    )
    max_accuracy_drop: Share = Field(
        default=0.05, description="Fail when a corruption at a judged severity lowers accuracy by more than this."
    )
    group_tolerance: Share = Field(
        default=0.05,
        description="Fail when a group's accuracy drop exceeds the drop of the other rows by more than this.",
    )
    min_group_size: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=100, description="Least rows of a group (and of the other rows) to judge its degradation."
    )
    sample: Annotated[int, Field(ge=100, le=1_000_000)] = Field(
        default=5000, description="Labelled rows drawn at random (seeded) and corrupted."
    )
    seed: Seed = Field(default=0, description="Seed of the sample and of every corruption.")
    per_column: bool = Field(
        default=True,
        description="Also corrupt each column alone (noise for numbers, swap for categories, typo for text) at "
        "column_severity, and rank the columns by the accuracy drop (one scoring per column).",
    )
    column_severity: Severity = Field(default=0.2, description="The severity of the per-column sensitivity.")

    @field_validator("severities")
    @classmethod
    def _sorted(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError("severities must differ from each other")
        return sorted(value)

    @model_validator(mode="after")
    def _judged(self) -> RobustnessOptions:
        if min(self.severities) > self.at:
            raise ValueError(f"at ({self.at}) is below every severity ({', '.join(map(str, self.severities))})")
        return self


Attack = Literal["hop-skip-jump", "zoo", "categories"]
ADVERSARIAL_ATTACKS: tuple[Attack, ...] = ("hop-skip-jump", "zoo", "categories")
Range = Annotated[list[Finite], Field(min_length=2, max_length=2)]


class AdversarialOptions(Labelled):
    """Black-box adversarial attacks on a model through its adapter (ART's HopSkipJump and ZOO on the numeric
    columns, a greedy search over categories and typos), with constraints that keep every row valid: the share of
    correctly predicted rows whose label flips within a budget, and the size of the change needed, per group."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facet", "immutable", "ranges")

    facet: Column | None = Field(
        default=None, description="Column whose groups get their own success rate (never changed by the attacks)."
    )
    immutable: Columns = Field(default=[], description="Columns the attacks never change (besides the facet).")
    ranges: Annotated[dict[Column, Range], Field(max_length=10_000)] = Field(
        default={},
        description='Allowed [min, max] of numeric columns, e.g. {"age": [17, 90]} (default: the range observed in '
        "the data).",
    )
    attacks: Annotated[list[Attack], Field(min_length=1, max_length=3)] | None = Field(
        default=None,
        description="Attacks run: hop-skip-jump (labels only), zoo (needs probabilities), categories (greedy search "
        "over categories and typos); default: all that fit the model and the columns.",
    )
    max_distance: Annotated[float, Field(gt=0, le=100)] = Field(
        default=0.5,
        description="Budget of a numeric change: its L2 size in spreads (IQR/1.349) of the columns; a flip needing "
        "more is not a success.",
    )
    max_changes: Annotated[int, Field(ge=1, le=10)] = Field(
        default=1, description="Budget of the greedy search: categories changed or typos made per row."
    )
    min_confidence: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        default=0.9,
        description="The verdict judges the attacked rows whose class the model gives at least this probability "
        "(decisions it is sure of); rows nearer the boundary are attacked and reported, not judged. A model of "
        "labels only: every row is judged.",
    )
    max_success: Share = Field(
        default=0.5,
        description="Fail when a larger share of the judged rows can be flipped within budget (0.5: the median "
        "change that overturns a confident decision is inside the budget).",
    )
    iterations: Annotated[int, Field(ge=1, le=200)] = Field(
        default=10, description="Iterations of HopSkipJump (ZOO runs twice as many); the queries used are reported."
    )
    group_tolerance: Share = Field(
        default=0.05,
        description="A group is a finding when its success rate exceeds the other rows' by more than this and "
        "significantly (one-sided Fisher exact test, Bonferroni over the groups).",
    )
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(default=0.05, description="Significance of the group test.")
    min_group_size: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=30, description="Least attacked rows of a group (and of the other rows) to judge it."
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.95, description="Confidence of the Wilson intervals of the success rates."
    )
    sample: Annotated[int, Field(ge=10, le=100_000)] = Field(
        default=200, description="Correctly predicted rows attacked, drawn at random (seeded)."
    )
    seed: Seed = Field(default=0, description="Seed of the sample and of the attacks.")

    @field_validator("ranges")
    @classmethod
    def _ordered(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for column, (low, high) in value.items():
            if low > high:
                raise ValueError(f"ranges: {column} has its minimum {low} above its maximum {high}")
        return value

    @field_validator("attacks")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("attacks must differ from each other")
        return value
