"""The options of the security and privacy tests (membership inference, model extraction, poisoning indicators,
anonymisation),
declared once: the CLI, the server's request bodies and ``assay run KIND`` derive from them."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from assay.frames.options import Column, Columns, Finite, Labelled, Options, Seed, Share, Values

__all__ = ["DEFAULT_BUDGETS", "MAX_QUERIES", "AnonymiseOptions", "ExtractionOptions", "MembershipOptions",
           "PoisoningOptions"]  # fmt: skip

_Rows = Annotated[int, Field(ge=100, le=1_000_000)]


class MembershipOptions(Labelled):
    """How well an attacker tells the model's training rows (the data) from held-out rows (the reference)."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "facet")

    facet: Column | None = Field(default=None, description="Column whose groups get their own attack AUC.")
    sample: Annotated[int, Field(ge=100, le=200_000)] = Field(
        default=5000, description="Rows drawn at random from each side (training and held-out)."
    )
    attack: Literal["gb", "rf", "lr"] = Field(
        default="gb",
        description="The attack model of ART's MembershipInferenceBlackBox (gradient boosting, random forest, "
        "logistic regression); the loss-threshold attack always runs too.",
    )
    max_auc: Annotated[float, Field(ge=0.5, le=1)] = Field(
        default=0.6, description="Fail when the strongest attack's AUC on held-back rows is above this."
    )
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=200, description="Bootstrap replicates of the AUC intervals (0: none)."
    )
    confidence: Annotated[float, Field(gt=0, lt=1)] = Field(default=0.95, description="Confidence of the intervals.")
    min_group_size: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=30, description="Least rows per side for a group's AUC."
    )
    seed: Seed = Field(default=0, description="Seed of the samples, the attack's split and the bootstrap.")


class PoisoningOptions(Options):
    """Indicators of data poisoning in a training set: label-flip clusters, influential outliers, conflicting
    near-duplicates and backdoor-like trigger values; rows named by position, never by value."""

    column_fields: ClassVar[tuple[str, ...]] = ("label", "features", "exclude")

    label: Column = Field(description="Label column (any number of classes).")
    features: Columns | None = Field(default=None, description="Feature columns (default: all but the label).")
    exclude: Columns = Field(default=[], description="Columns to leave out.")
    sample: _Rows = Field(default=20_000, description="Rows examined (drawn at random when there are more).")
    neighbours: Annotated[int, Field(ge=2, le=100)] = Field(
        default=10, description="Nearest neighbours of each row (k)."
    )
    min_cluster: Annotated[int, Field(ge=2, le=100_000)] = Field(
        default=50, description="Least rows of a label-flip cluster that is reported."
    )
    max_cook: Annotated[float, Field(gt=0)] = Field(
        default=1.0,
        description="Flag a row whose Cook's distance in the logistic regression exceeds this (1: deleting the row "
        "would move the coefficients to the edge of their 50% confidence region).",
    )
    max_conflicts: Share = Field(
        default=0.01, description="Fail when more than this share of rows has a near-duplicate with another label."
    )
    trigger_share: Share = Field(
        default=0.02, description="A trigger candidate is a value held by at most this share of rows."
    )
    trigger_support: Annotated[int, Field(ge=2, le=100_000)] = Field(
        default=20, description="Least rows holding a trigger candidate."
    )
    trigger_purity: Share = Field(
        default=0.95, description="Least share of a trigger candidate's rows with its majority label."
    )
    trigger_gap: Share = Field(
        default=0.3,
        description="Least excess of that share over what the other columns predict for the same rows.",
    )
    seed: Seed = Field(default=0, description="Seed of the sample and the folds.")

    def arguments(self) -> dict[str, Any]:
        return self.options_only()


Generalisation = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z_]+(:[0-9]+)?$")]


