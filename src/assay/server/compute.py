"""The compute routes: bias assessments, explanations, mitigations and data checks on registered inputs, as jobs.

Each request body IS the kind's options model (``metrics.options.BiasOptions``, ...) plus the target fields (the
registered dataset and model versions), so the API cannot drift from the command line and the forms. A route
checks the target (404 for what does not exist or cannot be seen, 422 for a bad option), queues a job of the kind
and answers ``202 Accepted`` with the job (``Location: /api/jobs/{id}``); the job runs in a worker
(:mod:`assay.services.jobs`), and its ``result`` links the recorded assessment when it succeeds.

The data is the stored copy of a registered dataset version, the model the stored file of a registered model
version: nothing in a body names a file, a URL or an import. A joblib/pickle model file is loaded only by a worker
started with --trust-pickle (``assay serve --trust-pickle``, ``assay worker --trust-pickle``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Request, Response
from pydantic import Field

from assay.checks.options import (
    BaselineOptions,
    DuplicatesOptions,
    LabelIssuesOptions,
    LeakageOptions,
    PiiOptions,
    RepresentativenessOptions,
    TargetLeakageOptions,
    ValidateOptions,
)
from assay.explain.options import ExplanationOptions
from assay.frames.options import Options
from assay.metrics.options import BiasOptions
from assay.mitigate.options import MitigationOptions
from assay.server.deps import Auth, Authorised
from assay.server.jobs import JobOut, job_out
from assay.services.runs import Target

__all__ = ["router"]

router = APIRouter(prefix="/api")

Ref = Annotated[str, Field(min_length=1, max_length=201, description="NAME@VERSION")]
_DATASET = "The registered dataset version the computation reads, DATASET@VERSION."
_MODEL = "The registered model version, MODEL@VERSION."
_TARGET = frozenset({"dataset_version", "model_version", "score_with_model", "new_version", "reference_version",
                     "baseline_id"})  # fmt: skip


class AssessmentRunBody(BiasOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)
    model_version: Ref | None = Field(default=None, description=_MODEL)
    score_with_model: bool = Field(
        default=False, description="Score the data with the stored model file of model_version."
    )


class ExplanationBody(ExplanationOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)
    model_version: Ref = Field(description=_MODEL)


class MitigationBody(MitigationOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)
    model_version: Ref = Field(description=_MODEL)
    new_version: Ref | None = Field(default=None, description="The mitigated model's version (default VERSION-METHOD).")


class BaselineBody(BaselineOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)


class ValidateBody(ValidateOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)
    baseline_id: Annotated[int, Field(ge=1, le=2**31 - 1)] = Field(
        description="The id of a baseline check recorded for this system (its constraints.json, statistics.json)."
    )


class DuplicatesBody(DuplicatesOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)


class LeakageBody(LeakageOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)
    reference_version: Ref = Field(description="The dataset version it must not share rows with (e.g. training).")


class TargetLeakageBody(TargetLeakageOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)


class LabelIssuesBody(LabelIssuesOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)


class RepresentativenessBody(RepresentativenessOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)


class PiiBody(PiiOptions):
    target_fields: ClassVar[frozenset[str]] = _TARGET
    dataset_version: Ref = Field(description=_DATASET)


#: The request body of each kind (tests check each is its options model plus target fields only).
BODIES: dict[str, type[Options]] = {
    "bias": AssessmentRunBody,
    "explanations": ExplanationBody,
    "mitigation": MitigationBody,
    "baseline": BaselineBody,
    "validate": ValidateBody,
    "duplicates": DuplicatesBody,
    "leakage": LeakageBody,
    "target-leakage": TargetLeakageBody,
    "label-issues": LabelIssuesBody,
    "representativeness": RepresentativenessBody,
    "pii": PiiBody,
}


def _submit(request: Request, auth: Authorised, kind: str, system: str, body: Options) -> Response:
    """Check the target now (so a missing version is a 404 and a bad one a 422 before anything is queued), then queue
    the job; 202 with the job and its Location."""
    given = body.model_dump(include=set(_TARGET) & set(type(body).model_fields))
    target = Target(system=system, **given)
    trust = bool(getattr(request.app.state, "trust_pickle", False))  # its workers' (assay serve --trust-pickle)
    auth.ws.runs.check(kind, target, body.options_only(), trust_pickle=trust)
    params = {"target": {k: v for k, v in asdict(target).items() if k != "system"}, "options": body.options_only()}
    view = auth.ws.jobs.submit(kind, params, system=system, principal=auth.principal)
    body_json = job_out(view).model_dump_json()
    return Response(body_json, 202, {"Location": f"/api/jobs/{view.id}"}, media_type="application/json")


_ACCEPTED: dict[str, Any] = {"status_code": 202, "response_model": JobOut, "tags": ["compute"]}


@router.post("/systems/{system}/assessments/run", **_ACCEPTED)
def run_assessment(request: Request, auth: Auth, system: str, body: AssessmentRunBody) -> Response:
    """Queue a bias assessment (the options of `assay assess`) on the stored copy of a registered dataset version,
    scored by the stored file of model_version with score_with_model; the job records it with its report files."""
    return _submit(request, auth, "bias", system, body)


@router.post("/systems/{system}/explanations", **_ACCEPTED)
def explain_model(request: Request, auth: Auth, system: str, body: ExplanationBody) -> Response:
    """Queue an explanation of the stored file of a registered model version on a registered dataset version (as
    `assay explain`); the job records the assay.explanations document with its report files."""
    return _submit(request, auth, "explanations", system, body)


@router.post("/systems/{system}/mitigations", **_ACCEPTED)
def mitigate_model(request: Request, auth: Auth, system: str, body: MitigationBody) -> Response:
    """Queue a bias mitigation of a registered model version on a registered dataset version (as `assay mitigate`);
    the job registers the mitigated model (skops) as a new version whose parent is the original, and records the
    comparison (its result names the new version)."""
    return _submit(request, auth, "mitigation", system, body)


# -- data checks, one route each (as `assay check NAME`) ------------------------------------------------------------


@router.post("/systems/{system}/checks/baseline", **_ACCEPTED)
def check_baseline(request: Request, auth: Auth, system: str, body: BaselineBody) -> Response:
    """Profile a dataset version and suggest constraints in Model Monitor's formats (kept as the record's files)."""
    return _submit(request, auth, "baseline", system, body)


@router.post("/systems/{system}/checks/validate", **_ACCEPTED)
def check_validate(request: Request, auth: Auth, system: str, body: ValidateBody) -> Response:
    """Validate a dataset version against a recorded baseline check (constraint violations and drift)."""
    return _submit(request, auth, "validate", system, body)


@router.post("/systems/{system}/checks/duplicates", **_ACCEPTED)
def check_duplicates(request: Request, auth: Auth, system: str, body: DuplicatesBody) -> Response:
    """Count duplicate rows; examples name rows by position, never by value."""
    return _submit(request, auth, "duplicates", system, body)


@router.post("/systems/{system}/checks/leakage", **_ACCEPTED)
def check_leakage(request: Request, auth: Auth, system: str, body: LeakageBody) -> Response:
    """Rows of a dataset version that also occur in another (e.g. test rows in the training set)."""
    return _submit(request, auth, "leakage", system, body)


@router.post("/systems/{system}/checks/target-leakage", **_ACCEPTED)
def check_target_leakage(request: Request, auth: Auth, system: str, body: TargetLeakageBody) -> Response:
    """Features that predict the label alone (ROC AUC at least the threshold)."""
    return _submit(request, auth, "target-leakage", system, body)


@router.post("/systems/{system}/checks/label-issues", **_ACCEPTED)
def check_label_issues(request: Request, auth: Auth, system: str, body: LabelIssuesBody) -> Response:
    """Rows likely mislabelled, by cross-validated confident learning on a stated sample."""
    return _submit(request, auth, "label-issues", system, body)


@router.post("/systems/{system}/checks/representativeness", **_ACCEPTED)
def check_representativeness(request: Request, auth: Auth, system: str, body: RepresentativenessBody) -> Response:
    """Group shares against reference populations, with a chi-square goodness-of-fit test."""
    return _submit(request, auth, "representativeness", system, body)


@router.post("/systems/{system}/checks/pii", **_ACCEPTED)
def check_pii(request: Request, auth: Auth, system: str, body: PiiBody) -> Response:
    """Personal data in column names and sampled values (Presidio, offline); never returns a value."""
    return _submit(request, auth, "pii", system, body)
