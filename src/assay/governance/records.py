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
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from assay.errors import InvalidInput, NotFound
from assay.governance.catalogues import list_frameworks, load_catalogue
from assay.governance.licences import normalise_licence
from assay.governance.risk import DEFAULT_MATRIX, LEVELS, RiskScore, score_risk

__all__ = [
    "ACTION_STATUSES",
    "ANNEX_III_AREAS",
    "EU_AI_ACT_CATEGORIES",
    "EVIDENCE_KINDS",
    "IMPACT_GUIDANCE",
    "IMPACT_HEADINGS",
    "IMPACT_SCALE",
    "IMPACT_STATUSES",
    "IMPLEMENTATION_STATUSES",
    "INCIDENT_SEVERITIES",
    "INCIDENT_STATUSES",
    "LIFECYCLE_STAGES",
    "LIKELIHOOD_SCALE",
    "MODEL_STAGES",
    "OVERSIGHT_MODES",
    "RISK_STATUSES",
    "TREATMENTS",
    "ControlStatusSpec",
    "CorrectiveActionSpec",
    "DatasetVersionSpec",
    "DatasetVersionUpdate",
    "EvidenceSpec",
    "ImpactAssessmentSpec",
    "ImpactAssessmentUpdate",
    "IncidentSpec",
    "IncidentUpdate",
    "ModelVersionSpec",
    "ModelVersionUpdate",
    "Name",
    "RiskSpec",
    "RiskUpdate",
    "SystemSpec",
    "SystemUpdate",
    "choice",
    "coerce",
    "updates",
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
LIFECYCLE_STAGES: Final = get_args(LifecycleStage)

EuAiActCategory = Literal["prohibited", "high", "limited", "minimal"]
EU_AI_ACT_CATEGORIES: Final = get_args(EuAiActCategory)

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
OVERSIGHT_MODES: Final = get_args(Oversight)

ModelStage = Literal["development", "staging", "production", "retired"]
MODEL_STAGES: Final = get_args(ModelStage)

Treatment = Literal["avoid", "mitigate", "transfer", "accept"]
TREATMENTS: Final = get_args(Treatment)

Implementation = Literal["not_started", "planned", "in_progress", "implemented"]
IMPLEMENTATION_STATUSES: Final = get_args(Implementation)

Severity = Literal["low", "medium", "high", "critical"]
INCIDENT_SEVERITIES: Final = get_args(Severity)
IncidentStatus = Literal["open", "investigating", "resolved", "closed"]
INCIDENT_STATUSES: Final = get_args(IncidentStatus)

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

# What each heading asks (Assay's own summary of ISO/IEC 42005 clause 6), shown as guidance beside its text.
IMPACT_GUIDANCE: Final[dict[str, str]] = {
    "scope": "What the assessment covers and does not: the system's version, the life cycle stages, the period.",
    "system_information": "What the system is for, how it is meant to be used, and how it could be misused.",
    "data_information": "The data used to build and run the system: where it comes from, its quality and gaps.",
    "algorithm_and_model": "The kind of model, how it was developed and tested, and its known limitations.",
    "deployment_environment": "Where and by whom the system is used: the setting, the people operating it.",
    "interested_parties": "Who is affected, directly or not, including vulnerable groups, and how they were heard.",
    "benefits": "The benefits to people and society, actual and reasonably foreseeable.",
    "harms": "The harms to people, groups and society (rights, safety, fairness), actual and foreseeable.",
    "measures": "What is done to prevent or reduce each harm and keep the benefits, and who is responsible.",
    "approval": "Who reviewed and approved this assessment, and when and how it will be reviewed again.",
}

# The words of the 1-5 ratings of a risk (ISO/IEC 23894 leaves the scale to the organisation; these are the
# usual words of a 5 x 5 matrix, see governance/risk.py for the levels they make).
LIKELIHOOD_SCALE: Final[dict[int, str]] = {1: "rare", 2: "unlikely", 3: "possible", 4: "likely", 5: "almost certain"}
IMPACT_SCALE: Final[dict[int, str]] = {1: "negligible", 2: "minor", 3: "moderate", 4: "major", 5: "severe"}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            "must be 1-100 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, Field(max_length=20_000)]
#: A licence: an SPDX id where one exists (a known id gets its canonical spelling), free text accepted
Licence = Annotated[str, Field(max_length=200), AfterValidator(normalise_licence)]
Provenance = Annotated[str, Field(max_length=200)]  # a foundation model's or provider's name
Items = Annotated[list[Annotated[str, Field(min_length=1, max_length=2_000)]], Field(max_length=200)]


def _nul_at(value: Any, where: str) -> str | None:
    """Where a NUL character hides in ``value`` (strings, lists and mappings), if anywhere."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_at(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        """No NUL characters: PostgreSQL cannot store them, so no database may (the same on every backend)."""
        where = _nul_at(data, "")
        if where is not None:
            raise ValueError(f"{where} contains a NUL character")
        return data


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
    commercial: bool = False  # used commercially: a non-commercial licence of its data or models is then a risk
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
    commercial: bool | None = None
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
    licence: Licence = ""
    terms: Text = ""  # terms of use beyond the licence
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
    licence: Licence = ""
    source: Text = ""  # where the model (or its weights) came from
    terms: Text = ""  # terms of use beyond the licence
    foundation_model: Provenance = ""  # the foundation model it is, or is built on
    provider: Provenance = ""  # who supplies the foundation model


class DatasetVersionUpdate(_Record):
    """Fields of a dataset version that may change after registration (provenance, personal data, location);
    the content (fingerprint, columns, rows) may not: register a new version."""

    uri: Annotated[str, Field(max_length=2_000)] | None = None
    source: Text | None = None
    licence: Licence | None = None
    terms: Text | None = None
    collection_method: Text | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    pii: bool | None = None
    personal_data_categories: Items | None = None


class ModelVersionUpdate(_Record):
    """Fields of a model version that may change after registration; its artifact may not (register a new
    version). The stage changes through approvals or ``set_stage``."""

    framework: Annotated[str, Field(max_length=100)] | None = None
    training_dataset: str | None = None  # "dataset@version"
    licence: Licence | None = None
    source: Text | None = None
    terms: Text | None = None
    foundation_model: Provenance | None = None
    provider: Provenance | None = None


_M = TypeVar("_M", bound=BaseModel)


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "record"


def coerce(model: type[_M], spec: Any, what: str) -> _M:
    """``spec`` as a validated ``model``: an instance as it is, a mapping validated (see :func:`validate`)."""
    if isinstance(spec, model):
        return spec
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"{what}: give a {model.__name__} or a mapping of its fields")
    return validate(model, dict(spec), what)


def updates(model: type[_M], changes: Any, what: str) -> tuple[_M, dict[str, Any]]:
    """A validated update and the fields it sets; an update that sets nothing is an error."""
    update = coerce(model, changes, what)
    given = update.model_dump(exclude_unset=True)
    if not given:
        raise InvalidInput(f"{what}: give at least one field to change")
    return update, given


def choice(value: str | None, choices: tuple[str, ...], what: str) -> str | None:
    """``value`` when it is one of ``choices`` (or None); otherwise an error listing them."""
    if value is not None and value not in choices:
        raise InvalidInput(f"{what} {value!r} is not one of {', '.join(choices)}")
    return value


def validate(model: type[_M], data: dict[str, Any], what: str | None = None) -> _M:
    """``model(**data)``, with every problem in one :class:`InvalidInput` naming the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: list[str] = []
        fields: dict[str, str] = {}
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "is not a known field"
            problems.append(f"{_where(error['loc'])}: {message}")
            if error["loc"]:
                fields.setdefault(str(error["loc"][0]), message)
        raise InvalidInput(f"invalid {what or model.__name__}: " + "; ".join(problems), fields=fields) from None


# --- risks (ISO/IEC 23894), impact assessments (ISO/IEC 42005), incidents (ISO/IEC 42001 clause 10) -------------

RiskStatus = Literal["open", "closed"]
RISK_STATUSES: Final = get_args(RiskStatus)
ImpactStatus = Literal["draft", "final"]
IMPACT_STATUSES: Final = get_args(ImpactStatus)
ActionStatus = Literal["open", "done"]
ACTION_STATUSES: Final = get_args(ActionStatus)


def _rating(value: object) -> object:
    scale = DEFAULT_MATRIX.scale
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= scale:
        raise ValueError(f"must be a whole number from 1 to {scale}, not {value!r}")
    return value


def _optional_rating(value: object) -> object:
    return None if value is None else _rating(value)


Rating = Annotated[int, BeforeValidator(_rating)]
OptionalRating = Annotated[int | None, BeforeValidator(_optional_rating)]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Person = Annotated[str, Field(max_length=200)]


def _control_ref(value: str) -> str:
    """``framework:control id`` checked against the catalogues; aliases become the catalogue's own id."""
    framework, sep, control = value.partition(":")
    framework, control = framework.strip(), control.strip()
    if not sep or not framework or not control:
        raise ValueError(f"{value!r}: write FRAMEWORK:CONTROL, e.g. iso42001:A.6.2.4 or nist-ai-rmf:MEASURE 2.11")
    try:
        catalogue = load_catalogue(framework)
    except NotFound:
        known = ", ".join(f.id for f in list_frameworks())
        raise ValueError(f"{value!r}: unknown framework {framework!r} (known: {known})") from None
    try:
        return f"{framework}:{catalogue.control(control).id}"
    except NotFound as exc:  # "no control 'X' in iso42001; did you mean ...?"
        raise ValueError(f"{value!r}: {exc}") from None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


ControlRefs = Annotated[
    list[Annotated[str, AfterValidator(_control_ref)]], Field(max_length=200), AfterValidator(_unique)
]


class RiskSpec(_Record):
    """A risk of an AI system: likelihood × impact (1-5 each) give its level; residual values are after treatment."""

    title: Title
    source: Annotated[str, Field(min_length=1, max_length=100)]  # e.g. data, model, human oversight
    description: Text = ""
    affected: Items = Field(default_factory=list)
    likelihood: Rating
    impact: Rating
    treatment: Treatment
    controls: ControlRefs = Field(default_factory=list)  # "framework:control id"
    owner: Person = ""
    residual_likelihood: OptionalRating = None
    residual_impact: OptionalRating = None
    review_date: dt.date | None = None

    @property
    def inherent_score(self) -> RiskScore:
        return score_risk(self.likelihood, self.impact)

    @property
    def residual_score(self) -> RiskScore | None:
        if self.residual_likelihood is None or self.residual_impact is None:
            return None
        return score_risk(self.residual_likelihood, self.residual_impact)

    @model_validator(mode="after")
    def _residual(self) -> RiskSpec:
        if (self.residual_likelihood is None) != (self.residual_impact is None):
            raise ValueError("give residual_likelihood and residual_impact together, or neither")
        inherent, residual = self.inherent_score, self.residual_score
        if residual is not None and LEVELS.index(residual.level) > LEVELS.index(inherent.level):
            raise ValueError(
                f"the residual level {residual.level} ({residual.likelihood}×{residual.impact}={residual.score}) is "
                f"above the inherent level {inherent.level} ({inherent.likelihood}×{inherent.impact}="
                f"{inherent.score}): a treatment cannot raise the risk"
            )
        return self


class RiskUpdate(_Record):
    """Fields to change on a risk; the merged result is validated as a whole :class:`RiskSpec`."""

    title: Title | None = None
    source: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    description: Text | None = None
    affected: Items | None = None
    likelihood: OptionalRating = None
    impact: OptionalRating = None
    treatment: Treatment | None = None
    controls: ControlRefs | None = None
    owner: Person | None = None
    residual_likelihood: OptionalRating = None
    residual_impact: OptionalRating = None
    review_date: dt.date | None = None


def _headings(value: dict[str, str]) -> dict[str, str]:
    unknown = [key for key in value if key not in IMPACT_HEADINGS]
    if unknown:
        raise ValueError(f"unknown heading {', '.join(repr(k) for k in unknown)} (known: {', '.join(IMPACT_HEADINGS)})")
    return {key: value[key] for key in IMPACT_HEADINGS if key in value}  # in the standard's order


def _filled(value: dict[str, str]) -> dict[str, str]:
    return {key: text for key, text in value.items() if text}


SectionChanges = Annotated[dict[str, Text], AfterValidator(_headings)]  # "" clears a heading
Sections = Annotated[SectionChanges, AfterValidator(_filled)]


class ImpactAssessmentSpec(_Record):
    """An AI system impact assessment: one text per ISO/IEC 42005 heading (see :data:`IMPACT_HEADINGS`)."""

    title: Title
    sections: Sections = Field(default_factory=dict)
    assessor: Person = ""


class ImpactAssessmentUpdate(_Record):
    """Fields to change on a draft impact assessment; ``sections`` are merged heading by heading ("" clears)."""

    title: Title | None = None
    sections: SectionChanges | None = None
    assessor: Person | None = None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    value = (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    if value > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


class IncidentSpec(_Record):
    """An incident of an AI system (a time without a zone is UTC); ``model_version`` is ``MODEL@VERSION``."""

    title: Title
    description: Text = ""
    severity: Severity
    occurred_at: dt.datetime | None = None
    model_version: Annotated[str, Field(min_length=1, max_length=201)] | None = None

    _occurred = field_validator("occurred_at")(_utc)


class IncidentUpdate(_Record):
    """Fields to change on an incident that is not closed; its status changes through transitions only."""

    title: Title | None = None
    description: Text | None = None
    severity: Severity | None = None
    occurred_at: dt.datetime | None = None
    model_version: Annotated[str, Field(min_length=1, max_length=201)] | None = None

    _occurred = field_validator("occurred_at")(_utc)


class CorrectiveActionSpec(_Record):
    """A corrective action of an incident (ISO/IEC 42001 clause 10.2)."""

    description: Annotated[str, Field(min_length=1, max_length=20_000)]
    owner: Person = ""
    due_date: dt.date | None = None


class ControlStatusSpec(_Record):
    """A change to one control's status for one system; ``None`` keeps the stored value (see
    :meth:`assay.services.controls.Controls.set_status` for how the change is merged)."""

    applicable: bool | None = None
    justification: Text | None = None
    implementation: Implementation | None = None
    owner: Annotated[str, Field(max_length=200)] | None = None


EvidenceKind = Literal["assessment", "file", "url"]
EVIDENCE_KINDS: Final = get_args(EvidenceKind)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an http(s) URL (write it as https://host/path)")
    return value


class EvidenceSpec(_Record):
    """Evidence for a control: an assessment recorded for the system, a file (copied into the artifact store by
    the service, so it is not a field here) or an http(s) URL, valid from ``valid_from`` to ``valid_until``
    (both days included)."""

    kind: EvidenceKind
    assessment_id: Annotated[int, Field(ge=1)] | None = None
    url: Annotated[str, Field(max_length=2_000), AfterValidator(_http_url)] | None = None
    description: Text = ""
    valid_from: dt.date
    valid_until: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceSpec:
        if (self.kind == "assessment") != (self.assessment_id is not None):
            raise ValueError("assessment_id is given with kind 'assessment', and only then")
        if (self.kind == "url") != (self.url is not None):
            raise ValueError("url is given with kind 'url', and only then")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(f"valid_until {self.valid_until} is before valid_from {self.valid_from}")
        return self
