"""``workspace.genai.guard``: guardrail policies in the workspace, applying them, and every decision recorded.

Policies (:mod:`assay.genai.policy`) are versioned by name (``guard_policies``): adding a new text makes a new version,
adding the same text again (same binding) returns the version there is. A policy may be bound to an AI system: its
intended and out-of-scope uses and its disclosure text feed the compiled guardrail
(:class:`~assay.genai.guard.Context`), and only the system's owners (or admins) add its versions; a policy of the
organisation (no system) is added by an admin. Each version is one ``guard.policy.add`` audit event.

Decisions are many (one per prompt and per response) and must not slow the call they judge: :meth:`GuardService.record`
puts a decision in an in-memory buffer shared by every workspace object of the same store, and a background thread
writes the buffer every second, or as soon as 200 decisions wait, in **batches**. Each batch is one transaction: its
decisions (``guard_decisions``, not governed row by row), one ``guard_batches`` row holding the ids it covers, their
count, the SHA-256 of their canonical JSON (in id order) and counts by policy and outcome, and ONE ledger event
``guard.batch.seal`` whose payload also carries a short digest of each decision. :meth:`GuardService.verify` recomputes
every batch and names each decision edited, deleted or inserted with SQL; the ledger's own verification covers the
batch rows. The buffer is flushed by :meth:`GuardService.flush`, when the workspace is closed, and at exit.

A decision keeps the policy version, the findings (matched values already redacted by the checks), the action and
outcome, latency and characters; the content itself only when the policy's ``recording.keep_content`` is true, and
then with its personal data replaced by tags (:func:`assay.checks.redact.redact`, run by the writer thread).
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import logging
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.errors import InvalidInput, NotFound, PermissionDenied
from assay.genai.guard import Context, Guardrail, GuardResult, Source
from assay.genai.policy import GuardPolicy, parse_guard_policy
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.services.access import require_authenticated_admin, require_role
from assay.store.ledger import canonical_json
from assay.store.models import AuditEvent, GuardBatch, GuardDecision, System, User, utcnow

if TYPE_CHECKING:
    from assay.store.database import Store, Transaction

__all__ = [
    "BATCH_SIZE",
    "CHANNELS",
    "FLUSH_SECONDS",
    "MAX_LIMIT",
    "SEAL_ACTOR",
    "GuardService",
    "GuardVerification",
    "StoredPolicy",
    "close_recorder",
    "file_guardrail",
]

log = logging.getLogger("assay.guard")

CHANNELS: Final = ("library", "cli", "api", "proxy", "evaluation")
OUTCOMES: Final = ("blocked", "masked", "detected", "none")
BATCH_SIZE: Final = 200  # decisions per batch; the writer wakes as soon as this many wait
FLUSH_SECONDS: Final = 1.0  # the writer's period
MAX_PENDING: Final = 100_000  # beyond this many waiting decisions, record() writes them itself (never drops one)
MAX_LIMIT: Final = 1000  # the most decisions one listing returns
_LEAF: Final = 16  # hex characters of each decision's digest in the seal event (names which one was changed)
_MAX_POLICY_TEXT: Final = 1_000_000
#: who seals a batch in the ledger: the writer, for every caller (a decision does not record who applied the policy)
SEAL_ACTOR: Final = "guard-recorder"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _source(source: str) -> Source:
    upper = str(source).upper()
    if upper not in ("INPUT", "OUTPUT"):
        raise InvalidInput(f"source {source!r} is not one of input, output")
    return "INPUT" if upper == "INPUT" else "OUTPUT"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _outcome(result: GuardResult) -> str:
    if result.blocked:
        return "blocked"
    if result.masked:
        return "masked"
    return "detected" if result.findings else "none"


@dataclass(frozen=True)
class StoredPolicy:
    """One stored version of a guardrail policy."""

    id: int
    name: str
    version: int
    system: str | None
    sha256: str
    text: str
    created_by: str
    created_at: dt.datetime
    policy: GuardPolicy

    def to_dict(self, *, text: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id, "name": self.name, "version": self.version, "system": self.system, "sha256": self.sha256,
            "description": self.policy.description, "sections": list(self.policy.sections),
            "keep_content": self.policy.recording.keep_content, "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }  # fmt: skip
        if text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class GuardVerification:
    """What :meth:`GuardService.verify` found: ``ok`` when every batch's decisions hash to its digest and every
    decision is in a batch; otherwise the ids of the decisions ``edited``, ``deleted``, ``inserted`` (in a batch but not
    sealed by it) and ``unsealed`` (in no batch), and one line per problem."""

    batches: int
    decisions: int
    edited: tuple[int, ...] = ()
    deleted: tuple[int, ...] = ()
    inserted: tuple[int, ...] = ()
    unsealed: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "batches": self.batches, "decisions": self.decisions, "edited": list(self.edited),
                "deleted": list(self.deleted), "inserted": list(self.inserted), "unsealed": list(self.unsealed),
                "problems": list(self.problems)}  # fmt: skip


# -- the buffered writer, one per store ------------------------------------------------------------------------------


@dataclass
class _Pending:
    policy_id: int
    policy: str  # NAME@VERSION, for the batch's counts
    system_id: int | None
    source: str
    channel: str
    action: str
    outcome: str
    findings: list[dict[str, Any]]
    latency_ms: float
    characters: int
    conversation: str | None
    content: list[str] | None  # raw: redacted by the writer, never stored as given
    at: dt.datetime


def _leaf(state: dict[str, Any]) -> str:
    return _sha256(canonical_json(state))


def _batch_digest(states: Sequence[dict[str, Any]]) -> str:
    return _sha256(canonical_json(list(states)))


def _kept(blocks: list[str]) -> dict[str, Any]:
    from assay.checks.redact import redact

    texts: list[str] = []
    counts: dict[str, int] = {}
    for block in blocks:
        redacted = redact(block)
        texts.append(redacted.text)
        for entity, n in redacted.counts.items():
            counts[entity] = counts.get(entity, 0) + n
    return {"blocks": texts, "redactions": dict(sorted(counts.items()))}


class _Recorder:
    """Buffered, batched writing of decisions for one store (see the module's docstring). Thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._buffer: list[_Pending] = []
        self._inflight = 0  # taken from the buffer, being written
        self._lock = threading.Lock()  # the buffer
        self._writing = threading.Lock()  # one writer at a time, so that batches are written in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.policies: dict[tuple[str, int], tuple[int, int | None]] = {}  # (name, version) -> (id, system id)
        self.systems: dict[str, int] = {}
        self.guardrails: dict[tuple[int, str], Guardrail] = {}  # (policy id, context digest) -> compiled
        atexit.register(self.close)

    def add(self, pending: _Pending) -> None:
        with self._lock:
            self._buffer.append(pending)
            waiting = len(self._buffer)
            stopped = self._stop.is_set()
            if self._thread is None and not stopped:
                self._thread = threading.Thread(target=self._run, name="assay-guard-recorder", daemon=True)
                self._thread.start()
        if stopped or waiting >= MAX_PENDING:  # closed meanwhile, or the writer cannot keep up: write here
            self.flush()
        elif waiting >= BATCH_SIZE:
            self._wake.set()

    def pending(self) -> int:
        """Decisions not yet committed (buffered, or being written)."""
        with self._lock:
            return len(self._buffer) + self._inflight

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.flush()
            except Exception:
                self.failures += 1
                log.exception("writing guardrail decisions failed; %d wait for the next attempt", self.pending())

    def flush(self) -> int:
        """Write every buffered decision now, in batches; the number written. On an error the decisions not written
        go back to the buffer (in order) and the error is raised."""
        written = 0
        with self._writing:
            while True:
                with self._lock:
                    chunk, self._buffer = self._buffer[:BATCH_SIZE], self._buffer[BATCH_SIZE:]
                    self._inflight = len(chunk)
                if not chunk:
                    return written
                try:
                    self._write(chunk)
                except BaseException:
                    with self._lock:
                        self._buffer[:0] = chunk
                        self._inflight = 0
                    raise
                with self._lock:
                    self._inflight = 0
                written += len(chunk)

    def _write(self, chunk: list[_Pending]) -> None:
        contents = [None if p.content is None else _kept(p.content) for p in chunk]
        with self.store.write(SEAL_ACTOR) as tx:
            batch = GuardBatch(first_id=0, last_id=0, count=len(chunk), digest="", counts={})
            tx.session.add(batch)
            tx.session.flush()
            rows = [
                GuardDecision(
                    policy_id=p.policy_id,
                    system_id=p.system_id,
                    batch_id=batch.id,
                    source=p.source,
                    channel=p.channel,
                    action=p.action,
                    outcome=p.outcome,
                    findings=p.findings,
                    latency_ms=p.latency_ms,
                    characters=p.characters,
                    conversation=p.conversation,
                    content=content,
                    created_at=p.at,
                )
                for p, content in zip(chunk, contents, strict=True)
            ]
            tx.session.add_all(rows)
            tx.session.flush()
            rows.sort(key=lambda r: r.id)
            states = [row.state() for row in rows]
            counts: dict[str, Any] = {"policies": {}, "outcomes": {}, "channels": {}}
            for pending in chunk:
                per = counts["policies"].setdefault(pending.policy, {})
                per[pending.outcome] = per.get(pending.outcome, 0) + 1
                counts["outcomes"][pending.outcome] = counts["outcomes"].get(pending.outcome, 0) + 1
                counts["channels"][pending.channel] = counts["channels"].get(pending.channel, 0) + 1
            batch.first_id, batch.last_id = rows[0].id, rows[-1].id
            batch.digest, batch.counts = _batch_digest(states), counts
            leaves = {str(state["id"]): _leaf(state)[:_LEAF] for state in states}
            tx.record(
                "guard.batch.seal", batch, before=None,
                payload={"first_id": batch.first_id, "last_id": batch.last_id, "count": batch.count,
                         "digest": batch.digest, "counts": counts, "decisions": leaves},
            )  # fmt: skip

    def close(self) -> None:
        """Stop the writer and write what is buffered (at workspace close and at exit). Never raises."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        try:
            self.flush()
        except Exception:
            log.exception("guardrail decisions could not be written at close: %d lost", self.pending())
        atexit.unregister(self.close)


_RECORDERS: weakref.WeakKeyDictionary[Store, _Recorder] = weakref.WeakKeyDictionary()
_RECORDERS_LOCK: Final = threading.Lock()


def _recorder(store: Store) -> _Recorder:
    with _RECORDERS_LOCK:
        found = _RECORDERS.get(store)
        if found is None or found._stop.is_set():
            found = _RECORDERS[store] = _Recorder(store)
        return found


def close_recorder(store: Store) -> None:
    """Write the decisions buffered for ``store`` and stop its writer (``Workspace.close`` calls it)."""
    with _RECORDERS_LOCK:
        found = _RECORDERS.pop(store, None)
    if found is not None:
        found.close()


# -- the service ------------------------------------------------------------------------------------------------------


def _stored(row: Any, system: str | None) -> StoredPolicy:
    policy = parse_guard_policy(row.text, f"the stored guardrail policy {row.name} version {row.version}")
    return StoredPolicy(row.id, row.name, row.version, system, row.sha256, row.text, row.created_by,
                        _aware(row.created_at), policy)  # fmt: skip


@dataclass
class _Filters:
    policy: str | None = None
    system: str | None = None
    action: str | None = None
    outcome: str | None = None
    source: str | None = None
    channel: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class GuardService(Service):
    """Guardrail policies, applying them, and their decisions (see the module's docstring)."""

    @property
    def _recorder(self) -> _Recorder:
        return _recorder(self.ws.store)

    # ---- policies --------------------------------------------------------------------------------------------------

    def add_policy(self, text: str, *, system: str | None = None) -> StoredPolicy:
        """Store ``text`` (guardrail policy YAML) as the next version of its name. The same text with the same binding
        again is not a new version (the stored one is returned). ``system`` binds it to an AI system (None keeps the
        previous version's binding); a system's owners add its policy, an admin a policy of the organisation."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("the guardrail policy is empty: give its YAML text")
        if len(text) > _MAX_POLICY_TEXT:
            raise InvalidInput(f"the guardrail policy has {len(text)} characters, more than {_MAX_POLICY_TEXT}")
        policy = parse_guard_policy(text)
        digest = _sha256(text.encode())
        from assay.store.models import GuardPolicy as Row

        with self._write() as tx:
            session = tx.session
            latest = session.execute(
                select(Row).where(Row.name == policy.name).order_by(Row.version.desc()).limit(1)
            ).scalar_one_or_none()
            owner = _lookup.system(session, system) if system is not None else None
            system_id = owner.id if owner is not None else (latest.system_id if latest is not None else None)
            bound = owner or (session.get(System, system_id) if system_id is not None else None)
            if latest is not None and latest.sha256 == digest and latest.system_id == system_id:
                return _stored(latest, bound.name if bound else None)
            what = f"adding version {(latest.version + 1) if latest else 1} of guardrail policy {policy.name!r}"
            self._may_change(tx, latest, bound, what)
            row = Row(name=policy.name, version=(latest.version + 1) if latest else 1, system_id=system_id,
                      text=text, sha256=digest, created_by=tx.actor)  # fmt: skip
            session.add(row)
            tx.record(
                "guard.policy.add", row, before=None,
                payload={"name": row.name, "version": row.version, "system": bound.name if bound else None,
                         "sha256": digest, "sections": list(policy.sections),
                         "keep_content": policy.recording.keep_content},
            )  # fmt: skip
            return _stored(row, bound.name if bound else None)

    @staticmethod
    def _may_change(tx: Transaction, latest: Any, bound: System | None, what: str) -> None:
        """A system's policy is changed by its owners (and of a policy moving between systems, the old one's too);
        a policy of the organisation by an admin. As for other ordinary changes, the roles are checked for an
        authenticated user; an unauthenticated actor's change is marked so in the ledger."""
        if not tx.authenticated:
            return
        if bound is not None:
            require_role(tx, "write", bound.name, what)
        else:
            require_authenticated_admin(tx, f"{what} (a policy of the organisation, bound to no system)")
        if latest is not None and latest.system_id is not None and (bound is None or latest.system_id != bound.id):
            previous = tx.session.get(System, latest.system_id)
            if previous is not None:
                require_role(tx, "write", previous.name, what)

    def _visible(self, session: Session, system_id: int | None) -> bool:
        if system_id is None:
            return True
        owner = session.get(System, system_id)
        return owner is not None and _lookup.can_see(session, owner)

    def _row(self, session: Session, name: str, version: int | None) -> tuple[Any, System | None]:
        from assay.store.models import GuardPolicy as Row

        query = select(Row).where(Row.name == name)
        query = query.where(Row.version == version) if version is not None else query.order_by(Row.version.desc())
        row = session.execute(query.limit(1)).scalar_one_or_none()
        if row is None or not self._visible(session, row.system_id):
            newest = session.execute(
                select(Row).where(Row.name == name).order_by(Row.version.desc()).limit(1)
            ).scalar_one_or_none()
            if version is not None and newest is not None and self._visible(session, newest.system_id):
                raise NotFound(f"guardrail policy {name!r} has no version {version} (the newest is {newest.version})")
            raise NotFound(f"no guardrail policy named {name!r}: add one with `assay guard policy add FILE`")
        owner = session.get(System, row.system_id) if row.system_id is not None else None
        return row, owner

    def policy(self, name: str, version: int | None = None) -> StoredPolicy:
        """Version ``version`` of policy ``name`` (default: the newest)."""
        with self._read() as session:
            row, owner = self._row(session, name, version)
            return _stored(row, owner.name if owner else None)

    def policies(
        self, *, system: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[StoredPolicy]:
        """The newest version of each policy the viewer may see (of ``system`` only, when given), by name."""
        from assay.store.models import GuardPolicy as Row

        with self._read() as session:
            latest = select(Row.name, func.max(Row.version).label("version")).group_by(Row.name).subquery()
            query = select(Row).join(latest, (latest.c.name == Row.name) & (latest.c.version == Row.version))
            if system is not None:
                query = query.where(Row.system_id == _lookup.system(session, system).id)
            visible = _lookup.visible_systems(session)
            if visible is not None:
                query = query.where(Row.system_id.is_(None) | Row.system_id.in_(select(System.id).where(visible)))
            rows = listing(session, query.order_by(Row.name), limit, offset)
            names = self._system_names(session, {r.system_id for r in rows if r.system_id is not None})
            return Listing([_stored(r, names.get(r.system_id or 0)) for r in rows], rows.total)

    @staticmethod
    def _system_names(session: Session, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        return {row[0]: row[1] for row in session.execute(select(System.id, System.name).where(System.id.in_(ids)))}

    def versions(self, name: str) -> list[StoredPolicy]:
        """Every version of policy ``name``, oldest first."""
        from assay.store.models import GuardPolicy as Row

        with self._read() as session:
            self._row(session, name, None)  # NotFound, or not visible
            rows = list(session.execute(select(Row).where(Row.name == name).order_by(Row.version)).scalars())
            names = self._system_names(session, {r.system_id for r in rows if r.system_id is not None})
            return [_stored(r, names.get(r.system_id or 0)) for r in rows]

    # ---- the compiled guardrail --------------------------------------------------------------------------------

    def _context(self, policy: GuardPolicy, owner: System | None) -> Context:
        corpus = None
        if policy.protected_content is not None:
            corpus = self._corpus(policy.protected_content.corpus)
        embedder = _policy_embedder(policy)
        uses = tuple(owner.intended_uses or ()) if owner is not None else ()
        out_of_scope = tuple(owner.out_of_scope_uses or ()) if owner is not None else ()
        disclosure = owner.disclosure if owner is not None else None
        return Context(uses, out_of_scope, disclosure, corpus, embedder)

    def _corpus(self, name: str) -> Any:
        """The protected corpus's index (``ws.genai.corpora``, the ip part); a clear error when that part or the
        corpus is missing."""
        try:
            corpora = self.ws.genai.corpora  # type: ignore[attr-defined,unused-ignore]
        except (AttributeError, ImportError):
            corpora = None
        if corpora is None:
            raise InvalidInput(f"the policy's protected_content names corpus {name!r}, but this Assay has no protected "
                               "corpora (services.genai.corpora)")  # fmt: skip
        return corpora.index(name)

    def guardrail(self, name: str, version: int | None = None) -> Guardrail:
        """Policy ``name`` (version ``version``, default the newest) compiled with the context of its system, the
        protected corpus's index and the sentence embedder; compiled once per version and context."""
        with self._read() as session:
            row, owner = self._row(session, name, version)
            key_source = {"sha256": row.sha256, "uses": list(owner.intended_uses or ()) if owner else [],
                          "out": list(owner.out_of_scope_uses or ()) if owner else [],
                          "disclosure": owner.disclosure if owner else None}  # fmt: skip
            owner_copy = owner
        recorder = self._recorder
        key = (row.id, _sha256(canonical_json(key_source)))
        found = recorder.guardrails.get(key)
        if found is not None:
            return found
        stored = _stored(row, owner_copy.name if owner_copy else None)
        compiled = Guardrail(stored.policy, self._context(stored.policy, owner_copy), version=row.version)
        recorder.guardrails[key] = compiled
        recorder.policies[(row.name, row.version)] = (row.id, row.system_id)
        return compiled

    # ---- applying and recording ----------------------------------------------------------------------------------

    def apply(
        self,
        name: str,
        source: str,
        content: str | Sequence[str],
        *,
        sources: Sequence[str] = (),
        query: str | None = None,
        conversation: str | None = None,
        channel: str = "library",
        version: int | None = None,
    ) -> GuardResult:
        """Apply policy ``name`` to ``content`` (a prompt: ``source`` INPUT, a response: OUTPUT) and record the
        decision (buffered: see :meth:`record`)."""
        if channel not in CHANNELS:
            raise InvalidInput(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
        guardrail = self.guardrail(name, version)
        result = guardrail.apply(_source(source), content, sources=sources, query=query, conversation=conversation)
        keep = guardrail.policy.recording.keep_content
        blocks = [content] if isinstance(content, str) else list(content)
        self.record(result, channel=channel, content=blocks if keep else None, conversation=conversation)
        return result

    def record(
        self,
        result: GuardResult,
        *,
        channel: str,
        content: str | Sequence[str] | None = None,
        system: str | None = None,
        conversation: str | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """Record ``result`` (a decision of a stored policy version) without waiting: it is buffered and written by the
        background writer within a second (or :meth:`flush`). ``content`` is kept only when the policy keeps content,
        its personal data masked; ``system`` is the system the decision is for (default: the policy's); ``at`` when
        the decision was made (default now; never in the future: decisions logged elsewhere and recorded later)."""
        if channel not in CHANNELS:
            raise InvalidInput(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
        if result.version is None:
            raise InvalidInput(f"the decision of policy {result.policy!r} names no version: record only decisions of "
                               "a stored policy (ws.genai.guard.guardrail or apply)")  # fmt: skip
        if conversation is not None and len(conversation) > 200:
            raise InvalidInput(f"conversation id has {len(conversation)} characters, more than 200")
        when = utcnow() if at is None else _aware(at)
        if when > utcnow():
            raise InvalidInput(f"at {when.isoformat()} is in the future")
        recorder = self._recorder
        policy_id, system_id = self._policy_ids(recorder, result.policy, result.version)
        if system is not None:
            system_id = self._system_id(recorder, system)
        keep = content is not None and self._keeps(recorder, policy_id, result)
        blocks = None if not keep or content is None else ([content] if isinstance(content, str) else list(content))
        recorder.add(_Pending(
            policy_id=policy_id, policy=f"{result.policy}@{result.version}", system_id=system_id,
            source=result.source, channel=channel, action=result.action, outcome=_outcome(result),
            findings=[f.to_dict() for f in result.findings], latency_ms=round(float(result.latency_ms), 3),
            characters=result.characters, conversation=conversation, content=blocks, at=when,
        ))  # fmt: skip

    def _policy_ids(self, recorder: _Recorder, name: str, version: int) -> tuple[int, int | None]:
        found = recorder.policies.get((name, version))
        if found is None:
            with self._read() as session:
                row, _ = self._row(session, name, version)
            found = recorder.policies[(name, version)] = (row.id, row.system_id)
        return found

    def _system_id(self, recorder: _Recorder, name: str) -> int:
        found = recorder.systems.get(name)
        if found is None:
            with self._read() as session:
                found = recorder.systems[name] = _lookup.system(session, name).id
        return found

    def _keeps(self, recorder: _Recorder, policy_id: int, result: GuardResult) -> bool:
        for compiled in recorder.guardrails.values():
            if compiled.policy.name == result.policy and compiled.version == result.version:
                return compiled.policy.recording.keep_content
        return self.policy(result.policy, result.version).policy.recording.keep_content

    def flush(self) -> int:
        """Write every buffered decision now; the number written."""
        with _RECORDERS_LOCK:
            found = _RECORDERS.get(self.ws.store)
        return 0 if found is None else found.flush()

    def pending(self) -> int:
        """Decisions buffered, not yet written."""
        with _RECORDERS_LOCK:
            found = _RECORDERS.get(self.ws.store)
        return 0 if found is None else found.pending()

    # ---- reading the decisions ----------------------------------------------------------------------------------

    def _decisions_query(self, session: Session, f: _Filters) -> Any:
        from assay.store.models import GuardPolicy as Row

        query = (
            select(
                GuardDecision,
                Row.name.label("policy_name"),
                Row.version.label("policy_version"),
                System.name.label("system_name"),
            )
            .join(Row, Row.id == GuardDecision.policy_id)
            .outerjoin(System, System.id == GuardDecision.system_id)
        )
        if f.policy is not None:
            query = query.where(Row.name == f.policy)
        if f.system is not None:
            query = query.where(GuardDecision.system_id == _lookup.system(session, f.system).id)
        if f.action is not None:
            if f.action not in ("NONE", "GUARDRAIL_INTERVENED"):
                raise InvalidInput(f"action {f.action!r} is not one of NONE, GUARDRAIL_INTERVENED")
            query = query.where(GuardDecision.action == f.action)
        if f.outcome is not None:
            if f.outcome not in OUTCOMES:
                raise InvalidInput(f"outcome {f.outcome!r} is not one of {', '.join(OUTCOMES)}")
            query = query.where(GuardDecision.outcome == f.outcome)
        if f.source is not None:
            query = query.where(GuardDecision.source == _source(f.source))
        if f.channel is not None:
            if f.channel not in CHANNELS:
                raise InvalidInput(f"channel {f.channel!r} is not one of {', '.join(CHANNELS)}")
            query = query.where(GuardDecision.channel == f.channel)
        if f.since is not None:
            query = query.where(GuardDecision.created_at >= _aware(f.since))
        if f.until is not None:
            query = query.where(GuardDecision.created_at < _aware(f.until))
        visible = _lookup.visible_systems(session)
        if visible is not None:  # a member sees the decisions of their systems; the organisation's, admins only
            query = query.where(GuardDecision.system_id.in_(select(System.id).where(visible)))
        return query

    def decisions(
        self,
        *,
        policy: str | None = None,
        system: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        source: str | None = None,
        channel: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Listing[dict[str, Any]]:
        """Recorded decisions, newest first (what is buffered is written first), at most ``limit`` (up to 1000)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit {limit} must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise InvalidInput(f"offset {offset} must not be negative")
        self.flush()
        filters = _Filters(policy, system, action, outcome, source, channel, since, until)
        with self._read() as session:
            query = self._decisions_query(session, filters).order_by(GuardDecision.id.desc())
            total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
            rows = session.execute(query.limit(limit).offset(offset or None)).all()
            items = [_decision(d, name, version, system_name) for d, name, version, system_name in rows]
        return Listing(items, total)

    def stats(
        self,
        *,
        policy: str | None = None,
        system: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Decisions counted per policy, system and day (UTC), with outcomes (blocked, masked, detected, none), the
        block rate and the mean latency; and the totals."""
        self.flush()
        filters = _Filters(policy, system, since=since, until=until)
        with self._read() as session:
            base = self._decisions_query(session, filters).subquery()
            day = func.date(base.c.created_at)
            query = (
                select(
                    base.c.policy_name,
                    base.c.system_name,
                    day,
                    base.c.outcome,
                    func.count(),
                    func.avg(base.c.latency_ms),
                )
                .group_by(base.c.policy_name, base.c.system_name, day, base.c.outcome)
                .order_by(day, base.c.policy_name, base.c.system_name)
            )
            rows = session.execute(query).all()
        groups: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        total = {"decisions": 0, **dict.fromkeys(OUTCOMES, 0)}
        for name, system_name, when, outcome, count, latency in rows:
            key = (name, system_name, str(when)[:10])
            group = groups.setdefault(key, {"policy": name, "system": system_name, "day": key[2], "decisions": 0,
                                             **dict.fromkeys(OUTCOMES, 0), "_latency": 0.0})  # fmt: skip
            group["decisions"] += count
            group[outcome] = group.get(outcome, 0) + count
            group["_latency"] += float(latency or 0.0) * count
            total["decisions"] += count
            total[outcome] = total.get(outcome, 0) + count
        items = []
        for group in groups.values():
            n = group["decisions"]
            group["block_rate"] = group["blocked"] / n if n else None
            group["mean_latency_ms"] = round(group.pop("_latency") / n, 3) if n else None
            items.append(group)
        n = total["decisions"]
        return {
            "policy": policy, "system": system, "since": since and _aware(since).isoformat(),
            "until": until and _aware(until).isoformat(), **total,
            "block_rate": total["blocked"] / n if n else None, "groups": items,
        }  # fmt: skip

    def check_block_rate(
        self,
        name: str,
        *,
        window: dt.timedelta | int = 3600,
        max_rate: float | None = None,
        factor: float | None = None,
        end: dt.datetime | None = None,
        alpha: float = 0.01,
        min_decisions: int = 50,
        system: str | None = None,
    ) -> dict[str, Any]:
        """Judge the block rate of policy ``name`` in the window ``[end - window, end)`` (default: ending now)
        against ``max_rate`` and against ``factor`` times the previous window's rate
        (:func:`assay.metrics.guard_rate.block_rate_check`). A monitor with source ``guard`` runs the same check on
        its windows and raises alerts (docs/guardrails.md)."""
        from assay.metrics.guard_rate import block_rate_check

        seconds = window.total_seconds() if isinstance(window, dt.timedelta) else float(window)
        if not 60 <= seconds <= 366 * 86400:
            raise InvalidInput(f"window {seconds:g} s must be between 60 s and 366 days")
        stop = _aware(end) if end is not None else utcnow()
        span = dt.timedelta(seconds=seconds)
        current = self.window_counts(name, stop - span, stop, system=system)
        previous = self.window_counts(name, stop - 2 * span, stop - span, system=system)
        out = block_rate_check(current, previous, max_rate=max_rate, factor=factor, alpha=alpha,
                               min_decisions=min_decisions)  # fmt: skip
        return {"policy": name, "window_start": (stop - span).isoformat(), "window_end": stop.isoformat(), **out}

    def window_counts(
        self, name: str, start: dt.datetime, stop: dt.datetime, *, system: str | None = None
    ) -> tuple[int, int]:
        """(blocked, decisions) of policy ``name`` (every version) in ``[start, stop)``."""
        self.flush()
        with self._read() as session:
            self._row(session, name, None)
            base = self._decisions_query(session, _Filters(name, system, since=start, until=stop)).subquery()
            rows = session.execute(select(base.c.outcome, func.count()).group_by(base.c.outcome)).all()
        counts = {outcome: int(count) for outcome, count in rows}
        return counts.get("blocked", 0), sum(counts.values())

    @contextmanager
    def window(self, name: str, start: dt.datetime, stop: dt.datetime) -> Iterator[tuple[Any, dict[str, Any]]]:
        """A monitor's window (source ``guard``): the decisions of policy ``name`` in ``[start, stop)`` and in the
        window of the same length before it, as a pandas frame (``window`` current or previous, ``outcome``,
        ``action``, ``source``, ``channel``, ``latency_ms``, ``created_at``), and its fingerprint (the rows' ids and
        the SHA-256 of their stored states)."""
        import pandas as pd

        start, stop = _aware(start), _aware(stop)
        earlier = start - (stop - start)
        self.flush()
        with self._read() as session:
            self._row(session, name, None)
            query = self._decisions_query(session, _Filters(name, since=earlier, until=stop))
            rows = [row[0] for row in session.execute(query.order_by(GuardDecision.id))]
        digest = hashlib.sha256()
        records = []
        for row in rows:
            created = _aware(row.created_at)
            records.append({"window": "current" if created >= start else "previous", "outcome": row.outcome,
                            "action": row.action, "source": row.source, "channel": row.channel,
                            "latency_ms": row.latency_ms, "created_at": created})  # fmt: skip
            digest.update(canonical_json(row.state()))
        columns = ["window", "outcome", "action", "source", "channel", "latency_ms", "created_at"]
        frame = pd.DataFrame.from_records(records, columns=columns)
        fingerprint = {"guard": name, "rows": len(rows), "first_id": rows[0].id if rows else None,
                       "last_id": rows[-1].id if rows else None, "sha256": digest.hexdigest()}  # fmt: skip
        yield frame, fingerprint

    # ---- verification ----------------------------------------------------------------------------------------------

    def verify(self) -> GuardVerification:
        """Recompute every batch's digest from its decisions as stored and compare it with the batch and its ledger
        event; name each decision edited, deleted or inserted with SQL, and any decision in no batch."""
        self.flush()
        problems: list[str] = []
        edited: list[int] = []
        deleted: list[int] = []
        inserted: list[int] = []
        batches = decisions = 0
        with self._read() as session:
            if not self._may_verify(session):
                raise PermissionDenied(f"{self.ws.viewer} may not verify the guardrail decisions (admins and auditors)")
            seals = _seals(session)
            batch_ids: set[int] = set()
            for batch in session.execute(select(GuardBatch).order_by(GuardBatch.id)).scalars():
                batches += 1
                batch_ids.add(batch.id)
                rows = list(
                    session.execute(
                        select(GuardDecision).where(GuardDecision.batch_id == batch.id).order_by(GuardDecision.id)
                    ).scalars()
                )
                decisions += len(rows)
                states = [row.state() for row in rows]
                seal = seals.get(batch.id)
                if seal is None:
                    problems.append(f"batch {batch.id} has no guard.batch.seal event in the ledger")
                    continue
                if _batch_digest(states) == batch.digest == seal.get("digest"):
                    continue
                leaves = {int(k): str(v) for k, v in (seal.get("decisions") or {}).items()}
                found = {state["id"]: _leaf(state)[:_LEAF] for state in states}
                changed = sorted(i for i in found if i in leaves and found[i] != leaves[i])
                gone = sorted(set(leaves) - set(found))
                extra = sorted(set(found) - set(leaves))
                edited += changed
                deleted += gone
                inserted += extra
                parts = [f"{what} {', '.join(map(str, ids[:20]))}" for what, ids in
                         (("edited", changed), ("deleted", gone), ("inserted", extra)) if ids]  # fmt: skip
                if batch.digest != seal.get("digest"):
                    parts.append("the batch's digest differs from its seal")
                problems.append(f"batch {batch.id} (decisions {batch.first_id}-{batch.last_id}) does not match its "
                                f"seal: {'; '.join(parts) or 'its decisions hash differently'}")  # fmt: skip
            unsealed = sorted(
                session.execute(
                    select(GuardDecision.id).where(
                        GuardDecision.batch_id.is_(None) | GuardDecision.batch_id.not_in(select(GuardBatch.id))
                    )
                ).scalars()
            )
            if unsealed:
                problems.append(f"{len(unsealed)} decisions are in no sealed batch (inserted with SQL): "
                                f"{', '.join(map(str, unsealed[:20]))}")  # fmt: skip
        return GuardVerification(batches, decisions + len(unsealed), tuple(edited), tuple(deleted), tuple(inserted),
                                 tuple(unsealed), tuple(problems))  # fmt: skip

    @staticmethod
    def _may_verify(session: Session) -> bool:
        viewer = session.info.get("viewer")
        if viewer is None:
            return True
        role = session.execute(select(User.role).where(User.name == viewer, User.active.is_(True))).scalar()
        return role in ("admin", "auditor")


def _seals(session: Session) -> dict[int, dict[str, Any]]:
    import json

    out: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(AuditEvent.object_id, AuditEvent.payload).where(
            AuditEvent.action == "guard.batch.seal", AuditEvent.object_type == "guard_batches"
        )
    )
    for object_id, payload in rows:
        try:
            out[int(object_id)] = json.loads(payload)
        except (ValueError, TypeError):
            continue
    return out


def _decision(row: GuardDecision, name: str, version: int, system: str | None) -> dict[str, Any]:
    return {
        "id": row.id, "policy": name, "version": version, "system": system, "source": row.source,
        "channel": row.channel, "action": row.action, "outcome": row.outcome, "findings": row.findings,
        "latency_ms": row.latency_ms, "characters": row.characters, "conversation": row.conversation,
        "content": row.content, "batch_id": row.batch_id, "created_at": _aware(row.created_at).isoformat(),
    }  # fmt: skip


def file_guardrail(policy: GuardPolicy) -> Guardrail:
    """A policy given as a file (not one of the workspace's: ``assay guard proxy --policy-file``, ``assay eval
    --guardrail-file``) compiled as the workspace compiles its own, without a system's use cases or disclosure: with
    the sentence embedder at the policy's precision when a section judges by meaning (and the extra is installed)."""
    return Guardrail(policy, Context(embedder=_policy_embedder(policy)))


def _policy_embedder(policy: GuardPolicy) -> Any:
    """The embedder a policy's sections need (denied topics, use cases, grounding), at its precision; else None."""
    if policy.denied_topics is None and policy.use_cases is None and policy.grounding is None:
        return None
    return _embedder(policy.embeddings.precision if policy.embeddings is not None else "exact")


def _embedder(precision: Literal["exact", "int8"] = "exact") -> Any:
    """The sentence embedder (``assay.genai.embeddings``, the guard-semantic part) at the policy's precision
    (``embeddings.precision``; int8 falls back to exact without the onnx extra), or None when that part or its extra
    is not installed: checks then judge by keywords and say so."""
    try:
        from assay.genai import embeddings  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    try:
        return embeddings.load_embedder(precision)
    except (AttributeError, ImportError):
        return None
