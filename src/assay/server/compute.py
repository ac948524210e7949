"""The compute routes: bias assessments, explanations, mitigations and data checks on registered inputs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from assay.server.deps import Auth, Authorised

__all__ = ["router"]

router = APIRouter(prefix="/api")


# -- compute on the server: registered dataset versions and model versions ------------------------------------------
#
# The data is the stored copy of a registered dataset version, the model the stored file of a registered model
# version: nothing in a body names a file, a URL or an import. A joblib/pickle model file is loaded only when the
# operator started the server with --trust-pickle (create_app(trust_pickle=True)).

Ref = Annotated[str, Field(min_length=1, max_length=201, description="NAME@VERSION")]
Column = Annotated[str, Field(min_length=1, max_length=300)]
Columns = Annotated[list[Column], Field(max_length=10_000)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Value = Annotated[str, Field(max_length=1_000)] | bool | int | Finite
Values = Value | Annotated[list[Value], Field(min_length=1, max_length=1_000)]


def _values(given: Values | None) -> tuple[Any, ...] | None:
    return None if given is None else tuple(given) if isinstance(given, list) else (given,)


def _trust_pickle(request: Request) -> bool:
    return bool(getattr(request.app.state, "trust_pickle", False))


def _summary(recorded: Any, **extra: Any) -> dict[str, Any]:
    """The recorded assessment's state without its document (GET the assessment for that)."""
    return {**{k: v for k, v in recorded.state().items() if k != "document"}, **extra}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FacetBody(_Body):
    column: Column
    values: Annotated[list[Value], Field(max_length=1_000)] | None = Field(
        default=None, description="The values of facet d (the group compared with the rest)."
    )
    threshold: Finite | None = Field(default=None, description="Facet d is the rows with a value above this.")

    def facet(self) -> Any:
        from assay.frames import Facet

        return Facet(self.column, _values(self.values), self.threshold)


def _facets(given: list[Column | FacetBody]) -> list[Any]:
    return [item if isinstance(item, str) else item.facet() for item in given]


class _Labelled(_Body):
    label: Column
    positive: Values | None = Field(default=None, description="The positive (favourable) label values.")
    label_threshold: Finite | None = Field(default=None, description="Positive when the label is above this.")

    def label_role(self) -> Any:
        from assay.frames import Label

        return Label(self.label, _values(self.positive), self.label_threshold)


class AssessmentRunBody(_Labelled):
    dataset_version: Ref
    model_version: Ref | None = None
    score_with_model: bool = Field(
        default=False, description="Score the data with the stored model file of model_version."
    )
    facets: Annotated[list[Column | FacetBody], Field(min_length=1, max_length=50)]
    predicted: Column | None = None
    score: Column | None = None
    threshold: Share = 0.5
    group: Column | None = None
    intersect: bool = False
    metrics: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=50)] | None = None
    features: Columns | None = None
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] | None = None
    confidence: Annotated[float, Field(gt=0, lt=1)] | None = None
    seed: Seed | None = None
    min_group_size: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = None
    divergence: Literal["sound", "clarify"] = "sound"

    def options(self) -> dict[str, Any]:
        given = self.model_dump(exclude={"dataset_version", "model_version", "score_with_model", "positive",
                                         "label_threshold", "facets"})  # fmt: skip
        return {**given, "label": self.label_role(), "facets": _facets(self.facets)}


class ExplanationBody(_Labelled):
    dataset_version: Ref
    model_version: Ref
    facets: Annotated[list[Column | FacetBody], Field(max_length=50)] = []
    rows: (
        Annotated[int, Field(ge=0, le=1_000)]
        | Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]], Field(max_length=1_000)]
    ) = Field(default=5, description="Local explanations: the first N rows, or these rows (counted from 0).")
    sample: Annotated[int, Field(ge=1, le=10_000)] | None = None
    background: Annotated[int, Field(ge=1, le=1_000)] = 100
    method: Literal["auto", "tree", "linear", "permutation", "kernel"] = "auto"
    pdp: Annotated[int, Field(ge=0, le=50)] = 5
    grid_resolution: Annotated[int, Field(ge=2, le=200)] = 15
    features: Columns | None = None
    seed: Seed = 0

    def options(self) -> dict[str, Any]:
        exclude = {"dataset_version", "model_version", "positive", "label_threshold", "facets", "features"}
        return {**self.model_dump(exclude=exclude), "label": self.label_role(), "facets": _facets(self.facets)}


