"""One run lifecycle for every compute kind: resolve the target, open the inputs, compute, write, record.

A *kind* (:class:`Kind`, registered in :mod:`assay.services.kinds`) is a computation Assay runs: its typed options
model (declared once in its sibling package), a pure ``compute(inputs, options)`` returning a result with
``to_dict()`` (the document), and the function that writes its files. Everything else is done here, once, for every
kind:

- :meth:`Runs.run` on *registered* inputs (what the server's jobs and ``workspace.runs.run`` do): check the target
  (the system, its dataset and model versions, the reference dataset, the baseline check; the caller's role),
  open the stored copies, compute, write the files into a temporary folder (or ``out``), and record the document
  with its files, the fingerprints of its inputs and the evidence links in one transaction.
- :func:`compute` and :func:`write` on the user's own files or frames (``assay assess data.csv ...``), and
  :meth:`Runs.record` to keep such a result against a system.

``progress(stage)`` is called between stages; ``cancelled()`` is asked at the same points, and a run that is
asked to stop raises :class:`~assay.errors.Cancelled` before anything is recorded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.documents import with_inputs
from assay.errors import Cancelled, InvalidInput
from assay.services import _lookup
from assay.services._base import Service
from assay.services.access import require_role
from assay.services.checks import baseline_attachments
from assay.services.compute import (
    TARGET_FIELDS,
    Inputs,
    Kind,
    Target,
    compute,
    kind_of,
    options_of,
    watched,
    write,
)
from assay.services.registry import NO_COPY

if TYPE_CHECKING:
    from assay.frames.options import Options
    from assay.services.access import Principal
    from assay.services.jobs import JobContext, JobView
    from assay.store.database import Transaction
    from assay.store.models import Assessment

__all__ = [
    "Inputs",
    "Kind",
    "Run",
    "Runs",
    "Target",
    "baseline_check",
    "compute",
    "is_of_kind",
    "register_compute_handlers",
    "write",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Run:
    """What :meth:`Runs.run` did: the recorded assessment, its document, the files it wrote (while ``out`` lives),
    and, for a mitigation, the new model version's ref."""

    recorded: Assessment
    document: dict[str, Any]
    paths: dict[str, Path]
    model_ref: str | None = None


def is_of_kind(recorded: Assessment, name: str) -> bool:
    """Whether the recorded assessment is a document of the compute kind ``name``."""
    from assay.services.kinds import KINDS

    kind = KINDS.get(name)
    if kind is None or recorded.kind != kind.schema:
        return False
    return kind.schema != "assay.data-check" or recorded.document.get("check") == name


def baseline_check(session: Any, owner: Any, assessment_id: int, kind: Kind) -> None:
    """Refuse a baseline_id that is not a recorded assessment of the system of one of ``kind.baseline_of`` (a
    baseline check must have been recorded with its constraints.json)."""
    from assay.store.models import Assessment as Recorded

    recorded = _lookup.by_id(session, Recorded, assessment_id, "assessment", system_id=owner.id)
    if kind.baseline_of == ("baseline",):
        baseline_attachments(recorded, owner.name)
    elif not any(is_of_kind(recorded, name) for name in kind.baseline_of):
        wanted = " or ".join(kind_of(name).title for name in kind.baseline_of)
        raise InvalidInput(
            f"assessment {assessment_id} of {owner.name} cannot be the baseline of {kind.title}: it must be {wanted}"
        )


def _stored_columns(tx: Transaction, ref: str, wanted: list[str]) -> None:
    """Refuse a dataset version without a stored copy, or whose registered columns lack one of ``wanted``."""
    version = _lookup.dataset_version(tx.session, ref)
    if version.artifact_sha256 is None:
        raise InvalidInput(NO_COPY.format(ref=ref))
    present = [str(c.get("name")) for c in version.columns or [] if isinstance(c, Mapping)]
    if not present:
        return  # registered without its columns: the run itself names a missing one
    for column in wanted:
        if column not in present:
            shown = ", ".join(repr(p) for p in present[:20]) + (", ..." if len(present) > 20 else "")
            raise InvalidInput(f"column {column!r} is not in the data of dataset version {ref}; columns: {shown}")


