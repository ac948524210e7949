"""The compute routes: every registered compute kind, on registered inputs, as a job.

One route per kind of :data:`assay.services.kinds.KINDS`, derived from its registration: ``POST
/api/systems/{system}/ROUTE`` (``assessments/run``, ``explanations``, ``mitigations``, ``checks/NAME``; a new
kind gets ``runs/NAME``), whose body IS the kind's options model plus the target fields the kind declares (the
registered dataset version; the model version, a reference dataset version, a baseline check, a new version, as
the kind needs), so the API cannot drift from the command line and the forms. A route checks the target (404 for
what does not exist or cannot be seen, 422 for a bad option, a missing column or a model file that would not load),
queues a job of the kind and answers ``202 Accepted`` with the job (``Location: /api/jobs/{id}``); the job runs in a
worker (:mod:`assay.services.jobs`), and its ``result`` links the recorded assessment when it succeeds.

The data is the stored copy of a registered dataset version, the model the stored file of a registered model
version: nothing in a body names a file, a URL or an import. A joblib/pickle model file is loaded only by a worker
started with --trust-pickle (``assay serve --trust-pickle``, ``assay worker --trust-pickle``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field, create_model

from assay.frames.options import Options
from assay.server.deps import Auth, Authorised
from assay.server.jobs import JobOut, job_out
from assay.services.compute import TARGET_FIELDS, Kind, Target
from assay.services.kinds import KINDS

__all__ = ["BODIES", "router"]

router = APIRouter(prefix="/api")

Ref = Annotated[str, Field(min_length=1, max_length=201, description="NAME@VERSION")]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
_TARGET = frozenset(TARGET_FIELDS)


def _target_fields(kind: Kind) -> dict[str, Any]:
    """The target fields of ``kind``'s request body, as it declares its inputs."""
    fields: dict[str, Any] = {
        "dataset_version": (Ref, Field(description="The registered dataset version it reads, DATASET@VERSION."))
    }
    if kind.model in ("required", "file"):
        fields["model_version"] = (Ref, Field(description="The registered model version, MODEL@VERSION."))
    elif kind.model == "optional":
        fields["model_version"] = (Ref | None, Field(default=None, description="The model version, MODEL@VERSION."))
        fields["score_with_model"] = (
            bool,
            Field(default=False, description="Score the data with the stored model file of model_version."),
        )
    if kind.registers_model:
        fields["new_version"] = (
            Ref | None,
            Field(default=None, description="The new model version's name (default VERSION-METHOD)."),
        )
    if kind.reference:
        what = "The dataset version it is compared with (e.g. the training set)."
        if kind.reference == "optional":
            fields["reference_version"] = (Ref | None, Field(default=None, description=what))
        else:
            fields["reference_version"] = (Ref, Field(description=what))
    if kind.baseline:
        what = f"The id of the recorded assessment it compares with ({', '.join(kind.baseline_of)})."
        if kind.baseline_of == ("baseline",):
            what = "The id of a baseline check recorded for this system (its constraints.json)."
        if kind.baseline == "optional":
            fields["baseline_id"] = (Id | None, Field(default=None, description=what))
        else:
            fields["baseline_id"] = (Id, Field(description=what))
    return fields


def _body(kind: Kind) -> type[Options]:
    """``kind``'s request body: its options model plus its target fields (and nothing else)."""
    name = "".join(part.capitalize() for part in kind.name.split("-")) + "Body"
    body: type[Options] = create_model(
        name, __base__=kind.options, __doc__=kind.options.__doc__, **_target_fields(kind)
    )
    body.target_fields = _TARGET
    return body


#: The request body of each kind (tests check each is its options model plus target fields only).
BODIES: dict[str, type[Options]] = {name: _body(kind) for name, kind in KINDS.items()}


def _submit(request: Request, auth: Authorised, kind: str, system: str, body: Options) -> Response:
    """Check the target now (so a missing version is a 404 and a bad one a 422 before anything is queued), then queue
    the job; 202 with the job and its Location."""
    given = body.model_dump(include=set(_TARGET) & set(type(body).model_fields))
    trust = bool(getattr(request.app.state, "trust_pickle", False))  # its workers' (assay serve --trust-pickle)
    view = auth.ws.runs.submit(
        kind, Target(system=system, **given), body.options_only(), trust_pickle=trust, principal=auth.principal
    )
    content = job_out(view).model_dump_json()
    return Response(content, 202, {"Location": f"/api/jobs/{view.id}"}, media_type="application/json")


def _route(kind: Kind, body_type: type[Options]) -> None:
    def run(request: Request, auth: Auth, system: str, body: Any) -> Response:
        return _submit(request, auth, kind.name, system, body)

    run.__annotations__ = {"request": Request, "auth": Auth, "system": str, "body": body_type, "return": Response}
    router.add_api_route(
        f"/systems/{{system}}/{kind.path}",
        run,
        methods=["POST"],
        status_code=202,
        response_model=JobOut,
        tags=["checks" if kind.path.startswith("checks/") else "compute"],
        name=f"run_{kind.name.replace('-', '_')}",
        summary=f"Run {kind.title} (a job)",
        description=f"{(kind.options.__doc__ or '').strip()} Queues a job of kind `{kind.name}` and answers 202 with "
        "it; the job records the result document with its files.",
    )


for _name, _kind in KINDS.items():
    _route(_kind, BODIES[_name])