class MitigationBody(_Labelled):
    dataset_version: Ref
    model_version: Ref
    new_version: Ref | None = Field(default=None, description="The mitigated model's version (default VERSION-METHOD).")
    facet: FacetBody = Field(description="Facet d, the group to protect: its values or a threshold.")
    method: Literal["reweighing", "exponentiated-gradient", "threshold-optimizer", "reject-option"]
    constraint: Literal["demographic_parity", "equalized_odds"] | None = None
    features: Columns | None = None
    test_size: Annotated[float, Field(ge=0.05, le=0.95)] = 0.3
    seed: Seed = 0
    sample: Annotated[int, Field(ge=10, le=100_000_000)] | None = None
    difference_bound: Annotated[float, Field(gt=0, le=1)] = 0.01
    max_iter: Annotated[int, Field(ge=1, le=1_000)] = 50
    tolerance: Share | None = None
    margin: Annotated[float, Field(ge=0, le=0.5)] | None = None
    metric: Literal["DPPL", "DI"] = "DPPL"
    bounds: tuple[Finite, Finite] | None = None
    threshold: Share = 0.5
    curve: bool = True
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] = 200

    def options(self) -> dict[str, Any]:
        given = self.model_dump(exclude={"dataset_version", "model_version", "new_version", "positive",
                                         "label_threshold", "facet"})  # fmt: skip
        return {**given, "label": self.label_role(), "facet": self.facet.facet()}


@router.post("/systems/{system}/assessments/run", status_code=201, tags=["compute"])
def run_assessment(request: Request, auth: Auth, system: str, body: AssessmentRunBody) -> dict[str, Any]:
    """Run a bias assessment (the options of `assay assess`) on the stored copy of a registered dataset version,
    scored by the stored file of model_version with score_with_model; record it with its report files."""
    recorded = auth.ws.assessments.run(
        system, body.dataset_version, model_version=body.model_version, score_with_model=body.score_with_model,
        trust_pickle=_trust_pickle(request), **body.options(),
    )  # fmt: skip
    return _summary(recorded)


@router.post("/systems/{system}/explanations", status_code=201, tags=["compute"])
def explain_model(request: Request, auth: Auth, system: str, body: ExplanationBody) -> dict[str, Any]:
    """Explain the stored file of a registered model version on a registered dataset version (as `assay explain`);
    record the assay.explanations document with its report files."""
    recorded = auth.ws.explanations.run(
        system, body.dataset_version, body.model_version, trust_pickle=_trust_pickle(request), features=body.features,
        **body.options(),
    )  # fmt: skip
    return _summary(recorded)


@router.post("/systems/{system}/mitigations", status_code=201, tags=["compute"])
def mitigate_model(request: Request, auth: Auth, system: str, body: MitigationBody) -> dict[str, Any]:
    """Mitigate bias of a registered model version on a registered dataset version (as `assay mitigate`); register
    the mitigated model (skops) as a new version whose parent is the original, and record the comparison."""
    recorded = auth.ws.mitigation.run_registered(
        system, body.dataset_version, body.model_version, new_version=body.new_version,
        trust_pickle=_trust_pickle(request), **body.options(),
    )  # fmt: skip
    return _summary(recorded.assessment, new_model_version=recorded.ref)


# -- data checks, one route each (as `assay check NAME`) ------------------------------------------------------------


class CheckBody(_Body):
    dataset_version: Ref

    def options(self) -> dict[str, Any]:
        return self.model_dump(exclude={"dataset_version"})


class BaselineBody(CheckBody):
    max_categories: Annotated[int, Field(ge=1, le=100_000)] = 1000
    max_domain: Annotated[int, Field(ge=0, le=10_000)] = 50
    comparison_threshold: Share = 0.1
    comparison_method: Literal["Simple", "Robust"] = "Simple"
    categorical_drift_method: Literal["LInfinity", "ChiSquared"] = "LInfinity"

    def options(self) -> dict[str, Any]:
        from assay.services.checks import monitoring_config

        config = monitoring_config(self.comparison_threshold, self.comparison_method, self.categorical_drift_method)
        return {"max_categories": self.max_categories, "max_domain": self.max_domain, "monitoring_config": config}


class ValidateBody(CheckBody):
    baseline_id: Annotated[int, Field(ge=1, le=2**31 - 1)] = Field(
        description="The id of a baseline check recorded for this system (its constraints.json, statistics.json)."
    )
    max_categories: Annotated[int, Field(ge=1, le=100_000)] = 1000


class DuplicatesBody(CheckBody):
    columns: Columns | None = None
    exclude: Columns = []
    id_column: Column | None = None
    show: Columns = []
    examples: Annotated[int, Field(ge=0, le=1_000)] = 5
    max_share: Share = 0.0


