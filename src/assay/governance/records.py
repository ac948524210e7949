"""What the governance store records, as validated input: the closed vocabularies and one model per record.

The vocabularies are facts of the standards: ISO/IEC 22989 life cycle stages, EU AI Act risk categories and
Annex III areas (titles after the Official Journal), human-oversight modes, ISO/IEC 23894 risk treatments and
the ISO/IEC 42005 headings of an impact assessment (Assay's own short wording). Every model forbids unknown
fields, so a typo is an error that names the field; :func:`validate` turns pydantic's errors into one
:class:`~assay.errors.InvalidInput` message.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.errors import InvalidInput

__all__ = [
    "ANNEX_III_AREAS",
    "EU_AI_ACT_CATEGORIES",
    "IMPACT_HEADINGS",
    "IMPLEMENTATION_STATUSES",
    "INCIDENT_SEVERITIES",
    "INCIDENT_STATUSES",
    "LIFECYCLE_STAGES",
    "MODEL_STAGES",
    "OVERSIGHT_MODES",
    "TREATMENTS",
    "DatasetVersionSpec",
    "ModelVersionSpec",
    "Name",
    "SystemSpec",
    "SystemUpdate",
    "validate",
]

LifecycleStage = Literal[
    "inception",
    "design_and_development",
    "verification_and_validation",
    "deployment",
    "operation_and_monitoring",
    "continuous_validation",
    "re_evaluation",
    "retirement",
]
LIFECYCLE_STAGES: Final = LifecycleStage.__args__  # type: ignore[attr-defined]

EuAiActCategory = Literal["prohibited", "high", "limited", "minimal"]
EU_AI_ACT_CATEGORIES: Final = EuAiActCategory.__args__  # type: ignore[attr-defined]

ANNEX_III_AREAS: Final[dict[int, str]] = {
    1: "Biometrics",
    2: "Critical infrastructure",
    3: "Education and vocational training",
    4: "Employment, workers' management and access to self-employment",
    5: "Access to and enjoyment of essential private services and essential public services and benefits",
    6: "Law enforcement",
    7: "Migration, asylum and border control management",
    8: "Administration of justice and democratic processes",
}

Oversight = Literal["human_in_the_loop", "human_on_the_loop", "human_over_the_loop"]
OVERSIGHT_MODES: Final = Oversight.__args__  # type: ignore[attr-defined]

ModelStage = Literal["development", "staging", "production", "retired"]
MODEL_STAGES: Final = ModelStage.__args__  # type: ignore[attr-defined]

Treatment = Literal["avoid", "mitigate", "transfer", "accept"]
TREATMENTS: Final = Treatment.__args__  # type: ignore[attr-defined]

Implementation = Literal["not_started", "planned", "in_progress", "implemented"]
IMPLEMENTATION_STATUSES: Final = Implementation.__args__  # type: ignore[attr-defined]

Severity = Literal["low", "medium", "high", "critical"]
INCIDENT_SEVERITIES: Final = Severity.__args__  # type: ignore[attr-defined]
IncidentStatus = Literal["open", "investigating", "resolved", "closed"]
INCIDENT_STATUSES: Final = IncidentStatus.__args__  # type: ignore[attr-defined]

# ISO/IEC 42005:2025 clause 6 headings of an AI system impact assessment (ids and Assay's own short titles).
IMPACT_HEADINGS: Final[dict[str, str]] = {
    "scope": "Scope of the impact assessment",
    "system_information": "AI system information (purpose, intended uses, foreseeable misuse)",
    "data_information": "Data information and quality",
    "algorithm_and_model": "Algorithm and model information",
    "deployment_environment": "Deployment environment",
    "interested_parties": "Relevant interested parties and affected people",
    "benefits": "Actual and reasonably foreseeable benefits",
    "harms": "Actual and reasonably foreseeable harms",
    "measures": "Measures to address harms and benefits",
    "approval": "Review, approval and monitoring of the assessment",
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            "must be 1-100 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, Field(max_length=20_000)]
Items = Annotated[list[Annotated[str, Field(min_length=1, max_length=2_000)]], Field(max_length=200)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _check_category(category: str | None, area: int | None, generative: bool | None, disclosure: str | None) -> None:
    if category == "high" and area is None:
        raise ValueError("a high-risk system needs its Annex III area (annex_iii_area 1-8)")
    if category is not None and category != "high" and area is not None:
        raise ValueError(f"annex_iii_area is only for high-risk systems, not {category}")
    if area is not None and area not in ANNEX_III_AREAS:
        raise ValueError(f"annex_iii_area must be one of {sorted(ANNEX_III_AREAS)}, not {area}")
    if generative and not (disclosure or "").strip():
        raise ValueError("a generative-AI system needs the disclosure text shown to its users (disclosure)")


class SystemSpec(_Record):
    """An AI system as registered."""

    name: Name
    purpose: Text = ""
    intended_uses: Items = Field(default_factory=list)
    out_of_scope_uses: Items = Field(default_factory=list)
    affected_people: Items = Field(default_factory=list)
    deployment_context: Text = ""
    lifecycle_stage: LifecycleStage = "inception"
    owner: Annotated[str, Field(max_length=200)] = ""
    eu_ai_act_category: EuAiActCategory = "minimal"
    annex_iii_area: int | None = None
    generative: bool = False
    disclosure: Text | None = None
    oversight: Oversight = "human_in_the_loop"

    @model_validator(mode="after")
    def _consistent(self) -> SystemSpec:
        _check_category(self.eu_ai_act_category, self.annex_iii_area, self.generative, self.disclosure)
        return self


class SystemUpdate(_Record):
    """Fields to change on a system; the merged result is validated as a whole :class:`SystemSpec`."""

    purpose: Text | None = None
    intended_uses: Items | None = None
    out_of_scope_uses: Items | None = None
    affected_people: Items | None = None
    deployment_context: Text | None = None
    lifecycle_stage: LifecycleStage | None = None
    owner: Annotated[str, Field(max_length=200)] | None = None
    eu_ai_act_category: EuAiActCategory | None = None
    annex_iii_area: int | None = None
    generative: bool | None = None
    disclosure: Text | None = None
    oversight: Oversight | None = None


class DatasetVersionSpec(_Record):
    """A dataset version: where it is (a URI, or a copy registered in the artifact store) and where it came from."""

    dataset: Name
    version: Name
    description: Text = ""
    uri: Annotated[str, Field(max_length=2_000)] | None = None
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    columns: list[dict[str, str]] = Field(default_factory=list)
    row_count: Annotated[int, Field(ge=0)] | None = None
    source: Text = ""
    licence: Annotated[str, Field(max_length=200)] = ""
    collection_method: Text = ""
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    pii: bool = False
    personal_data_categories: Items = Field(default_factory=list)
    parents: list[str] = Field(default_factory=list)  # "dataset@version" of the versions it derives from

    @model_validator(mode="after")
    def _period(self) -> DatasetVersionSpec:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError(f"period_end {self.period_end} is before period_start {self.period_start}")
        if self.personal_data_categories and not self.pii:
            raise ValueError("personal_data_categories are given but pii is false: set pii")
        return self


class ModelVersionSpec(_Record):
    """A model version of a system's model."""

    model: Name
    version: Name
    description: Text = ""
    framework: Annotated[str, Field(max_length=100)] = ""
    artifact_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    training_dataset: str | None = None  # "dataset@version"
    parent: str | None = None  # "version" of the same model, or "model@version"
    stage: ModelStage = "development"


_M = TypeVar("_M", bound=BaseModel)


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "record"


def validate(model: type[_M], data: dict[str, Any], what: str | None = None) -> _M:
    """``model(**data)``, with every problem in one :class:`InvalidInput` naming the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "is not a known field"
            problems.append(f"{_where(error['loc'])}: {message}")
        raise InvalidInput(f"invalid {what or model.__name__}: " + "; ".join(problems)) from None
