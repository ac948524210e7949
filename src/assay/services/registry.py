"""The inventory: AI systems, models and their versions, datasets and their versions, and assessments.

Every create and update is one write transaction with its audit event. Methods return the stored records
(detached SQLAlchemy objects; ``record.state()`` gives them as plain JSON values).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.evidence import controls_for
from assay.governance.licences import licence_note
from assay.governance.records import (
    MODEL_STAGES,
    DatasetVersionSpec,
    DatasetVersionUpdate,
    ModelVersionSpec,
    ModelVersionUpdate,
    SystemSpec,
    SystemUpdate,
    coerce,
    updates,
    validate,
)
from assay.services import _lookup
from assay.services._approval_state import approval_state_digest
from assay.services._base import Listing, Service, listing
from assay.services.access import (
    Principal,
    allowed,
    dataset_readable,
    dataset_writable,
    require_role,
    viewer_principal,
)
from assay.store.artifacts import StoredFile, safe_name
from assay.store.ledger import canonical_json
from assay.store.models import (
    ApprovalRequest,
    Artifact,
    Assessment,
    ControlStatus,
    Dataset,
    DatasetShare,
    DatasetVersion,
    Evidence,
    Membership,
    Model,
    ModelVersion,
    System,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from assay.adapters import Model as LoadedModel
    from assay.frames import Frame
    from assay.store.database import Transaction

__all__ = [
    "NO_COPY",
    "PICKLE_REFUSED",
    "Assessments",
    "DatasetInfo",
    "Datasets",
    "Models",
    "Systems",
    "previous_approved",
    "record_assessment",
    "register_model_version",
    "store_artifact",
]

NO_COPY: Final = (
    "dataset version {ref} has no registered copy: register it with the file and copy (or with the artifact_sha256 "
    "and file_name of an uploaded file)"
)
PICKLE_REFUSED: Final = (
    "model version {ref} is a joblib/pickle file ({name}): loading it runs any code it holds. Register the model "
    "as skops or ONNX, or, only if you trust where the file came from, load it with trust_pickle=True (the "
    "server: start it with `assay serve --trust-pickle`)"
)


def _schema(document: Mapping[str, Any]) -> str:
    """The kind of a document Assay wrote (its ``schema`` field); anything else is refused."""
    kind = document.get("schema")
    if not isinstance(kind, str) or not kind:
        raise InvalidInput("the document has no 'schema' field: record documents written by Assay")
    return kind


def store_artifact(tx: Transaction, stored: StoredFile, name: str, media_type: str) -> Artifact:
    """Record a file already written to the artifact store (once per digest)."""
    existing = tx.session.get(Artifact, stored.sha256)
    if existing is not None:
        return existing
    artifact = Artifact(sha256=stored.sha256, size=stored.size, name=name[:300], media_type=media_type)
    tx.session.add(artifact)
    tx.record("artifact.store", artifact, before=None)
    return artifact


class Systems(Service):
    """AI systems: create, list, show, update."""

    def create(self, spec: SystemSpec | Mapping[str, Any], *, owner_member: str | None = None) -> System:
        """Register a system; ``owner_member`` (a user name) becomes its owner in the same transaction. An
        authenticated member (the workspace's viewer) who creates a system becomes its owner, as on the server, so
        that they can see what they created; admins need no membership."""
        valid: SystemSpec = coerce(SystemSpec, spec, "AI system")
        with self._write() as tx:
            creator = viewer_principal(tx.session)
            if owner_member is None and creator is not None and creator.role == "member":
                owner_member = creator.name
            clash = tx.session.execute(select(System.name).where(System.name_key == valid.name.lower())).scalar()
            if clash is not None:
                case = "" if clash == valid.name else f" (names are unique regardless of case: {valid.name!r} is taken)"
                raise Conflict(f"an AI system named {clash!r} already exists{case}: update it or choose another name")
            system = System(**valid.model_dump())
            tx.session.add(system)
            tx.record("system.create", system, before=None)
            if owner_member is not None:
                user = tx.session.execute(select(User).where(User.name == owner_member)).scalar_one_or_none()
                if user is None:
                    raise NotFound(f"no user named {owner_member!r}")
                membership = Membership(user_id=user.id, system_id=system.id, role="owner")
                tx.session.add(membership)
                payload = {"user": owner_member, "system": system.name, "role": "owner"}
                tx.record("membership.grant", membership, before=None, payload=payload)
        return system

    def list(
        self, *, category: str | None = None, stage: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[System]:
        """The systems the viewer may see, by name (of one EU AI Act category or life cycle stage when given);
        ``limit`` and ``offset`` take one page (counted and cut in the database)."""
        with self._read() as session:
            query = select(System).order_by(System.name)
            if (visible := _lookup.visible_systems(session)) is not None:
                query = query.where(visible)
            if category is not None:
                query = query.where(System.eu_ai_act_category == category)
            if stage is not None:
                query = query.where(System.lifecycle_stage == stage)
            return listing(session, query, limit, offset)

    def get(self, name: str) -> System:
        with self._read() as session:
            return _lookup.system(session, name)

    def update(self, name: str, changes: SystemUpdate | Mapping[str, Any]) -> System:
        _update, given = updates(SystemUpdate, changes, f"update of AI system {name!r}")
        with self._write() as tx:
            system = _lookup.system(tx.session, name)
            before = system.state()
            current = {key: before[key] for key in SystemSpec.model_fields}
            merged: SystemSpec = validate(SystemSpec, {**current, **given}, f"AI system {name!r}")
            for key, value in merged.model_dump().items():
                setattr(system, key, value)
            system.updated_at = utcnow()
            tx.record("system.update", system, before=before, payload={"changed": sorted(given)})
        return system


class Models(Service):
    """Models of a system and their versions, with lineage and stage."""

    def register_version(
        self,
        system: str,
        spec: ModelVersionSpec | Mapping[str, Any],
        *,
        artifact: Path | None = None,
        file_name: str | None = None,
    ) -> ModelVersion:
        """Register ``MODEL@VERSION`` (the model is created on its first version); ``artifact`` is copied in.
        ``file_name`` names a file already in the artifact store (the spec's ``artifact_sha256``, e.g. uploaded to
        the server): its suffix (``.skops``, ``.onnx``, ``.joblib``) tells the model's format when it is loaded."""
        valid: ModelVersionSpec = coerce(ModelVersionSpec, spec, "model version")
        if artifact is not None and valid.artifact_sha256 is not None:
            raise InvalidInput("give the model file or its artifact_sha256, not both")
        stored = self.ws.artifacts.put_file(artifact) if artifact is not None else None
        if file_name is not None:
            if valid.artifact_sha256 is None:
                raise InvalidInput("file_name names the file of artifact_sha256: give both")
            if not self.ws.artifacts.has(valid.artifact_sha256):
                raise InvalidInput(f"artifact {valid.artifact_sha256} is not in the artifact store: upload it first")
            path = self.ws.artifacts.path_of(valid.artifact_sha256)
            stored, artifact = StoredFile(valid.artifact_sha256, path.stat().st_size, path), Path(safe_name(file_name))
        with self._write() as tx:
            return register_model_version(tx, system, valid, stored, None if artifact is None else artifact.name)

    def get_version(self, system: str, ref: str) -> ModelVersion:
        with self._read() as session:
            return _lookup.model_version(session, _lookup.system(session, system), ref)

    def load(
        self, system: str, ref: str, *, trust_pickle: bool = False, feature_names: Sequence[str] | None = None
    ) -> LoadedModel:
        """The stored model file of version ``ref``, loaded through Assay's adapters in the format its name tells:
        ``.skops`` (Assay's own mitigators are trusted types, so a mitigated version loads), ``.onnx``, or
        ``.joblib``/``.pkl`` only with ``trust_pickle`` (loading a pickle runs the code it holds). Only a stored
        file, never an endpoint or an import."""
        from assay.adapters import load_model
        from assay.mitigate import SKOPS_TYPES

        full, artifact, kind = self.loadable(system, ref, trust_pickle=trust_pickle)
        with self.ws.artifacts.linked_file(artifact.sha256, artifact.name) as path:
            loaded = load_model(
                path, kind=kind, trust=trust_pickle, trusted_types=SKOPS_TYPES, feature_names=feature_names
            )
        loaded.source = f"{full} ({path.name})"
        return loaded

    def loadable(self, system: str, ref: str, *, trust_pickle: bool = False) -> tuple[str, Artifact, str]:
        """Refuse, without loading it, a model version whose stored file :meth:`load` would refuse; (its full ref, its
        artifact, its adapter kind) otherwise."""
        from assay.adapters import file_kind

        with self._read() as session:
            version = _lookup.model_version(session, _lookup.system(session, system), ref)
            model = session.get(Model, version.model_id)
            artifact = None if version.artifact_sha256 is None else session.get(Artifact, version.artifact_sha256)
        full = f"{model.name if model else '?'}@{version.version}"
        if version.artifact_sha256 is None:
            raise InvalidInput(
                f"model version {full} has no model file: register a version with its file (.skops or .onnx)"
            )
        if artifact is None:
            raise InvalidInput(
                f"the model file of {full} has no name to tell its format: register a version with the file, or "
                "with artifact_sha256 and file_name (e.g. model.skops)"
            )
        kind = file_kind(artifact.name)
        if kind is None:
            raise InvalidInput(f"the model file of {full}, {artifact.name!r}, is not a .skops, .onnx or .joblib file")
        if kind == "sklearn" and not trust_pickle:
            raise InvalidInput(PICKLE_REFUSED.format(ref=full, name=artifact.name))
        return full, artifact, kind

    def list_versions(
        self, system: str, *, limit: int | None = None, offset: int = 0
    ) -> Listing[tuple[Model, ModelVersion]]:
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = (
                select(ModelVersion)
                .join(Model, ModelVersion.model_id == Model.id)
                .where(Model.system_id == owner.id)
                .order_by(Model.name, ModelVersion.id)
            )
            versions = listing(session, query, limit, offset)
            models = {m.id: m for m in session.execute(select(Model).where(Model.system_id == owner.id)).scalars()}
            return Listing([(models[v.model_id], v) for v in versions], versions.total)

    def lineage(self, system: str, ref: str) -> list[ModelVersion]:
        """The version and its ancestors, newest first."""
        with self._read() as session:
            current: ModelVersion | None = _lookup.model_version(session, _lookup.system(session, system), ref)
            chain: list[ModelVersion] = []
            while current is not None and current not in chain:
                chain.append(current)
                current = None if current.parent_id is None else session.get(ModelVersion, current.parent_id)
            return chain

    def update_version(self, system: str, ref: str, changes: ModelVersionUpdate | Mapping[str, Any]) -> ModelVersion:
        """Change the framework, training dataset, licence or provenance of a model version (approvals of it become
        stale). A licence Assay does not know is kept, with a warning in the audit event."""
        update, given = updates(ModelVersionUpdate, changes, f"update of model version {ref!r}")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            version = _lookup.model_version(tx.session, owner, ref)
            before = version.state()
            if "framework" in given:
                version.framework = update.framework or ""
            for key in ("licence", "source", "terms", "foundation_model", "provider"):
                if key in given:
                    setattr(version, key, getattr(update, key) or "")
            if "training_dataset" in given:
                training = update.training_dataset
                version.training_dataset_version_id = (
                    None if training is None else _lookup.dataset_version(tx.session, training, system=owner).id
                )
            version.updated_at = utcnow()
            payload: dict[str, Any] = {"changed": sorted(given)}
            if (note := licence_note(update.licence if "licence" in given else None)) is not None:
                payload["warnings"] = [note]
            tx.record("model_version.update", version, before=before, payload=payload)
        return version

    def set_stage(self, system: str, ref: str, stage: str, *, reason: str = "") -> ModelVersion:
        if stage not in MODEL_STAGES:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}")
        if stage == "production":
            raise PermissionDenied(
                f"{ref} can reach production only through an approved request: `assay approval request {system} "
                f"{ref} --stage production`, then a decision by an approver"
            )
        with self._write() as tx:
            version = _lookup.model_version(tx.session, _lookup.system(tx.session, system), ref)
            move_stage(tx, version, stage, reason=reason)
        return version

    def rollback(self, system: str, *, reason: str, model: str | None = None) -> ModelVersion:
        """Move production of ``system`` (of its model ``model``, needed when several are in production) back to the
        previous approved version (:func:`previous_approved`); the current production version moves to staging.
        Needs the role that decides approvals (approver or admin) and a reason; both moves are audit events that
        carry the reason and ``rollback: true``. Returns the version now in production."""
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a rollback needs a reason (--reason TEXT): it is kept in the audit log")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "approve", owner.name, f"rolling back production of {owner.name}")
            query = (
                select(Model, ModelVersion)
                .join(ModelVersion, ModelVersion.model_id == Model.id)
                .where(Model.system_id == owner.id, ModelVersion.stage == "production")
                .order_by(Model.name)
            )
            if model is not None:
                query = query.where(Model.name == model)
            current = tx.session.execute(query).all()
            if not current:
                named = f"model {model!r} of {owner.name}" if model is not None else owner.name
                raise Conflict(f"{named} has no version in production: there is nothing to roll back")
            if len(current) > 1:
                names = ", ".join(f"{m.name}@{v.version}" for m, v in current)
                raise InvalidInput(f"{owner.name} has several models in production ({names}): name one with --model")
            found_model, version = current[0]
            ref = f"{found_model.name}@{version.version}"
            found = previous_approved(tx.session, version)
            if found is None:
                raise Conflict(
                    f"no version of {found_model.name} other than {ref} reached production through an approval that "
                    f"still stands: there is nothing to roll back to (request approval of a version with `assay "
                    f"approval request {owner.name} MODEL@VERSION --stage production`)"
                )
            target, request = found
            target_ref = f"{found_model.name}@{target.version}"
            move_stage(tx, version, "staging", reason=f"rolled back to {target_ref}: {reason}", rollback=True)
            move_stage(
                tx,
                target,
                "production",
                reason=f"rollback from {ref}: {reason}",
                rollback=True,
                approval=request.id,
                replaces=ref,
            )
        return target


