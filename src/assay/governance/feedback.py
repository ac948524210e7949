"""End users' feedback on an output, validated: a rating on a scale, a reason category, a comment, the inference it
is about and the attributes it is summarised by. Pure: the service (``services.feedback``) checks the category
against the system's list and the model version against the registry, and redacts the comment before storing it.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, Field, StrictBool, StrictInt, ValidationInfo, field_validator, model_validator

from assay.governance.records import _Record

__all__ = [
    "DEFAULT_CATEGORIES",
    "MAX_ATTRIBUTES",
    "MAX_ATTRIBUTE_VALUE",
    "MAX_COMMENT",
    "SCALES",
    "SOURCES",
    "FeedbackSpec",
]

#: the ratings of each scale: 2 is thumbs (0 down, 1 up), 5 is stars (1 to 5)
SCALES: Final[dict[int, tuple[int, int]]] = {2: (0, 1), 5: (1, 5)}
DEFAULT_CATEGORIES: Final = ("wrong", "unclear", "unfair", "offensive", "other")
SOURCES: Final = ("api", "snippet", "client", "file")
MAX_COMMENT: Final = 2_000
MAX_ATTRIBUTES: Final = 20
MAX_ATTRIBUTE_VALUE: Final = 200
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,49}$")

Attribute = Annotated[str, Field(max_length=MAX_ATTRIBUTE_VALUE)] | StrictBool | StrictInt | float


class FeedbackSpec(_Record):
    """One piece of feedback as submitted (before the comment is redacted)."""

    scale: Literal[2, 5] = 5
    rating: StrictInt | None = None
    category: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] = ""
    model_version: Annotated[str, Field(min_length=3, max_length=201)] | None = None
    inference_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    attributes: Annotated[dict[str, Attribute], Field(max_length=MAX_ATTRIBUTES)] = Field(default_factory=dict)
    created_at: AwareDatetime | None = None  # imports only: when the feedback was given (never in the future)

    @field_validator("rating")
    @classmethod
    def _on_scale(cls, rating: int | None, info: ValidationInfo) -> int | None:
        scale = info.data.get("scale")
        if rating is not None and scale in SCALES:
            low, high = SCALES[scale]
            if not low <= rating <= high:
                kind = "thumbs: 0 (down) or 1 (up)" if scale == 2 else "stars: 1 to 5"
                raise ValueError(f"{rating} is outside scale {scale} ({kind})")
        return rating

    @field_validator("attributes")
    @classmethod
    def _keys(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        for key, value in attributes.items():
            if not _KEY.match(key):
                raise ValueError(
                    f"key {key[:60]!r} must start with a letter or _ and have at most 50 letters, digits or _ . -"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key}: must be a finite number")
        return attributes

    @model_validator(mode="after")
    def _something(self) -> FeedbackSpec:
        if self.rating is None and self.category is None and not self.comment:
            raise ValueError("give a rating, a category or a comment")
        return self

    def attribute_values(self) -> dict[str, Any]:
        return dict(self.attributes)
