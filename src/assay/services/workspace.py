"""The workspace: a folder whose ``.assay/`` holds the database (SQLite by default), the artifact store and the
ledger's signing key. Every governance service works through one :class:`Workspace`.

::

    .assay/
      workspace.json        schema, creation time, database URL when it is not the embedded SQLite file
      assay.db              the embedded database (absent when ASSAY_DATABASE_URL points at PostgreSQL)
      artifacts/sha256/..   content-addressed files
      keys/ledger.key       Ed25519 private key (mode 0600) that signs audit checkpoints
      keys/ledger.pub       its public key: give it to auditors
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from assay.config import Settings, load_settings
from assay.errors import Conflict, InvalidInput, NotFound
from assay.store import generate_signing_key, load_private_key, load_public_key
from assay.store.artifacts import ArtifactStore, private_folder
from assay.store.database import Store
from assay.store.db import make_engine, sqlite_url
from assay.store.migrate import upgrade

if TYPE_CHECKING:
    from assay.services.access import Access
    from assay.services.aims import Aims
    from assay.services.alerts import Alerts
    from assay.services.anonymisation import Anonymisation
    from assay.services.approvals import Approvals
    from assay.services.audit import AuditLog
    from assay.services.capture import Capture
    from assay.services.cards import Cards
    from assay.services.checks import DataChecks
    from assay.services.contests import Contests
    from assay.services.controls import Controls
    from assay.services.explanations import Explanations
    from assay.services.feedback import FeedbackService
    from assay.services.gates import Gates
    from assay.services.genai import GenAI
    from assay.services.incidents import Incidents
    from assay.services.jobs import Jobs
    from assay.services.mitigation import Mitigation
    from assay.services.monitors import Monitors
    from assay.services.notifications import Notifications
    from assay.services.oversight import Oversight
    from assay.services.registry import Assessments, Datasets, Models, Systems
    from assay.services.review import Review
    from assay.services.risks import ImpactAssessments, Risks
    from assay.services.runs import Runs
    from assay.services.schedules import Schedules
    from assay.services.search import Search
    from assay.services.tasks import Tasks
    from assay.services.techdocs import TechnicalDocs
    from assay.store.database import Transaction

__all__ = ["WORKSPACE_DIR", "Workspace", "find_workspace"]

WORKSPACE_DIR: Final = ".assay"
_SCHEMA: Final = "assay.workspace/1"
MODES: Final = ("multi-user", "single-user")


def find_workspace(start: Path) -> Path | None:
    """The nearest folder from ``start`` upwards that holds ``.assay/workspace.json``."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / WORKSPACE_DIR / "workspace.json").is_file():
            return folder
    return None


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Workspace:
    """An open workspace: its :class:`~assay.store.database.Store`, artifacts, keys and the acting user."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self.home = root / WORKSPACE_DIR
        config = json.loads((self.home / "workspace.json").read_text(encoding="utf-8"))
        url = settings.database_url or config.get("database_url") or sqlite_url(self.home / "assay.db")
        self.actor: str = settings.actor or _default_actor()
        self.authenticated = False  # the actor proved who they are (see login)
        self.viewer: str | None = None  # whose visibility reads and writes are limited to (None: everything)
        self.artifacts = ArtifactStore(self.home / "artifacts")
        # The keys are read when first needed: reading (verify, log, list, show) works without the private key.
        self.store = Store(
            url, signer=self._signing_key, public_key=self._public_key, checkpoint_every=settings.checkpoint_every
        )
        self.store.before_commit.append(_approved_state_rule)

    # -- opening and creating ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, folder: str | Path | None = None, settings: Settings | None = None, *, check: bool = True
    ) -> Workspace:
        """Open the workspace at ``folder`` (default: settings, then the nearest one from the current folder)."""
        folder = None if folder is None else Path(folder)
        settings = settings or load_settings()
        start = folder or settings.workspace or Path.cwd()
        root = find_workspace(start) if folder is None and settings.workspace is None else start
        if root is None or not (root / WORKSPACE_DIR / "workspace.json").is_file():
            raise NotFound(f"no Assay workspace at {start} or above it: run `assay init` or pass --workspace")
        workspace = cls(root.resolve(), settings)
        if check:
            try:
                workspace.store.check_schema()
            except BaseException:
                workspace.close()
                raise
        return workspace

    @classmethod
    def init(
        cls,
        folder: str | Path,
        settings: Settings | None = None,
        *,
        database_url: str | None = None,
        single_user: bool = False,
    ) -> Workspace:
        """Create ``folder/.assay`` (database migrated to the current schema, artifact store, signing key).

        A workspace is multi-user unless ``single_user``: approvals, waivers, evidence revocations and role changes
        then need an authenticated user (:meth:`login`, or the server). A single-user workspace takes the actor's
        word for who they are, marks its events unauthenticated, and cannot satisfy a policy that asks for two
        approvals."""
        folder = Path(folder)
        settings = settings or load_settings()
        url = database_url or settings.database_url
        home = folder / WORKSPACE_DIR
        if (home / "workspace.json").exists():
            raise Conflict(f"{folder} is already an Assay workspace ({home})")
        if url is not None:
            make_engine(url).dispose()  # refuse a bad URL before anything is written
        folder.mkdir(parents=True, exist_ok=True)
        for inner in (home, home / "keys", home / "artifacts"):  # 0700 whatever the umask
            private_folder(inner)
        key = generate_signing_key()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(home / "keys" / "ledger.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (home / "keys" / "ledger.pub").write_bytes(public)
        (home / "keys" / "ledger.pub").chmod(0o600)  # as everything in .assay (give auditors a copy)
        config: dict[str, Any] = {"schema": _SCHEMA, "created_at": dt.datetime.now(dt.UTC).isoformat()}
        if database_url is not None:
            config["database_url"] = database_url
        path = home / "workspace.json"
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)  # the URL may hold a password; the whole workspace is the owner's only
        workspace = cls(folder.resolve(), settings)
        upgrade(workspace.store.engine)
        workspace.set_mode("single-user" if single_user else "multi-user")
        return workspace

    def close(self) -> None:
        guard = sys.modules.get("assay.services.genai.guard")  # loaded only where guardrail decisions were recorded
        if guard is not None:
            guard.close_recorder(self.store)  # write the decisions still buffered
        self.store.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- keys ------------------------------------------------------------------------------------------------

    def secret_key(self, name: str, what: str) -> bytes:
        """The workspace's key ``name`` (32 random bytes in ``.assay/keys/NAME``, 0600), made on first use: the
        capture key that hashes personal columns, the anonymisation key of pseudonyms. ``what`` names it in errors."""
        path = self.home / "keys" / name
        if not path.is_file():
            private_folder(path.parent)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # made by another process meanwhile
            else:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(secrets.token_bytes(32))
                    handle.flush()
                    os.fsync(handle.fileno())
        key = path.read_bytes()
        if len(key) != 32:
            raise InvalidInput(f"the {what} key .assay/keys/{name} is damaged: restore it from your backup")
        return key

    @property
    def public_key_path(self) -> Path:
        return self.home / "keys" / "ledger.pub"

    def public_key_pem(self) -> bytes:
        pem = _key_file(self.public_key_path, "public key", "pass --public-key FILE with the copy you gave auditors")
        load_public_key(pem)
        return pem

    def _signing_key(self) -> Ed25519PrivateKey:
        """The ledger's private key, read on the first write (every write needs it: see docs/audit-ledger.md)."""
        path = self.home / "keys" / "ledger.key"
        pem = _key_file(path, "signing key", _RESTORE)
        try:
            return load_private_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm, InvalidInput) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidInput(f"the ledger's signing key {_shown(path)} is unreadable: {reason}; {_RESTORE}") from None

    def _public_key(self) -> Ed25519PublicKey:
        return load_public_key(self.public_key_pem())

    def as_actor(self, actor: str) -> Workspace:
        """The same workspace acting as someone else, unauthenticated: their word is taken for who they are, and
        the ledger says so (for scripts and tests that play several people, and single-user workspaces)."""
        if not actor.strip():
            raise InvalidInput("the actor is empty")
        clone = object.__new__(Workspace)
        clone.__dict__.update({k: v for k, v in self.__dict__.items() if not _is_service(k)})
        clone.actor = actor
        clone.authenticated = False
        clone.viewer = None
        return clone

    def login(self, name: str, password: str) -> Workspace:
        """The same workspace acting as user ``name``, authenticated by their password (argon2id; the same users
        as the server's). Wrong names and passwords are refused alike."""
        principal = self.access.login(name, password)
        return self.authenticated_as(principal.name)

    def authenticated_as(self, name: str) -> Workspace:
        """The same workspace acting as ``name``, whom the caller has authenticated (the server does, by password,
        session or token). Shells call it only after checking a credential; :meth:`login` is the way for others."""
        clone = self.as_actor(name)
        clone.authenticated = True
        clone.viewer = name  # an authenticated user sees the systems their roles let them see, and no others
        return clone

    # -- mode ------------------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """``multi-user`` (the default: sensitive actions need an authenticated user) or ``single-user``."""
        from assay.store.models import WorkspaceSetting

        with self.store.read() as session:
            setting = session.get(WorkspaceSetting, "mode")
            return "multi-user" if setting is None else setting.value

    def set_mode(self, mode: str) -> None:
        """Set the workspace's mode. A workspace can become multi-user at any time; going back to single-user needs
        an authenticated admin, since it lets anyone's word count as approval again."""
        from assay.store.models import WorkspaceSetting, utcnow

        if mode not in MODES:
            raise InvalidInput(f"mode {mode!r} is not one of {', '.join(MODES)}")
        with self.store.write(self.actor, authenticated=self.authenticated) as tx:
            setting = tx.session.get(WorkspaceSetting, "mode")
            if setting is not None and setting.value == mode:
                return
            if mode == "single-user" and setting is not None:
                from assay.services.access import require_authenticated_admin

                require_authenticated_admin(tx, "switch the workspace to single-user")
            before = None if setting is None else setting.state()
            if setting is None:
                setting = WorkspaceSetting(key="mode", value=mode)
                tx.session.add(setting)
            else:
                setting.value, setting.updated_at = mode, utcnow()
            tx.record("workspace.mode", setting, before=before, payload={"mode": mode})

    # -- services ----------------------------------------------------------------------------------------------

    @cached_property
    def aims(self) -> Aims:
        """The organisation's AI management system (ISO/IEC 42001 clauses 4-10): ``ws.aims.context``, ...."""
        from assay.services.aims import Aims

        return Aims(self)

    @cached_property
    def genai(self) -> GenAI:
        """Generative AI: guardrails, protected corpora, licences, evaluations: ``ws.genai.guard``, ...."""
        from assay.services.genai import GenAI

        return GenAI(self)

    @cached_property
    def systems(self) -> Systems:
        from assay.services.registry import Systems

        return Systems(self)

    @cached_property
    def models(self) -> Models:
        from assay.services.registry import Models

        return Models(self)

    @cached_property
    def datasets(self) -> Datasets:
        from assay.services.registry import Datasets

        return Datasets(self)

    @cached_property
    def assessments(self) -> Assessments:
        from assay.services.registry import Assessments

        return Assessments(self)

    @cached_property
    def risks(self) -> Risks:
        from assay.services.risks import Risks

        return Risks(self)

    @cached_property
    def impact_assessments(self) -> ImpactAssessments:
        from assay.services.risks import ImpactAssessments

        return ImpactAssessments(self)

    @cached_property
    def controls(self) -> Controls:
        from assay.services.controls import Controls

        return Controls(self)

    @cached_property
    def approvals(self) -> Approvals:
        from assay.services.approvals import Approvals

        return Approvals(self)

    @cached_property
    def monitors(self) -> Monitors:
        from assay.services.monitors import Monitors

        return Monitors(self)

    @cached_property
    def oversight(self) -> Oversight:
        from assay.services.oversight import Oversight

        return Oversight(self)

    @cached_property
    def feedback(self) -> FeedbackService:
        from assay.services.feedback import FeedbackService

        return FeedbackService(self)

    @cached_property
    def incidents(self) -> Incidents:
        from assay.services.incidents import Incidents

        return Incidents(self)

    @cached_property
    def audit(self) -> AuditLog:
        from assay.services.audit import AuditLog

        return AuditLog(self)

    @cached_property
    def gates(self) -> Gates:
        from assay.services.gates import Gates

        return Gates(self)

    @cached_property
    def cards(self) -> Cards:
        from assay.services.cards import Cards

        return Cards(self)

    @cached_property
    def access(self) -> Access:
        from assay.services.access import Access

        return Access(self)

    @cached_property
    def explanations(self) -> Explanations:
        from assay.services.explanations import Explanations

        return Explanations(self)

    @cached_property
    def mitigation(self) -> Mitigation:
        from assay.services.mitigation import Mitigation

        return Mitigation(self)

    @cached_property
    def checks(self) -> DataChecks:
        from assay.services.checks import DataChecks

        return DataChecks(self)

    @cached_property
    def runs(self) -> Runs:
        """Every computation on registered inputs (bias, explanations, mitigation, the data checks)."""
        from assay.services.runs import Runs

        return Runs(self)

    @cached_property
    def techdocs(self) -> TechnicalDocs:
        from assay.services.techdocs import TechnicalDocs

        return TechnicalDocs(self)

    @cached_property
    def jobs(self) -> Jobs:
        from assay.services.jobs import Jobs

        return Jobs(self)

    @cached_property
    def alerts(self) -> Alerts:
        """Alerts of the monitors and retraining requests; delivery of their notifications."""
        from assay.services.alerts import Alerts

        return Alerts(self)

    @cached_property
    def anonymisation(self) -> Anonymisation:
        """Anonymisation runs (the pseudonymisation key stays in the workspace; see docs/privacy-and-security.md)."""
        from assay.services.anonymisation import Anonymisation

        return Anonymisation(self)

    @cached_property
    def capture(self) -> Capture:
        """Inference records and labels of deployed model versions (see docs/capture.md)."""
        from assay.services.capture import Capture

        return Capture(self)

    @cached_property
    def review(self) -> Review:
        """The review queue (human-in-the-loop) and the kill switch of each system (see docs/review.md)."""
        from assay.services.review import Review

        return Review(self)

    @cached_property
    def contests(self) -> Contests:
        """Contested decisions: opened by inference id, decided with the letter (docs/contested-decisions.md)."""
        from assay.services.contests import Contests

        return Contests(self)

    @cached_property
    def schedules(self) -> Schedules:
        from assay.services.schedules import Schedules

        return Schedules(self)

    @cached_property
    def tasks(self) -> Tasks:
        """What the acting user has to do: ``ws.tasks()``, ``ws.tasks.count()`` (see docs/web.md)."""
        from assay.services.tasks import Tasks

        return Tasks(self)

    @cached_property
    def notifications(self) -> Notifications:
        """The acting user's notifications, derived from the ledger; their e-mail (see docs/web.md)."""
        from assay.services.notifications import Notifications

        return Notifications(self)

    @cached_property
    def search(self) -> Search:
        """``ws.search(q)``: systems, risks, controls, evidence, versions and events the acting user may see."""
        from assay.services.search import Search

        return Search(self)


_RESTORE = "restore it from your backup (writes are refused without it: checkpoints are signed every N events)"


def _shown(path: Path) -> str:
    """A key file as the user knows it: from the workspace's folder (``.assay/keys/ledger.key``)."""
    return str(Path(*path.parts[-3:]))


def _key_file(path: Path, what: str, remedy: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"the ledger's {what} {_shown(path)} is missing; {remedy}") from None
    except OSError as exc:
        raise InvalidInput(f"the ledger's {what} {_shown(path)} is unreadable: {exc.strerror}; {remedy}") from None


def _approved_state_rule(tx: Transaction) -> None:
    """What follows, in the same transaction, when a change touches the state an approval froze."""
    from assay.services.approvals import enforce_approved_states

    enforce_approved_states(tx)


def _is_service(name: str) -> bool:
    """A service built on first use (a ``cached_property``): bound to the workspace it was built for."""
    return isinstance(Workspace.__dict__.get(name), cached_property)