def previous_approved(session: Session, current: ModelVersion) -> tuple[ModelVersion, ApprovalRequest] | None:
    """The version a rollback of ``current`` goes back to, with the approval that took it to production: of the
    other versions of the same model that reached production through an approved request, the one that reached it
    most recently whose approval still stands (the state it froze is unchanged) and that is not retired; None
    when there is none."""
    rows = session.execute(
        select(ApprovalRequest, ModelVersion)
        .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
        .where(
            ModelVersion.model_id == current.model_id,
            ModelVersion.id != current.id,
            ApprovalRequest.stage == "production",
            ApprovalRequest.status == "approved",
        )
        .order_by(ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc())
    ).all()
    seen: set[int] = set()
    for request, version in rows:
        if version.id in seen:
            continue  # the newest approval of a version decides whether it still stands
        seen.add(version.id)
        if version.stage == "retired":
            continue
        if request.state_digest == approval_state_digest(session, version):
            return version, request
    return None


def move_stage(tx: Transaction, version: ModelVersion, stage: str, *, reason: str = "", **payload: Any) -> None:
    before = version.state()
    version.stage = stage
    version.updated_at = utcnow()
    tx.record(
        "model_version.stage",
        version,
        before=before,
        payload={"from": before["stage"], "to": stage, "reason": reason, **payload},
    )


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset with the AI system that owns it and the systems it is shared with."""

    dataset: Dataset
    system: str
    shared_with: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.dataset.state(), "system": self.system, "shared_with": list(self.shared_with)}


class Datasets(Service):
    """Datasets and their versions, with provenance and lineage; each dataset owned by an AI system and shared
    explicitly with others.

    ``principal`` (default: the workspace's authenticated user, as for every service; with neither, the workspace's
    own user may do anything) limits every method to what that person may do: a dataset they may
    not see does not exist for them (:class:`~assay.errors.NotFound`); one they see only as a member of a system it
    is shared with, or as a viewer or approver, they may read but not change
    (:class:`~assay.errors.PermissionDenied`). See :func:`assay.services.access.dataset_readable`."""

    # -- who may see and change what -------------------------------------------------------------------------------

    @staticmethod
    def _visible(principal: Principal | None, session: Session) -> ColumnElement[bool] | None:
        """The SQL condition selecting the datasets ``principal`` (default: the session's viewer) may see (None:
        all of them)."""
        principal = viewer_principal(session, principal)
        systems = None if principal is None else principal.systems()
        if systems is None:
            return None
        ids = select(System.id).where(System.name.in_(sorted(systems))).scalar_subquery()
        return _lookup.usable_by(ids)

    @staticmethod
    def _ownership(session: Session, dataset: Dataset) -> tuple[str, tuple[str, ...]]:
        owner = session.get(System, dataset.system_id)
        shared = session.execute(
            select(System.name)
            .join(DatasetShare, DatasetShare.system_id == System.id)
            .where(DatasetShare.dataset_id == dataset.id)
            .order_by(System.name)
        ).scalars()
        return ("?" if owner is None else owner.name), tuple(shared)

    def _find(self, session: Session, name: str, principal: Principal | None) -> Dataset:
        return _lookup.dataset(session, name, where=self._visible(principal, session))

    def _require_write(self, session: Session, dataset: Dataset, principal: Principal | None, doing: str) -> str:
        """The owning system's name, once ``principal`` may change the dataset."""
        principal = viewer_principal(session, principal)
        owner, _ = self._ownership(session, dataset)
        if principal is not None and not dataset_writable(principal, owner):
            raise PermissionDenied(
                f"{principal.name} may not {doing} dataset {dataset.name!r}: only owners of its system {owner!r} may"
            )
        return owner

    @staticmethod
    def _owning_system(session: Session, name: str, principal: Principal | None, doing: str) -> System:
        """System ``name``, to own a dataset: ``principal`` must be able to see it (else it does not exist for
        them) and to change it."""
        principal = viewer_principal(session, principal)
        if principal is not None and not allowed(principal, "read", name):
            raise NotFound(f"no AI system named {name!r}")
        system = _lookup.system(session, name)
        if principal is not None and not allowed(principal, "write", name):
            raise PermissionDenied(f"{principal.name} may not {doing} system {name!r}: only its owners may")
        return system

    def _check_register(
        self, session: Session, valid: DatasetVersionSpec, system: str, principal: Principal | None
    ) -> tuple[System, Dataset | None]:
        principal = viewer_principal(session, principal)
        existing = session.execute(select(Dataset).where(Dataset.name == valid.dataset)).scalar_one_or_none()
        if (
            existing is not None
            and principal is not None
            and not dataset_readable(principal, *self._ownership(session, existing))
        ):
            raise NotFound(
                f"dataset {valid.dataset!r} is not one you may see, and dataset names are unique in the workspace: "
                "choose another name"
            )
        owner = self._owning_system(session, system, principal, "register datasets in")
        if existing is not None:
            current = self._require_write(session, existing, principal, "add versions to")
            if existing.system_id != owner.id:
                raise Conflict(
                    f"dataset {valid.dataset!r} belongs to system {current!r}, not {owner.name!r}: register its "
                    f"versions with --system {current}"
                )
            taken = select(DatasetVersion.id).where(
                DatasetVersion.dataset_id == existing.id, DatasetVersion.version == valid.version
            )
            if session.execute(taken).first() is not None:  # said before the file is read, in words
                raise Conflict(
                    f"dataset version {valid.dataset}@{valid.version} already exists: give the new data another version"
                )
        return owner, existing

    # -- versions ------------------------------------------------------------------------------------------------

    def register_version(
        self,
        spec: DatasetVersionSpec | Mapping[str, Any],
        *,
        system: str,
        file: Path | None = None,
        copy: bool = False,
        scan_pii: bool = False,
        artifact_sha256: str | None = None,
        file_name: str | None = None,
        principal: Principal | None = None,
    ) -> DatasetVersion:
        """Register ``DATASET@VERSION`` of a dataset owned by AI ``system`` (the dataset is created with its first
        version; its later versions name the same system). With ``file``, its fingerprint (SHA-256), columns and
        row count are read from it; ``copy`` keeps a copy in the artifact store; ``scan_pii`` scans it for personal
        data and sets ``pii`` and ``personal_data_categories`` from what it finds (see :func:`_scan_pii`).
        ``artifact_sha256`` with ``file_name`` names a file already in the artifact store (e.g. uploaded to the
        server): it is registered as the version's copy, its name's suffix (``.csv``, ``.parquet``) telling the
        format."""
        if artifact_sha256 is not None or file_name is not None:
            if artifact_sha256 is None or not file_name:
                raise InvalidInput("give artifact_sha256 and file_name (e.g. credit.csv: its suffix tells the format)")
            if file is not None:
                raise InvalidInput("give the dataset file or the artifact_sha256 of a stored one, not both")
            if not self.ws.artifacts.has(artifact_sha256):
                raise InvalidInput(f"artifact {artifact_sha256} is not in the artifact store: upload it first")
            with self.ws.artifacts.linked_file(artifact_sha256, file_name) as link:
                return self.register_version(
                    spec, system=system, file=link, copy=True, scan_pii=scan_pii, principal=principal
                )
        valid: DatasetVersionSpec = coerce(DatasetVersionSpec, spec, "dataset version")
        if not isinstance(system, str) or not system:
            raise InvalidInput("give the AI system that owns the dataset (system; the CLI's --system)")
        with self._read() as session:  # refused before the file is read or stored
            self._check_register(session, valid, system, principal)
        facts: dict[str, Any] = {}
        stored = None
        scan: dict[str, Any] | None = None
        if file is not None:
            facts = _describe_file(file)
            if scan_pii:
                scan = _scan_pii(file)
            if copy:
                stored = self.ws.artifacts.put_file(file)
        elif copy:
            raise InvalidInput("copy needs the dataset file")
        elif scan_pii:
            raise InvalidInput("scan_pii needs the dataset file")
        with self._write() as tx:
            owner, dataset = self._check_register(tx.session, valid, system, principal)
            if dataset is None:
                dataset = Dataset(name=valid.dataset, system_id=owner.id, description=valid.description)
                tx.session.add(dataset)
                tx.record("dataset.create", dataset, before=None, payload={"system": owner.name})
            visible = self._visible(principal, tx.session)
            parents = [_lookup.dataset_version(tx.session, ref, where=visible).id for ref in valid.parents]
            fields = valid.model_dump(exclude={"dataset", "description", "parents"})
            for key, value in facts.items():
                if fields.get(key) in (None, [], ""):
                    fields[key] = value
            if facts.get("fingerprint") and valid.fingerprint and valid.fingerprint != facts["fingerprint"]:
                raise InvalidInput(f"fingerprint {valid.fingerprint} does not match the file's {facts['fingerprint']}")
            if scan is not None and scan["pii"]:
                fields["pii"] = True
                fields["personal_data_categories"] = sorted(
                    set(fields["personal_data_categories"]) | set(scan["categories"])
                )
            artifact_sha = None
            if stored is not None and file is not None:
                artifact_sha = store_artifact(tx, stored, file.name, _media_type(file)).sha256
            version = DatasetVersion(dataset_id=dataset.id, artifact_sha256=artifact_sha, parent_ids=parents, **fields)
            tx.session.add(version)
            payload: dict[str, Any] = {"ref": f"{dataset.name}@{valid.version}", "system": owner.name}
            if scan is not None:
                payload["pii_scan"] = scan
            if (note := licence_note(valid.licence)) is not None:
                payload["warnings"] = [note]
            tx.record("dataset_version.create", version, before=None, payload=payload)
        return version

    def get_version(self, ref: str, *, principal: Principal | None = None) -> DatasetVersion:
        with self._read() as session:
            return _lookup.dataset_version(session, ref, where=self._visible(principal, session))

    @contextmanager
    def opened(self, ref: str) -> Iterator[Frame]:
        """The registered copy of dataset version ``ref``, opened lazily (:func:`assay.frames.open`) from a link
        under its original file name (which tells its format) in a temporary folder, removed afterwards. Results
        name it as ``dataset version REF (FILE)``, not by the temporary path. (The runs that open it check first
        that the system they record in owns the dataset or has it shared.)"""
        from assay.frames import open as open_frame

        with self._read() as session:
            data = _lookup.dataset_version(session, ref)
            artifact = None if data.artifact_sha256 is None else session.get(Artifact, data.artifact_sha256)
        if artifact is None:
            raise InvalidInput(NO_COPY.format(ref=ref))
        name = artifact.name or "data.csv"
        with self.ws.artifacts.linked_file(artifact.sha256, name) as path:
            yield open_frame(path, source=f"dataset version {ref} ({Path(name).name})")

    def update_version(
        self, ref: str, changes: DatasetVersionUpdate | Mapping[str, Any], *, principal: Principal | None = None
    ) -> DatasetVersion:
        """Change the provenance, location or personal-data fields of a dataset version (validated as a whole)."""
        _update, given = updates(DatasetVersionUpdate, changes, f"update of dataset version {ref!r}")
        with self._write() as tx:
            version = _lookup.dataset_version(tx.session, ref, where=self._visible(principal, tx.session))
            dataset = tx.session.get(Dataset, version.dataset_id)
            assert dataset is not None
            self._require_write(tx.session, dataset, principal, "change")
            before = version.state()
            name, number = _lookup.split_ref(ref, "dataset version")
            current = {key: getattr(version, key) for key in DatasetVersionSpec.model_fields if hasattr(version, key)}
            current |= {"dataset": name, "version": number, "parents": []}
            merged: DatasetVersionSpec = validate(DatasetVersionSpec, {**current, **given}, f"dataset version {ref!r}")
            for key in given:
                setattr(version, key, getattr(merged, key))
            payload: dict[str, Any] = {"changed": sorted(given)}
            if (note := licence_note(merged.licence if "licence" in given else None)) is not None:
                payload["warnings"] = [note]
            tx.record("dataset_version.update", version, before=before, payload=payload)
        return version

    def list_versions(
        self, *, principal: Principal | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[tuple[Dataset, DatasetVersion]]:
        """Every dataset version ``principal`` (or the workspace's viewer) may see, selected, counted and cut to
        ``limit`` from ``offset`` in the database."""
        with self._read() as session:
            visible = self._visible(principal, session)
            query = (
                select(DatasetVersion)
                .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
                .where(*([] if visible is None else [visible]))
                .order_by(Dataset.name, DatasetVersion.id)
            )
            versions = listing(session, query, limit, offset)
            ids = {v.dataset_id for v in versions}
            datasets = {d.id: d for d in session.execute(select(Dataset).where(Dataset.id.in_(ids))).scalars()}
            return Listing([(datasets[v.dataset_id], v) for v in versions], versions.total)

    # -- datasets: owner and shares ------------------------------------------------------------------------------

    def get(self, name: str, *, principal: Principal | None = None) -> DatasetInfo:
        """Dataset ``name`` with its owning system and the systems it is shared with."""
        with self._read() as session:
            dataset = self._find(session, name, principal)
            return DatasetInfo(dataset, *self._ownership(session, dataset))

    def list(self, *, principal: Principal | None = None) -> list[DatasetInfo]:
        """Every dataset ``principal`` may see (selected in the database), with owner and shares, by name."""
        with self._read() as session:
            visible = self._visible(principal, session)
            rows = session.execute(
                select(Dataset, System.name)
                .join(System, System.id == Dataset.system_id)
                .where(*([] if visible is None else [visible]))
                .order_by(Dataset.name)
            ).all()
            ids = [row[0].id for row in rows]
            shares: dict[int, list[str]] = {}
            for dataset_id, system_name in session.execute(
                select(DatasetShare.dataset_id, System.name)
                .join(System, System.id == DatasetShare.system_id)
                .where(DatasetShare.dataset_id.in_(ids))
                .order_by(System.name)
            ).all():
                shares.setdefault(dataset_id, []).append(system_name)
            return [DatasetInfo(row[0], row[1], tuple(shares.get(row[0].id, []))) for row in rows]

    def share(self, name: str, system: str, *, principal: Principal | None = None) -> DatasetInfo:
        """Share dataset ``name`` with AI ``system``: its members may read the dataset and use its versions in the
        system's records. Only owners of the owning system share, with a system they can see."""
        with self._write() as tx:
            dataset = self._find(tx.session, name, principal)
            owner = self._require_write(tx.session, dataset, principal, "share")
            principal = viewer_principal(tx.session, principal)
            if principal is not None and not allowed(principal, "read", system):
                raise NotFound(f"no AI system named {system!r}")
            target = _lookup.system(tx.session, system)
            if target.id == dataset.system_id:
                raise InvalidInput(f"dataset {name!r} is owned by system {system!r}: share it with other systems")
            if self._share(tx.session, dataset, target) is not None:
                raise Conflict(f"dataset {name!r} is already shared with system {system!r}")
            share = DatasetShare(dataset_id=dataset.id, system_id=target.id)
            tx.session.add(share)
            tx.record("dataset.share", share, before=None, payload={"dataset": name, "system": system, "owner": owner})
            return DatasetInfo(dataset, *self._ownership(tx.session, dataset))

    def unshare(self, name: str, system: str, *, principal: Principal | None = None) -> DatasetInfo:
        """Stop sharing dataset ``name`` with ``system`` (records it already made keep naming the versions they
        used). Only owners of the owning system unshare."""
        with self._write() as tx:
            dataset = self._find(tx.session, name, principal)
            owner = self._require_write(tx.session, dataset, principal, "unshare")
            target = tx.session.execute(select(System).where(System.name == system)).scalar_one_or_none()
            share = None if target is None else self._share(tx.session, dataset, target)
            if share is None:
                raise NotFound(f"dataset {name!r} is not shared with system {system!r}")
            before = share.state()
            tx.session.delete(share)
            payload = {"dataset": name, "system": system, "owner": owner}
            tx.record("dataset.unshare", share, before=before, deleted=True, payload=payload)
            return DatasetInfo(dataset, *self._ownership(tx.session, dataset))

    def assign(self, name: str, system: str, *, principal: Principal | None = None) -> DatasetInfo:
        """Move dataset ``name`` to another owning ``system`` (e.g. one the upgrade to schema 0007 gave to
        ``unassigned-datasets``): the person must be able to change both systems. A share with the new owner
        ends (it owns the dataset now); the old owner keeps no access unless the dataset is shared with it."""
        with self._write() as tx:
            dataset = self._find(tx.session, name, principal)
            current = self._require_write(tx.session, dataset, principal, "move")
            target = self._owning_system(tx.session, system, principal, "move datasets to")
            if target.id == dataset.system_id:
                raise InvalidInput(f"dataset {name!r} is owned by system {system!r} already")
            share = self._share(tx.session, dataset, target)
            if share is not None:
                before_share = share.state()
                tx.session.delete(share)
                payload = {"dataset": name, "system": system, "owner": current}
                tx.record("dataset.unshare", share, before=before_share, deleted=True, payload=payload)
            before = dataset.state()
            dataset.system_id = target.id
            tx.record("dataset.assign", dataset, before=before, payload={"from": current, "to": target.name})
            return DatasetInfo(dataset, *self._ownership(tx.session, dataset))

    @staticmethod
    def _share(session: Session, dataset: Dataset, system: System) -> DatasetShare | None:
        return session.execute(
            select(DatasetShare).where(DatasetShare.dataset_id == dataset.id, DatasetShare.system_id == system.id)
        ).scalar_one_or_none()


def _media_type(file: Path) -> str:
    return {
        ".csv": "text/csv",
        ".parquet": "application/vnd.apache.parquet",
        ".html": "text/html",
        ".json": "application/json",
        ".jsonl": "application/jsonl",
    }.get(file.suffix.lower(), "application/octet-stream")


def _describe_file(file: Path) -> dict[str, Any]:
    """Fingerprint, columns and row count of a CSV or Parquet file (read lazily by DuckDB)."""
    import narwhals as nw

    from assay.frames import open as open_frame
    from assay.store.artifacts import sha256_file

    if not file.is_file():
        raise InvalidInput(f"dataset file {file} does not exist")
    frame = open_frame(file)
    columns = [{"name": name, "type": str(dtype)} for name, dtype in frame.schema.items()]
    count = frame.lazy.select(nw.len()).collect().item()
    return {"fingerprint": sha256_file(file), "columns": columns, "row_count": int(count)}


def _scan_pii(file: Path) -> dict[str, Any]:
    """The PII scan of a dataset file (:func:`assay.checks.scan_pii`, offline): whether it holds personal data,
    the categories and entity types found, and the columns flagged; never a value."""
    from assay.checks import scan_pii

    result = scan_pii(file)
    return {
        "pii": result.pii,
        "categories": list(result.categories),
        "entities": list(result.entities),
        "columns": {c.column: list(c.entities) for c in result.flagged},
        "values_per_column": result.per_column,
    }


class Assessments(Service):
    """Result documents attached to a system, model version and dataset version, linked to controls as evidence."""

    def check_target(
        self, system: str, *, model_version: str | None = None, dataset_version: str | None = None
    ) -> None:
        """Fail early (before a long computation) when what a result is to be recorded against does not exist."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            if model_version is not None:
                _lookup.model_version(session, owner, model_version)
            if dataset_version is not None:
                _lookup.dataset_version(session, dataset_version, system=owner)

    def record(
        self,
        system: str,
        document: Mapping[str, Any],
        *,
        model_version: str | None = None,
        dataset_version: str | None = None,
        files: Mapping[str, Path] | None = None,
    ) -> Assessment:
        """Record a result document; ``files`` (e.g. ``{"report.html": path}``) are kept in the artifact store."""
        _schema(document)  # before the files are stored: a document Assay did not write changes nothing
        stored = {name: self.ws.artifacts.put_file(path) for name, path in (files or {}).items()}
        with self._write() as tx:
            return record_assessment(
                tx, system, document, model_version=model_version, dataset_version=dataset_version, files=stored,
                evidence_valid_days=self.ws.settings.evidence_valid_days,
            )  # fmt: skip

    def list(self, system: str, *, limit: int | None = None, offset: int = 0) -> Listing[Assessment]:
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(Assessment).where(Assessment.system_id == owner.id).order_by(Assessment.id)
            return listing(session, query, limit, offset)

    def get(self, system: str, assessment_id: int) -> Assessment:
        with self._read() as session:
            owner = _lookup.system(session, system)
            return _lookup.by_id(session, Assessment, assessment_id, "assessment", system_id=owner.id)


def _excluded(session: Session, system_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(ControlStatus.framework, ControlStatus.control_id).where(
            ControlStatus.system_id == system_id, ControlStatus.applicable.is_(False)
        )
    ).all()
    return {(row[0], row[1]) for row in rows}


def link_evidence(tx: Transaction, owner: System, assessment: Assessment, *, valid_days: int) -> list[Evidence]:
    """Link ``assessment`` as evidence to every control the evidence rules name, except controls the system
    excluded (those are listed in the audit payload as skipped)."""
    excluded = _excluded(tx.session, owner.id)
    today = dt.datetime.now(dt.UTC).date()
    linked: list[Evidence] = []
    skipped: list[str] = []
    for link in controls_for(assessment.document):
        if (link.framework, link.control) in excluded:
            skipped.append(f"{link.framework}:{link.control}")
            continue
        evidence = Evidence(
            system_id=owner.id,
            framework=link.framework,
            control_id=link.control,
            kind="assessment",
            assessment_id=assessment.id,
            description=link.reason,
            rule=link.rule,
            valid_from=today,
            valid_until=today + dt.timedelta(days=valid_days),
            created_by=tx.actor,
        )
        tx.session.add(evidence)
        linked.append(evidence)
    tx.session.flush()
    for evidence in linked:  # each item its own event: verification checks every governed record against one
        tx.record(
            "evidence.linked",
            evidence,
            before=None,
            payload={"control": f"{evidence.framework}:{evidence.control_id}", "rule": evidence.rule},
        )
    if linked or skipped:
        tx.record(
            "evidence.link",
            assessment,
            before=assessment.state(),
            payload={
                "controls": [f"{e.framework}:{e.control_id}" for e in linked],
                "evidence_ids": [e.id for e in linked],
                "skipped_excluded": skipped,
            },
        )
    return linked


def record_assessment(
    tx: Transaction,
    system: str,
    document: Mapping[str, Any],
    *,
    model_version: str | None = None,
    dataset_version: str | None = None,
    files: Mapping[str, StoredFile] | None = None,
    evidence_valid_days: int,
) -> Assessment:
    """Record a result document inside ``tx`` (what :meth:`Assessments.record` does, for any use case that writes
    more in the same transaction), its ``files`` already in the artifact store, and link it as evidence valid for
    ``evidence_valid_days``."""
    kind = _schema(document)
    text = canonical_json(dict(document))
    stored = files or {}
    owner = _lookup.system(tx.session, system)
    version = None if model_version is None else _lookup.model_version(tx.session, owner, model_version)
    data = None if dataset_version is None else _lookup.dataset_version(tx.session, dataset_version, system=owner)
    data_block = document.get("data")
    fingerprint = data_block.get("fingerprint") if isinstance(data_block, Mapping) else None
    assessment = Assessment(
        system_id=owner.id,
        model_version_id=None if version is None else version.id,
        dataset_version_id=None if data is None else data.id,
        kind=kind,
        document=dict(document),
        document_sha256=hashlib.sha256(text).hexdigest(),
        data_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        attachments={
            name: store_artifact(tx, item, name, _media_type(Path(name))).sha256 for name, item in stored.items()
        },
        created_by=tx.actor,
    )
    tx.session.add(assessment)
    tx.record(
        "assessment.record",
        assessment,
        before=None,
        payload={"system": owner.name, "kind": kind, "document_sha256": assessment.document_sha256},
    )
    link_evidence(tx, owner, assessment, valid_days=evidence_valid_days)
    return assessment


def register_model_version(
    tx: Transaction, system: str, valid: ModelVersionSpec, stored: StoredFile | None, file_name: str | None
) -> ModelVersion:
    """Register a model version inside ``tx`` (what :meth:`Models.register_version` does, for a use case that
    writes more in the same transaction), the spec validated and the file, if any, already in the artifact
    store."""
    owner = _lookup.system(tx.session, system)
    model = tx.session.execute(
        select(Model).where(Model.system_id == owner.id, Model.name == valid.model)
    ).scalar_one_or_none()
    if model is None:
        model = Model(system_id=owner.id, name=valid.model, description=valid.description)
        tx.session.add(model)
        tx.record("model.create", model, before=None, payload={"system": owner.name})
    elif tx.session.execute(
        select(ModelVersion.id).where(ModelVersion.model_id == model.id, ModelVersion.version == valid.version)
    ).first():
        raise Conflict(
            f"model version {valid.model}@{valid.version} already exists: register the new one as another version"
        )
    training = None
    if valid.training_dataset:  # a dataset the system owns or that is shared with it
        training = _lookup.dataset_version(tx.session, valid.training_dataset, system=owner)
    parent = None
    if valid.parent:
        ref = valid.parent if "@" in valid.parent else f"{valid.model}@{valid.parent}"
        parent = _lookup.model_version(tx.session, owner, ref)
    sha = valid.artifact_sha256
    if stored is not None and file_name is not None:
        sha = store_artifact(tx, stored, file_name, "application/octet-stream").sha256
    version = ModelVersion(
        model_id=model.id,
        version=valid.version,
        artifact_sha256=sha,
        framework=valid.framework,
        training_dataset_version_id=None if training is None else training.id,
        parent_id=None if parent is None else parent.id,
        stage=valid.stage,
        licence=valid.licence,
        source=valid.source,
        terms=valid.terms,
        foundation_model=valid.foundation_model,
        provider=valid.provider,
    )
    tx.session.add(version)
    payload: dict[str, Any] = {"system": owner.name, "ref": f"{valid.model}@{valid.version}"}
    if (note := licence_note(valid.licence)) is not None:
        payload["warnings"] = [note]
    tx.record("model_version.create", version, before=None, payload=payload)
    return version
