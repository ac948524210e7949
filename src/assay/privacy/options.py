"""The options of the security and privacy tests (membership inference, poisoning indicators, anonymisation),
declared once: the CLI, the server's request bodies and ``assay run KIND`` derive from them."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from assay.frames.options import Column, Columns, Labelled, Options, Seed, Share

__all__ = ["AnonymiseOptions", "MembershipOptions", "PoisoningOptions"]

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