class AnonymiseOptions(Options):
    """Pseudonymise identifiers, generalise quasi-identifiers, suppress rare combinations; then measure
    k-anonymity, l-diversity, the re-identification risk and the utility lost."""

    column_fields: ClassVar[tuple[str, ...]] = ("identifiers", "generalise", "quasi_identifiers", "sensitive",
                                                "facet", "label", "drop")  # fmt: skip

    identifiers: Columns = Field(default=[], description="Columns pseudonymised by keyed hashing (HMAC-SHA256).")
    generalise: Annotated[dict[Column, Generalisation], Field(max_length=1_000)] = Field(
        default={},
        description='How each quasi-identifier is generalised: {"age": "band:10", "zip": "truncate:3", '
        '"birth": "month" | "year", "job": "other:50" (values held by fewer rows become "other"), "name": "mask"}.',
    )
    quasi_identifiers: Columns | None = Field(
        default=None, description="Columns an attacker could link on (default: the generalised columns)."
    )
    drop: Columns = Field(default=[], description="Columns removed from the output.")
    k: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=5, description="Suppress rows whose combination of quasi-identifiers occurs fewer than k times."
    )
    sensitive: Column | None = Field(default=None, description="Sensitive column whose l-diversity is measured.")
    facet: Column | None = Field(default=None, description="Facet of the bias metrics compared before and after.")
    label: Column | None = Field(default=None, description="Label of the bias metrics compared before and after.")
    positive: Annotated[str, Field(max_length=1_000)] | None = Field(
        default=None, description="The label's positive value (default: 1)."
    )

    def arguments(self) -> dict[str, Any]:
        return self.options_only()


#: The attacker's query budgets of the extraction test by default (queries answered by the model).
DEFAULT_BUDGETS = (50, 100, 200, 500, 1000, 2000)
#: The hard ceiling of ``max_queries``: no extraction test sends more rows to a model than this.
MAX_QUERIES = 100_000
_Queries = Annotated[int, Field(ge=10, le=MAX_QUERIES)]


class ExtractionOptions(Options):
    """How many queries an attacker needs to train a surrogate that agrees with the model on a stated share of rows
    never queried (model extraction, through the model's adapter: an HTTP endpoint, a file, a callable)."""

    column_fields: ClassVar[tuple[str, ...]] = ("features", "label")

    features: Columns | None = Field(
        default=None,
        description="Columns sent to the model (default: the model's features; needed for an endpoint that does not "
        "name them).",
    )
    label: Column | None = Field(
        default=None, description="True label column: the surrogate's accuracy is measured on it too (optional)."
    )
    positive: Values | None = Field(default=None, description="The label's positive values (default: 1).")
    label_threshold: Finite | None = Field(default=None, description="The label is positive above this.")
    budgets: Annotated[list[_Queries], Field(min_length=1, max_length=20)] = Field(
        default=list(DEFAULT_BUDGETS),
        description="Query budgets of the attacker: a surrogate is trained on the model's answers to each many rows "
        "(nested: a larger budget adds rows to a smaller one's).",
    )
    evaluation: Annotated[int, Field(ge=50, le=MAX_QUERIES)] = Field(
        default=1000, description="Rows held out (never queried for training) on which agreement is measured."
    )
    agreement: Annotated[float, Field(gt=0.5, le=1)] = Field(
        default=0.99, description="The stated agreement: the share of held-out rows where surrogate and model decide "
        "alike (0.99: the copy decides like the model on 99 rows in 100; 0.95 is what the owner's own model retrained "
        "on other rows of the population agrees).",
    )  # fmt: skip
    high_exposure: _Queries = Field(
        default=1000,
        description="Exposure is high (the verdict fails) when the stated agreement is reached within this many "
        "queries.",
    )
    max_queries: _Queries = Field(
        default=5000,
        description="Cap on the queries sent to the model (the largest budget plus the evaluation rows); at most "
        "100,000.",
    )
    surrogate: Literal["both", "gb", "linear"] = Field(
        default="both",
        description="The attacker's learners: gradient boosting, a linear model on one-hot features, or both (the "
        "better of the two at each budget counts).",
    )
    answers: Literal["auto", "label"] = Field(
        default="auto",
        description="What the attacker uses: the probabilities when the model gives them (auto), or its labels only.",
    )
    seed: Seed = Field(default=0, description="Seed of the samples and the surrogates.")

    @field_validator("budgets")
    @classmethod
    def _ascending(cls, given: list[int]) -> list[int]:
        return sorted(set(given))

    @model_validator(mode="after")
    def _capped(self) -> ExtractionOptions:
        total = max(self.budgets) + self.evaluation
        if total > self.max_queries:
            raise ValueError(
                f"the largest budget ({max(self.budgets):,}) plus the evaluation rows ({self.evaluation:,}) makes "
                f"{total:,} queries, above max_queries ({self.max_queries:,}): lower the budgets or the evaluation "
                f"rows, or raise max_queries (at most {MAX_QUERIES:,})"
            )
        return self

    def arguments(self) -> dict[str, Any]:
        return self.options_only()
