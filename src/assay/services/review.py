"""Human oversight of a system's predictions: the review queue (human-in-the-loop) and the kill switch.

- **Configuration** (:meth:`Review.configure`): a system's routing rules and review settings
  (:mod:`assay.governance.oversight`, YAML), versioned: every version is kept, the newest is in force, and
  :meth:`Review.switch` turns the queue off or on again as a new version. Audited.
- **Routing** (:meth:`Review.route`): a deployed service asks, for one prediction, "does this need review?". The
  answer is ``proceed`` (no rule routes it), ``review`` (held: an item is queued; the same inference id asked again
  finds the same item) or ``paused`` (the model version is paused: take the manual path, ``fallback``). Only a
  held prediction writes anything. :meth:`Review.submit` routes the rows of a file the same way (or queues them all).
- **The queue**: reviewers (the ``reviewer`` role, owners and overseers) :meth:`claim` an item, then :meth:`decide`
  it: ``accept`` (the model's outcome stands), ``change`` (another outcome takes effect) or ``escalate`` (an
  overseer decides). A share of items (``double_review``) is decided independently by two reviewers: agreement
  decides it, disagreement escalates it. Items past their time to decision (``sla``) are overdue. Personal columns
  are masked for roles not in ``show_personal_to``. Every claim and decision is audited; the final outcome of a
  decided item is sent as the ground-truth label of its inference id to the model version's capture (when capture
  has a label column), where model-quality monitoring reads it.
- **Kill switch** (:meth:`pause`, :meth:`resume`): a named overseer pauses a model version; routing answers
  ``paused`` and capture reports it until it is resumed. Both are audited and announced through the alert channels
  of the version's monitors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import String, cast, select
from sqlalchemy.exc import IntegrityError

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.oversight import ReviewSettings, parse_review, routes, sampled
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.services.access import Principal, allowed, model_target, require_role, viewer_principal
from assay.store.models import (
    CaptureConfig,
    Membership,
    Model,
    ModelPause,
    ModelVersion,
    ReviewConfig,
    ReviewDecision,
    ReviewItem,
    System,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["DECISIONS", "HIDDEN_SENTENCE", "MASK", "MAX_SUBMIT_ROWS", "Review"]

log = logging.getLogger("assay.review")

DECISIONS: Final = ("accept", "change", "escalate")
STATUSES: Final = ("pending", "escalated", "decided")
MAX_SUBMIT_ROWS: Final = 100_000
MAX_FEATURES: Final = 500
MAX_REASON: Final = 5_000
MASK: Final = "•••"
HIDDEN_SENTENCE: Final = "(a sentence about a feature hidden for your role)"  # replaces a sentence naming one
Decision = Literal["accept", "change", "escalate"]


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any, where: str) -> Any:
    """A JSON scalar (features and outcomes are stored as given, so they must be plain values)."""
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, float) and value != value:
            return None
        return value
    raise InvalidInput(f"{where}: {value!r} is not a plain value (give a string, number, boolean or null)")


def _features(features: Any) -> dict[str, Any]:
    if not isinstance(features, Mapping):
        raise InvalidInput("features must be a mapping of column name to value")
    if len(features) > MAX_FEATURES:
        raise InvalidInput(f"{len(features)} features: at most {MAX_FEATURES} may be sent")
    return {str(name): _plain(value, f"feature {name!r}") for name, value in features.items()}


def _output(output: Any) -> dict[str, Any]:
    if not isinstance(output, Mapping) or "prediction" not in output:
        raise InvalidInput('output must be a mapping with the model\'s "prediction" (and its "score", if any)')
    unknown = set(output) - {"prediction", "score"}
    if unknown:
        raise InvalidInput(f"unknown output fields {', '.join(sorted(unknown))}: give prediction and score")
    score = output.get("score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float) or score != score:
            raise InvalidInput(f"output score {score!r} is not a number")
        score = float(score)
    return {"prediction": _plain(output["prediction"], "output prediction"), "score": score}


def _inference_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not 1 <= len(str(value)) <= 200:
        raise InvalidInput(f"inference id {value!r}: give a string (or integer) of 1 to 200 characters")
    return str(value)


@dataclass(frozen=True)
class _Prediction:
    """A prediction to hold: its inference id, features, output, the rules that held it, where it came from."""

    ident: str
    features: dict[str, Any]
    output: dict[str, Any]
    reasons: list[str]
    source: str


class Review(Service):
    """The review queue and the kill switch of each system (see the module)."""

    # -- configuration --------------------------------------------------------------------------------------------

    def configure(self, system: str, *, text: str | None = None, path: Path | None = None) -> dict[str, Any]:
        """Store a new version of ``system``'s review configuration (YAML): from now on it routes predictions."""
        if (path is None) == (text is None):
            raise InvalidInput("give a review configuration file or text")
        if path is not None:
            if not path.is_file():
                raise InvalidInput(f"review configuration file {path} does not exist")
            text = path.read_text(encoding="utf-8")
        assert text is not None
        settings = parse_review(text, str(path) if path is not None else "the review configuration")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            _require(tx, "write", owner.name, f"configuring the review queue of {owner.name}")
            return self._store_config(tx, owner, text, settings, active=True, action="review.configure")

    def switch(self, system: str, *, active: bool, reason: str) -> dict[str, Any]:
        """Turn the queue off (nothing is routed to review; a policy gate may then fail the system) or on again, as
        a new version of the configuration in force."""
        if not reason.strip():
            raise InvalidInput("give the reason for switching the review queue on or off")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            _require(tx, "write", owner.name, f"switching the review queue of {owner.name}")
            current = self._current(tx.session, owner.id)
            if current is None:
                raise NotFound(f"{owner.name} has no review configuration: run `assay review configure` first")
            if current.active == active:
                raise Conflict(f"the review queue of {owner.name} is already {'on' if active else 'off'}")
            settings = ReviewSettings.model_validate(current.rules)
            return self._store_config(
                tx, owner, current.text, settings, active=active, action="review.switch", reason=reason
            )

    def _store_config(
        self,
        tx: Transaction,
        owner: System,
        text: str,
        settings: ReviewSettings,
        *,
        active: bool,
        action: str,
        reason: str = "",
    ) -> dict[str, Any]:
        current = self._current(tx.session, owner.id)
        stored = ReviewConfig(
            system_id=owner.id,
            version=1 if current is None else current.version + 1,
            text=text,
            rules=settings.model_dump(mode="json", by_alias=True),
            sha256=_sha256(text),
            active=active,
            created_by=tx.actor,
        )
        tx.session.add(stored)
        payload: dict[str, Any] = {"system": owner.name, "version": stored.version, "active": active}
        if reason:
            payload["reason"] = reason
        tx.record(action, stored, before=None, payload={**payload, "sha256": stored.sha256})
        return self._config_dict(stored, owner.name)

    @staticmethod
    def _current(session: Session, system_id: int) -> ReviewConfig | None:
        return (
            session.execute(
                select(ReviewConfig).where(ReviewConfig.system_id == system_id).order_by(ReviewConfig.version.desc())
            )
            .scalars()
            .first()
        )

    @staticmethod
    def _config_dict(stored: ReviewConfig, system: str) -> dict[str, Any]:
        return {
            "id": stored.id,
            "system": system,
            "version": stored.version,
            "active": stored.active,
            "settings": stored.rules,
            "text": stored.text,
            "sha256": stored.sha256,
            "created_by": stored.created_by,
            "created_at": _iso(stored.created_at),
        }

    def config(self, system: str) -> dict[str, Any] | None:
        """The configuration in force (None: the system has none)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            current = self._current(session, owner.id)
            return None if current is None else self._config_dict(current, owner.name)

    def configs(self, system: str) -> list[dict[str, Any]]:
        """Every version of the configuration, newest first."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            rows = session.execute(
                select(ReviewConfig).where(ReviewConfig.system_id == owner.id).order_by(ReviewConfig.version.desc())
            ).scalars()
            return [self._config_dict(row, owner.name) for row in rows]

    # -- routing --------------------------------------------------------------------------------------------------

    @staticmethod
    def _target(session: Session, system: str, model_version: str, action: Any) -> tuple[System, ModelVersion]:
        return model_target(session, system, model_version, action)

    @staticmethod
    def _pause_of(session: Session, version_id: int) -> ModelPause | None:
        return (
            session.execute(
                select(ModelPause).where(ModelPause.model_version_id == version_id, ModelPause.resumed_at.is_(None))
            )
            .scalars()
            .first()
        )

    def route(
        self,
        system: str,
        model_version: str,
        inference_id: Any,
        features: Any,
        output: Any,
        *,
        source: str = "api",
        principal: Principal | None = None,
    ) -> dict[str, Any]:
        """Whether one prediction needs a person before it takes effect (see the module). Needs the ``ingest``
        action (an owner's ingest token: the deployed service). Built for latency: a prediction that proceeds costs
        three indexed reads (the model version by name, a pause in force, the configuration in force; the server
        passes the ``principal`` it authorised, so the caller's roles are not read again)."""
        ident, given, out = _inference_id(inference_id), _features(features), _output(output)
        with self._read() as session:
            owner_id, name, version_id = self._resolve(session, system, model_version, principal)
            pause = self._pause_of(session, version_id)
            if pause is not None:
                return self._paused(pause)
            current = self._current(session, owner_id)
            if current is None or not current.active:
                return {"status": "proceed", "review": False, "item_id": None, "reasons": [],
                        "config_version": None if current is None else current.version}  # fmt: skip
            matched = routes(current.rules, current.sha256, ident, given, out["score"])
            if not matched:
                return {"status": "proceed", "review": False, "item_id": None, "reasons": [],
                        "config_version": current.version}  # fmt: skip
            existing = self._existing(session, version_id, ident)
            if existing is not None:
                return self._held(existing, current.version)
            config = current
        item = self._hold(owner_id, name, version_id, config, _Prediction(ident, given, out, matched, source))
        return self._held(item, config.version)

    def _resolve(self, session: Session, system: str, ref: str, principal: Principal | None) -> tuple[int, str, int]:
        """(system id, system name, model version id) in one query, once the caller may ingest there; anything
        unusual (an unknown name, a version without its model's name) takes the general lookup for its message."""
        model_name, sep, version = ref.partition("@")
        row = None
        if sep and model_name and version:
            row = session.execute(
                select(System.id, System.name, ModelVersion.id)
                .join(Model, Model.system_id == System.id)
                .join(ModelVersion, ModelVersion.model_id == Model.id)
                .where(System.name == system, Model.name == model_name, ModelVersion.version == version)
            ).first()
        who = viewer_principal(session, principal)
        if row is None or (who is not None and not allowed(who, "ingest", row[1])):
            if principal is not None:
                session.info["viewer"] = principal.name
            owner, found = self._target(session, system, ref, "ingest")  # the precise NotFound / PermissionDenied
            return owner.id, owner.name, found.id
        return int(row[0]), str(row[1]), int(row[2])

    @staticmethod
    def _paused(pause: ModelPause) -> dict[str, Any]:
        return {"status": "paused", "review": True, "item_id": None, "reasons": ["paused"],
                "fallback": pause.fallback, "paused_at": _iso(pause.paused_at), "paused_by": pause.paused_by,
                "reason": pause.reason}  # fmt: skip

    @staticmethod
    def _held(item: ReviewItem, version: int) -> dict[str, Any]:
        return {"status": "review", "review": True, "item_id": item.id, "reasons": list(item.reasons),
                "config_version": version, "due_at": _iso(item.due_at), "item_status": item.status,
                "final": item.final}  # fmt: skip

    @staticmethod
    def _existing(session: Session, version_id: int, ident: str) -> ReviewItem | None:
        return session.execute(
            select(ReviewItem).where(ReviewItem.model_version_id == version_id, ReviewItem.inference_id == ident)
        ).scalar_one_or_none()

    def _new_item(
        self, tx: Transaction, owner_id: int, version_id: int, config: ReviewConfig, held: _Prediction
    ) -> ReviewItem:
        ident, features, output, reasons, source = held.ident, held.features, held.output, held.reasons, held.source
        settings = config.rules
        now = utcnow()
        double = settings.get("double_review", 0) > 0 and sampled(
            f"double:{config.sha256}", ident, float(settings["double_review"])
        )
        item = ReviewItem(
            system_id=owner_id,
            model_version_id=version_id,
            config_id=config.id,
            inference_id=ident,
            features=features,
            output=output,
            reasons=reasons,
            source=source,
            status="pending",
            reviews_needed=2 if double else 1,
            claims=[],
            due_at=now + dt.timedelta(seconds=int(settings["sla"])),
            created_by=tx.actor,
            created_at=now,
            updated_at=now,
        )
        tx.session.add(item)
        tx.record("review.item", item, before=None, payload={"inference_id": ident, "reasons": reasons})
        return item

    def _hold(self, owner_id: int, name: str, version_id: int, config: ReviewConfig, held: _Prediction) -> ReviewItem:
        try:
            with self._write() as tx:
                found = self._existing(tx.session, version_id, held.ident)
                if found is not None:
                    return found
                item = self._new_item(tx, owner_id, version_id, config, held)
        except IntegrityError:  # another request held the same inference at the same moment
            with self._read() as session:
                found = self._existing(session, version_id, held.ident)
            if found is None:
                raise
            return found
        self._explain_later(name, config)
        return item

    def _explain_later(self, system: str, config: ReviewConfig) -> None:
        """Queue the explanations of new items (the ``explain-decisions`` job: the model loads in a worker), unless
        the configuration says not to or one is queued already."""
        if not config.rules.get("explain", True):
            return
        from assay.services.decisions import queue_explanations

        try:
            queue_explanations(self.ws.as_actor(self.ws.actor), system)
        except Exception:  # the item is held; its explanation is queued again with the next item
            log.exception("queueing the explanations of system %s", system)

    def submit(
        self,
        system: str,
        model_version: str,
        records: Iterable[Mapping[str, Any]],
        *,
        id_column: str = "inference_id",
        prediction_column: str = "prediction",
        score_column: str | None = None,
        everything: bool = False,
        source: str = "file",
    ) -> dict[str, Any]:
        """Route many predictions at once (a file, a batch): each record has its inference id, the model's
        prediction (and score) and its features. ``everything`` queues every record (a manual review of a batch)
        instead of applying the rules. All in one transaction; answers the counts and the new item ids."""
        rows = []
        for index, record in enumerate(records):
            if index >= MAX_SUBMIT_ROWS:
                raise InvalidInput(f"more than {MAX_SUBMIT_ROWS} records: split the file")
            missing = [c for c in (id_column, prediction_column, score_column) if c is not None and c not in record]
            if missing:
                raise InvalidInput(f"record {index}: no column {missing[0]!r} (columns: {', '.join(map(str, record))})")
            output = {"prediction": record[prediction_column]}
            if score_column is not None:
                output["score"] = record[score_column]
            features = {k: v for k, v in record.items() if k not in (id_column, prediction_column, score_column)}
            try:
                rows.append((_inference_id(record[id_column]), _features(features), _output(output)))
            except InvalidInput as exc:
                raise InvalidInput(f"record {index}: {exc}") from None
        held, proceed, known, created_ids = 0, 0, 0, []
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            _require(tx, "ingest", owner.name, f"submitting predictions for review in {owner.name}")
            version = _lookup.model_version(tx.session, owner, model_version)
            pause = self._pause_of(tx.session, version.id)
            if pause is not None:
                raise Conflict(
                    f"{owner.name} {model_version} is paused ({pause.reason}): {pause.fallback}".rstrip(": ")
                )
            config = self._current(tx.session, owner.id)
            if config is None or not config.active:
                raise Conflict(f"{owner.name} has no active review configuration: run `assay review configure`")
            seen: set[str] = set()
            for ident, features, output in rows:
                if ident in seen:
                    raise InvalidInput(f"inference id {ident!r} is given twice")
                seen.add(ident)
                reasons = (
                    ["submitted"]
                    if everything
                    else routes(config.rules, config.sha256, ident, features, output["score"])
                )
                if not reasons:
                    proceed += 1
                    continue
                if self._existing(tx.session, version.id, ident) is not None:
                    known += 1
                    continue
                item = self._new_item(
                    tx, owner.id, version.id, config, _Prediction(ident, features, output, reasons, source)
                )
                created_ids.append(item.id)
                held += 1
            owner_name = owner.name
        if held:
            self._explain_later(owner_name, config)
        return {"records": len(rows), "held": held, "proceed": proceed, "already_held": known, "item_ids": created_ids}

    # -- the queue ------------------------------------------------------------------------------------------------

    def _principal_role(self, session: Session, owner: System) -> tuple[str | None, bool]:
        """The viewer's role on the system (None: the workspace's own user or an admin) and whether they may see
        personal columns; read once per session (a page of the queue asks it for every item)."""
        key = ("review.role", owner.id)
        if key not in session.info:
            principal = viewer_principal(session)
            if principal is None or principal.role == "admin":
                session.info[key] = (None, True)
            else:
                session.info[key] = (principal.memberships.get(owner.name), False)
        found: tuple[str | None, bool] = session.info[key]
        return found

    def _item_dict(
        self, session: Session, item: ReviewItem, owner: System, *, decisions: bool = False
    ) -> dict[str, Any]:
        config = session.get(ReviewConfig, item.config_id)
        settings = config.rules if config is not None else {}
        role, everything = self._principal_role(session, owner)
        personal = set(settings.get("personal_columns", ()))
        shown_to = set(settings.get("show_personal_to", ("owner", "overseer")))
        masked = [] if everything or role in shown_to else sorted(personal & set(item.features))
        features = {k: (MASK if k in masked else v) for k, v in item.features.items()}
        now = utcnow()
        claims = self._live_claims(item, settings, now)
        version = session.get(ModelVersion, item.model_version_id)
        ref = "" if version is None else f"{_model_name(session, version)}@{version.version}"
        shown: dict[str, Any] = {
            "id": item.id,
            "system": owner.name,
            "model_version": ref,
            "inference_id": item.inference_id,
            "status": item.status,
            "source": item.source,
            "reasons": list(item.reasons),
            "output": item.output,
            "features": features,
            "masked": masked,
            "reviews_needed": item.reviews_needed,
            "claimed_by": [c["reviewer"] for c in claims],
            "due_at": _iso(item.due_at),
            "overdue": _overdue(item, now),
            "final": item.final,
            "overridden": item.overridden,
            "explanation": _masked_explanation(item.explanation, masked, item.features),
            "config_version": None if config is None else config.version,
            "created_at": _iso(item.created_at),
            "decided_at": _iso(item.decided_at),
        }
        if decisions:
            rows = session.execute(
                select(ReviewDecision).where(ReviewDecision.item_id == item.id).order_by(ReviewDecision.id)
            ).scalars()
            shown["decisions"] = [_decision_dict(d) for d in rows]
        return shown

    def queue(
        self,
        system: str,
        *,
        status: str | None = "open",
        overdue: bool | None = None,
        mine: bool = False,
        model_version: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> Listing[dict[str, Any]]:
        """The system's items, the most urgent first: ``status`` ``open`` (pending or escalated, the default),
        ``pending``, ``escalated``, ``decided`` or None (all); ``overdue`` past their time to decision; ``mine``
        claimed by the acting user."""
        if status is not None and status not in (*STATUSES, "open"):
            raise InvalidInput(f"status {status!r} is not one of open, {', '.join(STATUSES)}")
        with self._read() as session:
            owner = _lookup.system(session, system)
            self._require_read(session, owner, "review")
            query = select(ReviewItem).where(ReviewItem.system_id == owner.id)
            if status == "open":
                query = query.where(ReviewItem.status.in_(("pending", "escalated")))
            elif status is not None:
                query = query.where(ReviewItem.status == status)
            if model_version is not None:
                query = query.where(
                    ReviewItem.model_version_id == _lookup.model_version(session, owner, model_version).id
                )
            now = utcnow()
            if overdue is True:
                query = query.where(ReviewItem.status != "decided", ReviewItem.due_at < now)
            elif overdue is False:
                query = query.where((ReviewItem.status == "decided") | (ReviewItem.due_at >= now))
            if mine:
                actor = self.ws.viewer or self.ws.actor
                query = query.where(ReviewItem.status != "decided")
                # narrowed in SQL (the claims' text names the reviewer), then judged exactly on the claims
                query = query.where(cast(ReviewItem.claims, String).contains(json.dumps(actor)[1:-1], autoescape=True))
                items = [i for i in session.execute(query.order_by(ReviewItem.due_at, ReviewItem.id)).scalars()
                         if any(c["reviewer"] == actor for c in i.claims)]  # fmt: skip
                page = items[offset : None if limit is None else offset + limit]
                return Listing([self._item_dict(session, i, owner) for i in page], len(items))
            order = ReviewItem.decided_at.desc() if status == "decided" else ReviewItem.due_at
            found = listing(session, query.order_by(order, ReviewItem.id), limit, offset)
            return Listing([self._item_dict(session, i, owner) for i in found], found.total)

    def _require_read(self, session: Session, owner: System, action: Any) -> None:
        principal = viewer_principal(session)
        if principal is not None and not allowed(principal, action, owner.name) and principal.role != "auditor":
            raise PermissionDenied(
                f"{principal.name} may not {action} on system {owner.name!r} (needs the reviewer role)"
            )

    def item(self, system: str, item_id: int) -> dict[str, Any]:
        """One item with its decisions (personal columns masked for roles that may not see them)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            self._require_read(session, owner, "review")
            found = _lookup.by_id(session, ReviewItem, item_id, "review item", system_id=owner.id)
            return self._item_dict(session, found, owner, decisions=True)

    def _load_for_change(
        self, tx: Transaction, system: str, item_id: int, action: Any, what: str
    ) -> tuple[System, ReviewItem, dict[str, Any]]:
        owner = _lookup.system(tx.session, system)
        require_role(tx, action, owner.name, f"{what} in {owner.name}")
        found = tx.session.execute(
            select(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.system_id == owner.id).with_for_update()
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no review item {item_id} in {owner.name}")
        config = tx.session.get(ReviewConfig, found.config_id)
        return owner, found, ({} if config is None else config.rules)

    def claim(self, system: str, item_id: int) -> dict[str, Any]:
        """Take an item to decide it: others see it is being decided until the claim times out."""
        with self._write() as tx:
            owner, item, settings = self._load_for_change(tx, system, item_id, "review", "claiming a review item")
            if item.status == "decided":
                raise Conflict(f"review item {item.id} is decided already")
            if item.status == "escalated":
                require_role(tx, "oversee", owner.name, f"claiming escalated review item {item.id}")
            now = utcnow()
            claims = self._live_claims(item, settings, now)
            if any(c["reviewer"] == tx.actor for c in claims):
                return self._item_dict(tx.session, item, owner)
            if self._decided_by(tx.session, item.id, tx.actor) and item.status != "escalated":
                raise Conflict(f"{tx.actor} decided review item {item.id} already: another reviewer decides it now")
            room = 1 if item.status == "escalated" else item.reviews_needed - self._decision_count(tx.session, item)
            if len(claims) >= max(room, 1):
                holders = ", ".join(c["reviewer"] for c in claims)
                raise Conflict(f"review item {item.id} is claimed by {holders}: wait or take another item")
            before = item.state()
            item.claims = [*claims, {"reviewer": tx.actor, "at": now.isoformat()}]
            item.updated_at = now
            tx.record("review.claim", item, before=before, payload={"system": owner.name})
            return self._item_dict(tx.session, item, owner)

    def release(self, system: str, item_id: int) -> dict[str, Any]:
        """Give a claimed item back to the queue."""
        with self._write() as tx:
            owner, item, settings = self._load_for_change(tx, system, item_id, "review", "releasing a review item")
            claims = self._live_claims(item, settings, utcnow())
            if not any(c["reviewer"] == tx.actor for c in claims):
                raise Conflict(f"review item {item.id} is not claimed by {tx.actor}")
            before = item.state()
            item.claims = [c for c in claims if c["reviewer"] != tx.actor]
            item.updated_at = utcnow()
            tx.record("review.release", item, before=before, payload={"system": owner.name})
            return self._item_dict(tx.session, item, owner)

    @staticmethod
    def _live_claims(item: ReviewItem, settings: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        timeout = dt.timedelta(seconds=int(settings.get("claim_timeout", 1800)))
        return [c for c in item.claims if dt.datetime.fromisoformat(c["at"]) + timeout > now]

    @staticmethod
    def _decided_by(session: Session, item_id: int, reviewer: str) -> bool:
        return (
            session.execute(
                select(ReviewDecision.id).where(ReviewDecision.item_id == item_id, ReviewDecision.reviewer == reviewer)
            ).first()
            is not None
        )

    @staticmethod
    def _decision_count(session: Session, item: ReviewItem) -> int:
        return len(
            session.execute(
                select(ReviewDecision.id).where(
                    ReviewDecision.item_id == item.id, ReviewDecision.decision != "escalate"
                )
            ).all()
        )

    def decide(
        self,
        system: str,
        item_id: int,
        decision: str,
        *,
        outcome: Any = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Decide an item: ``accept`` the model's outcome, ``change`` it to ``outcome``, or ``escalate`` it to an
        overseer. A reason is required for change and escalate. An escalated item is decided by an overseer (or an
        owner). See the module for double review. After the decision commits, a decided item's final outcome is
        sent to the model version's capture as its label."""
        if decision not in DECISIONS:
            raise InvalidInput(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"the reason has {len(reason)} characters, more than {MAX_REASON}")
        if decision in ("change", "escalate") and not reason.strip():
            raise InvalidInput(f"{decision}: give the reason (it is shown to auditors and in the override statistics)")
        if decision == "change":
            outcome = _plain(outcome, "outcome")
            if outcome is None:
                raise InvalidInput("change: give the outcome that replaces the model's")
        elif outcome is not None:
            raise InvalidInput(f"{decision}: an outcome is given only with change")
        with self._write() as tx:
            owner, item, settings = self._load_for_change(tx, system, item_id, "review", "deciding a review item")
            if item.status == "decided":
                raise Conflict(f"review item {item.id} is decided already ({item.final})")
            escalated = item.status == "escalated"
            if escalated:
                require_role(tx, "oversee", owner.name, f"deciding escalated review item {item.id}")
                if decision == "escalate":
                    raise InvalidInput(f"review item {item.id} is escalated already: accept or change it")
            elif self._decided_by(tx.session, item.id, tx.actor):
                raise Conflict(f"{tx.actor} decided review item {item.id} already")
            now = utcnow()
            claims = self._live_claims(item, settings, now)
            others = [c["reviewer"] for c in claims if c["reviewer"] != tx.actor]
            if (
                others
                and not any(c["reviewer"] == tx.actor for c in claims)
                and (escalated or item.reviews_needed - self._decision_count(tx.session, item) <= len(others))
            ):
                raise Conflict(f"review item {item.id} is claimed by {', '.join(others)}")
            model = item.output.get("prediction")
            allowed_outcomes = settings.get("outcomes")
            if decision == "change":
                if _same(outcome, model):
                    raise InvalidInput(f"change: {outcome!r} is the model's outcome; accept it instead")
                if allowed_outcomes is not None and not any(_same(outcome, o) for o in allowed_outcomes):
                    raise InvalidInput(
                        f"change: {outcome!r} is not one of the outcomes the configuration allows: "
                        + ", ".join(map(str, allowed_outcomes))
                    )
            row = ReviewDecision(
                item_id=item.id,
                system_id=owner.id,
                reviewer=tx.actor,
                decision=decision,
                outcome={"prediction": outcome} if decision == "change" else None,
                reason=reason,
                seconds=max((now - item.created_at).total_seconds(), 0.0),
                created_at=now,
            )
            tx.session.add(row)
            tx.record("review.decision", row, before=None, payload={"item": item.id, "decision": decision})
            before = item.state()
            item.claims = [c for c in claims if c["reviewer"] != tx.actor]
            item.updated_at = now
            if decision == "escalate":
                item.status = "escalated"
                item.claims = []
            elif escalated or item.reviews_needed == 1:
                self._settle(item, model if decision == "accept" else outcome, now)
            else:
                given = list(
                    tx.session.execute(
                        select(ReviewDecision).where(
                            ReviewDecision.item_id == item.id, ReviewDecision.decision != "escalate"
                        )
                    ).scalars()
                )
                if len(given) >= item.reviews_needed:
                    finals = [model if d.decision == "accept" else (d.outcome or {}).get("prediction") for d in given]
                    if all(_same(f, finals[0]) for f in finals):
                        self._settle(item, finals[0], now)
                    else:
                        item.status = "escalated"
                        item.claims = []
            tx.record("review.item.update", item, before=before,
                      payload={"system": owner.name, "status": item.status, "decision": decision})  # fmt: skip
            shown = self._item_dict(tx.session, item, owner, decisions=True)
            label = self._label_target(tx.session, item) if item.status == "decided" else None
        if label is not None:
            shown["label"] = self._send_label(owner.name, item, *label)
        return shown

    @staticmethod
    def _settle(item: ReviewItem, final: Any, now: dt.datetime) -> None:
        item.status = "decided"
        item.final = {"prediction": final}
        item.overridden = not _same(final, item.output.get("prediction"))
        item.decided_at = now
        item.claims = []

    @staticmethod
    def _label_target(session: Session, item: ReviewItem) -> tuple[str, CaptureConfig] | None:
        config = session.execute(
            select(CaptureConfig).where(CaptureConfig.model_version_id == item.model_version_id)
        ).scalar_one_or_none()
        if config is None or config.label_column is None or not config.enabled:
            return None
        version = session.get(ModelVersion, item.model_version_id)
        assert version is not None
        return f"{_model_name(session, version)}@{version.version}", config

    def _send_label(self, system: str, item: ReviewItem, ref: str, config: CaptureConfig) -> str:
        """The decided outcome as the inference's ground-truth label in capture (the decision is recorded already;
        a label that does not fit the capture is reported, not raised)."""
        assert item.final is not None
        record = {config.id_column: item.inference_id, config.label_column: item.final["prediction"]}
        try:
            self.ws.as_actor(self.ws.actor).capture.labels(system, ref, [record], f"review-item-{item.id}")
        except Exception as exc:
            log.warning("review item %s: the label could not be sent to capture: %s", item.id, exc)
            return f"not sent: {exc}"
        return "sent"

    def labels(
        self, system: str, *, model_version: str | None = None, since: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """The decided items as labels: ``{"model_version", "inference_id", "label", "overridden", "decided_at"}``,
        oldest first (``assay review labels``: a file a training pipeline or ``assay capture labels`` reads)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            self._require_read(session, owner, "review")
            query = select(ReviewItem).where(ReviewItem.system_id == owner.id, ReviewItem.status == "decided")
            if model_version is not None:
                query = query.where(
                    ReviewItem.model_version_id == _lookup.model_version(session, owner, model_version).id
                )
            if since is not None:
                query = query.where(ReviewItem.decided_at >= since)
            refs: dict[int, str] = {}
            rows = []
            for item in session.execute(query.order_by(ReviewItem.decided_at, ReviewItem.id)).scalars():
                if item.model_version_id not in refs:
                    version = session.get(ModelVersion, item.model_version_id)
                    assert version is not None
                    refs[item.model_version_id] = f"{_model_name(session, version)}@{version.version}"
                rows.append({"model_version": refs[item.model_version_id], "inference_id": item.inference_id,
                             "label": (item.final or {}).get("prediction"), "overridden": item.overridden,
                             "decided_at": _iso(item.decided_at)})  # fmt: skip
            return rows

    # -- the kill switch ------------------------------------------------------------------------------------------

    def pause(self, system: str, model_version: str, *, reason: str, fallback: str = "") -> dict[str, Any]:
        """Pause a model version (needs the ``oversee`` action, authenticated): routing answers ``paused`` with
        ``fallback`` (the manual path the service takes) until it is resumed."""
        if not reason.strip():
            raise InvalidInput("give the reason for pausing the model version")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "oversee", owner.name, f"pausing a model version of {owner.name}")
            version = _lookup.model_version(tx.session, owner, model_version)
            if self._pause_of(tx.session, version.id) is not None:
                raise Conflict(f"{owner.name} {model_version} is paused already")
            pause = ModelPause(
                system_id=owner.id,
                model_version_id=version.id,
                reason=reason,
                fallback=fallback,
                paused_by=tx.actor,
                paused_at=utcnow(),
            )
            tx.session.add(pause)
            tx.record("model.pause", pause, before=None,
                      payload={"system": owner.name, "model_version": model_version, "reason": reason})  # fmt: skip
            shown = _pause_dict(pause, owner.name, model_version)
        text = f"paused by {shown['paused_by']}: {reason}" + (f" (manual path: {fallback})" if fallback else "")
        shown["notified"] = [r.to_dict() for r in self.ws.alerts.announce(owner.name, model_version, "pause", text,
                                                                          {"pause": shown})]  # fmt: skip
        return shown

    def resume(self, system: str, model_version: str, *, reason: str) -> dict[str, Any]:
        """Resume a paused model version (needs the ``oversee`` action, authenticated)."""
        if not reason.strip():
            raise InvalidInput("give the reason for resuming the model version")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "oversee", owner.name, f"resuming a model version of {owner.name}")
            version = _lookup.model_version(tx.session, owner, model_version)
            pause = self._pause_of(tx.session, version.id)
            if pause is None:
                raise Conflict(f"{owner.name} {model_version} is not paused")
            before = pause.state()
            pause.resumed_by, pause.resumed_at, pause.resume_reason = tx.actor, utcnow(), reason
            tx.record("model.resume", pause, before=before,
                      payload={"system": owner.name, "model_version": model_version, "reason": reason})  # fmt: skip
            shown = _pause_dict(pause, owner.name, model_version)
        shown["notified"] = [
            r.to_dict()
            for r in self.ws.alerts.announce(
                owner.name, model_version, "resume", f"resumed by {shown['resumed_by']}: {reason}", {"pause": shown}
            )
        ]
        return shown

    def pauses(self, system: str, *, active: bool | None = None) -> list[dict[str, Any]]:
        """The system's pauses, newest first (``active``: only those in force)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(ModelPause).where(ModelPause.system_id == owner.id)
            if active is True:
                query = query.where(ModelPause.resumed_at.is_(None))
            elif active is False:
                query = query.where(ModelPause.resumed_at.is_not(None))
            shown = []
            for pause in session.execute(query.order_by(ModelPause.id.desc())).scalars():
                version = session.get(ModelVersion, pause.model_version_id)
                assert version is not None
                shown.append(_pause_dict(pause, owner.name, f"{_model_name(session, version)}@{version.version}"))
            return shown

    def paused(self, system: str, model_version: str) -> dict[str, Any] | None:
        """The pause in force on a model version (None: it runs)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            version = _lookup.model_version(session, owner, model_version)
            pause = self._pause_of(session, version.id)
            return None if pause is None else _pause_dict(pause, owner.name, model_version)

    def overseers(self, system: str) -> list[str]:
        """The named overseers of a system: active users with the ``overseer`` role on it."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            return list(
                session.execute(
                    select(User.name)
                    .join(Membership, Membership.user_id == User.id)
                    .where(Membership.system_id == owner.id, Membership.role == "overseer", User.active.is_(True))
                    .order_by(User.name)
                ).scalars()
            )


def _require(tx: Transaction, action: Any, system: str, what: str) -> None:
    """An ordinary change (configuring, submitting): the role is checked for an authenticated user; an
    unauthenticated actor's change is marked so in the ledger, as every other write. Claims, decisions and the kill
    switch use :func:`require_role` itself: they need an authenticated user in a multi-user workspace."""
    if tx.authenticated:
        require_role(tx, action, system, what)


def _masked_explanation(
    explanation: dict[str, Any] | None, masked: Sequence[str], features: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The explanation as a role that may not see ``masked`` columns may: their values masked wherever they appear
    (the features, the factors, the counterfactual's changes), and every sentence that names a masked column or
    quotes its value replaced by a notice. The contributions (numbers) stay: they say how much, not what."""
    if explanation is None or not masked:
        return explanation
    hidden = set(masked)
    values = [str(features[c]) for c in masked if features.get(c) not in (None, "")]
    notice = HIDDEN_SENTENCE

    def clean(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return notice if any(c in text for c in hidden) or any(v in text for v in values) else text

    shown = {k: clean(v) for k, v in explanation.items()}
    if isinstance(explanation.get("features"), dict):
        shown["features"] = {k: (MASK if k in hidden else v) for k, v in explanation["features"].items()}
    if isinstance(explanation.get("factors"), list):
        shown["factors"] = [
            {**f, "value": MASK, "sentence": notice} if f.get("feature") in hidden else {**f, "sentence": clean(
                f.get("sentence"))}
            for f in explanation["factors"] if isinstance(f, dict)
        ]  # fmt: skip
    if isinstance(explanation.get("notes"), list):
        shown["notes"] = [clean(n) for n in explanation["notes"]]
    counterfactual = explanation.get("counterfactual")
    if isinstance(counterfactual, dict):
        changes = [
            {**c, "from": MASK, "to": MASK} if c.get("feature") in hidden else c
            for c in counterfactual.get("changes", []) if isinstance(c, dict)
        ]  # fmt: skip
        shown["counterfactual"] = {**{k: clean(v) for k, v in counterfactual.items()}, "changes": changes}
    return shown


def _overdue(item: ReviewItem, now: dt.datetime) -> bool:
    """Open past its time to decision, or decided after it."""
    if item.decided_at is not None:
        return item.decided_at > item.due_at
    return item.due_at < now


def _same(a: Any, b: Any) -> bool:
    """Two outcomes are the same value: numbers by value (1 == 1.0 == "1"), anything else by its text."""
    if a is None or b is None:
        return a is b
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _model_name(session: Session, version: ModelVersion) -> str:
    model = session.get(Model, version.model_id)
    assert model is not None
    return model.name


def _decision_dict(row: ReviewDecision) -> dict[str, Any]:
    return {"id": row.id, "reviewer": row.reviewer, "decision": row.decision, "outcome": row.outcome,
            "reason": row.reason, "seconds": row.seconds, "created_at": _iso(row.created_at)}  # fmt: skip


def _pause_dict(pause: ModelPause, system: str, ref: str) -> dict[str, Any]:
    return {"id": pause.id, "system": system, "model_version": ref, "active": pause.resumed_at is None,
            "reason": pause.reason, "fallback": pause.fallback, "paused_by": pause.paused_by,
            "paused_at": _iso(pause.paused_at), "resumed_by": pause.resumed_by, "resumed_at": _iso(pause.resumed_at),
            "resume_reason": pause.resume_reason}  # fmt: skip


def read_records(path: Path, *, limit: int = MAX_SUBMIT_ROWS) -> Sequence[dict[str, Any]]:
    """The rows of a CSV, Parquet or JSON Lines file as plain dicts (``assay review submit``), at most ``limit``."""
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist")
    import duckdb

    suffix = path.suffix.lower()
    reader = {".csv": "read_csv_auto", ".parquet": "read_parquet", ".jsonl": "read_json_auto",
              ".json": "read_json_auto", ".ndjson": "read_json_auto"}.get(suffix)  # fmt: skip
    if reader is None:
        raise InvalidInput(f"{path}: give a .csv, .parquet or .jsonl file")
    connection = duckdb.connect()
    try:
        relation = connection.sql(f"SELECT * FROM {reader}(?) LIMIT {limit + 1}", params=[str(path)])
        columns = relation.columns
        rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    except duckdb.Error as exc:
        raise InvalidInput(f"{path} cannot be read: {str(exc).splitlines()[0]}") from None
    finally:
        connection.close()
    if len(rows) > limit:
        raise InvalidInput(f"{path} has more than {limit} rows: split it")
    return [{k: _json_scalar(v) for k, v in row.items()} for row in rows]


def _json_scalar(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)