class Runs(Service):
    """Every computation on registered inputs, the same way: ``workspace.runs.run(kind, target, options)``."""

    def check(
        self,
        kind: str | Kind,
        target: Target,
        options: Options | Mapping[str, Any] | None = None,
        *,
        trust_pickle: bool = False,
    ) -> None:
        """Refuse, before anything is computed or queued, a target that does not exist or that the acting user may
        not run on (NotFound, PermissionDenied), a dataset version without a stored copy or without a column the
        options name, and a model file that would not load (InvalidInput). Cheap: no data is read."""
        chosen = kind if isinstance(kind, Kind) else kind_of(kind)
        parsed = None if options is None else options_of(chosen, options)
        with self._write() as tx:  # a write transaction that records nothing: the role check reads the actor
            self._check(tx, chosen, target)
            wanted = [] if parsed is None else parsed.named_columns()
            for ref in filter(None, (target.dataset_version, target.reference_version)):
                _stored_columns(tx, ref, wanted if ref == target.dataset_version else [])
        if target.model_version is not None and (chosen.model == "required" or target.score_with_model):
            self.ws.models.loadable(target.system, target.model_version, trust_pickle=trust_pickle)
        if target.model_version is not None and chosen.model == "file":
            self._model_file(target.system, target.model_version)
        if chosen.precheck is not None and parsed is not None:
            chosen.precheck(self.ws, target, parsed)

    def submit(
        self,
        kind: str | Kind,
        target: Target,
        options: Options | Mapping[str, Any],
        *,
        trust_pickle: bool = False,
        principal: Principal | None = None,
    ) -> JobView:
        """Queue ``kind`` on ``target`` as a job (what the server's routes and forms do), after :meth:`check`, so
        that what can be refused without reading the data is refused now rather than in a failed job.
        ``trust_pickle`` is the workers' (``assay serve --trust-pickle``)."""
        chosen = kind if isinstance(kind, Kind) else kind_of(kind)
        parsed = options_of(chosen, options)
        self.check(chosen, target, parsed, trust_pickle=trust_pickle)
        given = {name: getattr(target, name) for name in TARGET_FIELDS}
        params = {"target": given, "options": parsed.options_only()}
        return self.ws.jobs.submit(chosen.name, params, system=target.system, principal=principal)

    def _check(self, tx: Transaction, kind: Kind, target: Target) -> None:
        session = tx.session
        owner = _lookup.system(session, target.system)
        if tx.authenticated:  # an unauthenticated actor's record is marked so in the ledger, as other writes are
            require_role(tx, kind.action, owner.name, f"running {kind.title} in {owner.name}")
        _lookup.dataset_version(session, target.dataset_version, system=owner)
        wants_model = kind.model in ("required", "file") or (kind.model == "optional" and target.score_with_model)
        if wants_model and target.model_version is None:
            raise InvalidInput(f"{kind.title} needs a model_version: the registered model version it runs")
        if kind.model == "none" and target.model_version is not None:
            raise InvalidInput(f"{kind.title} takes no model_version")
        if target.model_version is not None:
            _lookup.model_version(session, owner, target.model_version)
        if target.score_with_model and kind.model != "optional":
            raise InvalidInput(f"score_with_model goes with the bias assessment, not {kind.title}")
        if kind.reference != "optional" and bool(kind.reference) != (target.reference_version is not None):
            raise InvalidInput(
                f"{kind.title} needs reference_version"
                if kind.reference
                else f"{kind.title} takes no reference_version"
            )
        if target.reference_version is not None:
            _lookup.dataset_version(session, target.reference_version, system=owner)
        if kind.baseline != "optional" and bool(kind.baseline) != (target.baseline_id is not None):
            needs = "needs" if kind.baseline else "takes no"
            raise InvalidInput(f"{kind.title} {needs} baseline_id")
        if target.baseline_id is not None:
            baseline_check(session, owner, target.baseline_id, kind)
        if target.new_version is not None and not kind.registers_model:
            raise InvalidInput(f"{kind.title} takes no new_version")

    def run(
        self,
        kind: str | Kind,
        target: Target,
        options: Options | Mapping[str, Any],
        *,
        trust_pickle: bool = False,
        out: str | Path | None = None,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Run:
        """Run ``kind`` on the registered inputs of ``target`` and record the result (see the module's docstring).
        A joblib/pickle model file loads only with ``trust_pickle`` (see :meth:`Models.load`)."""
        chosen = kind if isinstance(kind, Kind) else kind_of(kind)
        chosen_options = options_of(chosen, options)
        self.check(chosen, target, chosen_options, trust_pickle=trust_pickle)
        say = watched(progress, cancelled)
        with ExitStack() as stack:
            say("opening the inputs")
            inputs, fingerprints = stack.enter_context(self._opened(chosen, target, chosen_options, trust_pickle))
            inputs.progress = say
            result = chosen.compute(inputs, chosen_options)
            say("writing the files")
            folder = Path(out) if out is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
            paths = write(chosen, result, folder)
            document = with_inputs(result.to_dict(), fingerprints)
            say("recording")
            if cancelled is not None and cancelled():
                raise Cancelled("cancelled before the result was recorded")
            if chosen.record is not None:
                recorded, model_ref = chosen.record(self.ws, target, result, document, paths)
            else:
                recorded = self.ws.assessments.record(
                    target.system,
                    document,
                    model_version=target.model_version,
                    dataset_version=target.dataset_version,
                    files={path.name: path for path in paths.values()},
                )
                model_ref = None
        return Run(recorded, document, paths, model_ref)

    @contextmanager
    def _opened(
        self, kind: Kind, target: Target, options: Any, trust_pickle: bool
    ) -> Iterator[tuple[Inputs, dict[str, dict[str, Any]]]]:
        ws = self.ws
        fingerprints: dict[str, dict[str, Any]] = {}
        with ExitStack() as stack:
            data = stack.enter_context(ws.datasets.opened(target.dataset_version))
            fingerprints["data"] = self._fingerprint_dataset(target.dataset_version)
            inputs = Inputs(data=data)
            if target.model_version is not None and (kind.model == "required" or target.score_with_model):
                features = getattr(options, "features", None) if kind.name == "explanations" else None
                inputs.model = ws.models.load(
                    target.system, target.model_version, trust_pickle=trust_pickle, feature_names=features
                )
                version = ws.models.get_version(target.system, target.model_version)
                fingerprints["model"] = {"ref": target.model_version, "sha256": version.artifact_sha256}
            if target.model_version is not None and kind.model == "file":
                artifact = self._model_file(target.system, target.model_version)
                inputs.model = stack.enter_context(ws.artifacts.linked_file(artifact.sha256, artifact.name))
                fingerprints["model"] = {"ref": target.model_version, "sha256": artifact.sha256}
            if kind.opens is not None:
                inputs.extra.update(kind.opens(ws, target, options))
            if target.reference_version is not None:
                inputs.reference = stack.enter_context(ws.datasets.opened(target.reference_version))
                fingerprints["reference"] = self._fingerprint_dataset(target.reference_version)
            if target.baseline_id is not None:
                if kind.baseline_of == ("baseline",):
                    inputs.baseline = stack.enter_context(ws.checks.baseline_files(target.system, target.baseline_id))
                recorded = ws.assessments.get(target.system, target.baseline_id)
                inputs.baseline_document = recorded.document
                inputs.baseline_source = f"{recorded.document.get('check') or 'baseline'} {target.baseline_id} of "
                inputs.baseline_source += target.system
                fingerprints["baseline"] = {"assessment": target.baseline_id, "sha256": recorded.document_sha256}
            yield inputs, fingerprints

    def _model_file(self, system: str, ref: str) -> Any:
        """The stored file of model version ``ref`` (a kind that reads it as it is), or InvalidInput."""
        from assay.store.models import Artifact

        with self._read() as session:
            version = _lookup.model_version(session, _lookup.system(session, system), ref)
            artifact = None if version.artifact_sha256 is None else session.get(Artifact, version.artifact_sha256)
        if artifact is None or not artifact.name:
            raise InvalidInput(
                f"model version {ref} has no stored file: register the version with the file this run reads "
                "(e.g. the endpoint file of a generative model)"
            )
        return artifact

    def _fingerprint_dataset(self, ref: str) -> dict[str, Any]:
        version = self.ws.datasets.get_version(ref)
        return {"ref": ref, "sha256": version.artifact_sha256}

    def record(
        self,
        kind: str | Kind,
        system: str,
        result: Any,
        *,
        paths: Mapping[str, Path] | None = None,
        model_version: str | None = None,
        dataset_version: str | None = None,
    ) -> Assessment:
        """Record a result computed on the user's own files (:func:`compute`) against ``system`` (and a model and
        dataset version), with the files :func:`write` wrote."""
        chosen = kind if isinstance(kind, Kind) else kind_of(kind)
        document = result if isinstance(result, Mapping) else result.to_dict()
        if document.get("schema") != chosen.schema:
            raise InvalidInput(f"not an {chosen.schema} document (schema {document.get('schema')!r})")
        return self.ws.assessments.record(
            system,
            document,
            model_version=model_version,
            dataset_version=dataset_version,
            files={path.name: path for path in (paths or {}).values()},
        )


# -- compute kinds as jobs ------------------------------------------------------------------------------------------


def _job_params(kind: Kind) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The check of a compute job's params at submit time (a schedule's too): ``{"target": {...}, "options":
    {...}}``, the options validated by the kind's model and stored with every default filled in."""

    def validate(params: dict[str, Any]) -> dict[str, Any]:
        target = params.get("target")
        options = params.get("options", {})
        extra = set(params) - {"target", "options"}
        if extra:
            raise InvalidInput(f"{kind.title} job: unknown params {sorted(extra)}; give target and options")
        if not isinstance(target, Mapping) or not isinstance(options, Mapping):
            raise InvalidInput(f"{kind.title} job: params.target and params.options must be objects")
        unknown = set(target) - set(TARGET_FIELDS)
        if unknown or "dataset_version" not in target:
            raise InvalidInput(
                f"{kind.title} job: params.target needs dataset_version and takes only {', '.join(TARGET_FIELDS)}"
            )
        Target(system="-", **dict(target))  # the types are the dataclass's; the values are checked at run time
        parsed = options_of(kind, options)
        return {"target": dict(target), "options": parsed.model_dump(mode="json")}

    return validate


def _run_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """A compute job: :meth:`Runs.run` as the requester, with the job's progress and cancel."""
    if ctx.system is None:
        raise InvalidInput("a compute job runs on an AI system")
    target = Target(system=ctx.system, **params["target"])
    done = ctx.workspace.runs.run(
        ctx.kind,
        target,
        params["options"],
        trust_pickle=ctx.trust_pickle,
        progress=lambda stage: ctx.progress(None, stage),
        cancelled=ctx.cancelled,
    )
    kind = kind_of(ctx.kind)
    result: dict[str, Any] = {
        "assessment_id": done.recorded.id,
        "assessment": f"/api/systems/{ctx.system}/assessments/{done.recorded.id}",
        **kind.summary(done.document),
    }
    if done.model_ref is not None:
        result["model_version"] = done.model_ref
    return result


def register_compute_handlers(register: Callable[..., Any]) -> None:
    """Register every compute kind as a job kind of the same name (``register`` is
    :func:`assay.services.jobs.register_handler`)."""
    from assay.services.kinds import KINDS

    for name, kind in KINDS.items():
        register(name, _run_job, action=kind.action, system=True, validate=_job_params(kind), description=kind.title)