class LeakageBody(CheckBody):
    reference_version: Ref = Field(description="The dataset version it must not share rows with (e.g. training).")
    columns: Columns | None = None
    exclude: Columns = []
    max_share: Share = 0.0


class TargetLeakageBody(CheckBody, _Labelled):
    features: Columns | None = None
    exclude: Columns = []
    threshold: Annotated[float, Field(ge=0.5, le=1)] = 0.99
    max_bins: Annotated[int, Field(ge=2, le=100_000)] = 1000

    def options(self) -> dict[str, Any]:
        given = self.model_dump(exclude={"dataset_version", "label", "positive", "label_threshold"})
        return {**given, "label": self.label_role()}


class LabelIssuesBody(CheckBody):
    label: Column
    features: Columns | None = None
    exclude: Columns = []
    sample: Annotated[int, Field(ge=10, le=100_000)] = 5000
    folds: Annotated[int, Field(ge=2, le=20)] = 5
    seed: Seed = 0
    max_share: Share = 0.05


class RepresentativenessBody(CheckBody):
    populations: Annotated[
        dict[Column, Annotated[dict[Annotated[str, Field(max_length=1_000)], Share], Field(min_length=1)]],
        Field(min_length=1, max_length=100),
    ] = Field(description='Reference shares per column and group: {"sex": {"Female": 0.51, "Male": 0.49}}.')
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05


class PiiBody(CheckBody):
    columns: Columns | None = None
    sample: Annotated[int, Field(ge=1, le=10_000)] = 200
    seed: Seed = 0
    min_score: Annotated[float, Field(gt=0, le=1)] = 0.4


def _check(auth: Authorised, system: str, check: str, body: CheckBody) -> dict[str, Any]:
    options = body.options()
    reference, baseline = options.pop("reference_version", None), options.pop("baseline_id", None)
    recorded = auth.ws.checks.run(
        system, check, body.dataset_version, reference_version=reference, baseline_id=baseline, **options
    )
    return _summary(recorded, status=recorded.document.get("status"), summary=recorded.document.get("summary"))


@router.post("/systems/{system}/checks/baseline", status_code=201, tags=["checks"])
def check_baseline(auth: Auth, system: str, body: BaselineBody) -> dict[str, Any]:
    """Profile a dataset version and suggest constraints in Model Monitor's formats (kept as the record's files)."""
    return _check(auth, system, "baseline", body)


@router.post("/systems/{system}/checks/validate", status_code=201, tags=["checks"])
def check_validate(auth: Auth, system: str, body: ValidateBody) -> dict[str, Any]:
    """Validate a dataset version against a recorded baseline check (constraint violations and drift)."""
    return _check(auth, system, "validate", body)


@router.post("/systems/{system}/checks/duplicates", status_code=201, tags=["checks"])
def check_duplicates(auth: Auth, system: str, body: DuplicatesBody) -> dict[str, Any]:
    """Count duplicate rows; examples name rows by position, never by value."""
    return _check(auth, system, "duplicates", body)


@router.post("/systems/{system}/checks/leakage", status_code=201, tags=["checks"])
def check_leakage(auth: Auth, system: str, body: LeakageBody) -> dict[str, Any]:
    """Rows of a dataset version that also occur in another (e.g. test rows in the training set)."""
    return _check(auth, system, "leakage", body)


@router.post("/systems/{system}/checks/target-leakage", status_code=201, tags=["checks"])
def check_target_leakage(auth: Auth, system: str, body: TargetLeakageBody) -> dict[str, Any]:
    """Features that predict the label alone (ROC AUC at least the threshold)."""
    return _check(auth, system, "target-leakage", body)


@router.post("/systems/{system}/checks/label-issues", status_code=201, tags=["checks"])
def check_label_issues(auth: Auth, system: str, body: LabelIssuesBody) -> dict[str, Any]:
    """Rows likely mislabelled, by cross-validated confident learning on a stated sample."""
    return _check(auth, system, "label-issues", body)


@router.post("/systems/{system}/checks/representativeness", status_code=201, tags=["checks"])
def check_representativeness(auth: Auth, system: str, body: RepresentativenessBody) -> dict[str, Any]:
    """Group shares against reference populations, with a chi-square goodness-of-fit test."""
    return _check(auth, system, "representativeness", body)


@router.post("/systems/{system}/checks/pii", status_code=201, tags=["checks"])
def check_pii(auth: Auth, system: str, body: PiiBody) -> dict[str, Any]:
    """Personal data in column names and sampled values (Presidio, offline); never returns a value."""
    return _check(auth, system, "pii", body)
