"""Contested decisions: a person affected by a decision (or the operator on their behalf) contests it by its
inference id (GDPR Art. 22(3), EU AI Act Art. 86); a person who may oversee the system decides the case, and the
letter to the person is rendered and recorded.

Where the decision is found, in this order: the system's review queue (a :class:`ReviewItem` with that inference
id), the captured inference records of the system's model versions (:mod:`assay.services.capture`: the Parquet
partitions read by DuckDB, newest day first, until the id is found), else the decision and features the operator
gives. The explanation (the top factors and what would change the outcome) is copied from the review item when it
has one, otherwise the ``explain-decisions`` job is queued (:mod:`assay.services.decisions`).

A case is due ``contest_days`` after it was opened (setting ``ASSAY_CONTEST_DAYS``, default 30: GDPR Art. 12(3)
gives a controller one month to act on a data subject's request). Every change is audited (``contest.open``,
``contest.explain``, ``contest.decide``, ``contest.withdraw``).

Reviewers may not decide contested cases: a contested case is a second look at a decision a reviewer may have made
themself, so it needs the ``oversee`` action (an overseer or the system's owner).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services import _lookup
from assay.services._base import Listing, Service, listing, require_authenticated, single_user
from assay.services.access import allowed, viewer_principal
from assay.store.models import CaptureConfig, ContestedCase, Model, ModelVersion, ReviewItem, System, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["OUTCOMES", "STATUSES", "Contests", "contest_counts", "contest_summary"]

OUTCOMES: Final = ("upheld", "overturned")
STATUSES: Final = ("open", "decided", "withdrawn")
PREDICTION_COLUMNS: Final = ("prediction", "predicted", "pred", "predicted_label", "output", "decision")
SCORE_COLUMNS: Final = ("score", "probability", "proba")
CAPTURE_FILES_PER_QUERY: Final = 64  # capture files read per DuckDB query while looking for an inference id
_MAX_TEXT: Final = 5000


def _text(value: str, what: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{what} is required: say in a sentence or two why")
    if len(value) > _MAX_TEXT:
        raise InvalidInput(f"{what} is {len(value)} characters: the limit is {_MAX_TEXT}")
    return value


def _decision(value: Any) -> dict[str, Any]:
    """A decision as ``{"prediction", "score"?}``: a mapping as given, a bare value as the prediction."""
    if isinstance(value, Mapping):
        if "prediction" not in value:
            raise InvalidInput('a decision is {"prediction": VALUE} (and optionally "score"): "prediction" is missing')
        return dict(value)
    if value is None or isinstance(value, list | tuple | set):
        raise InvalidInput(f"a decision is one outcome value, not {value!r}")
    return {"prediction": value}


def _plain(value: Any) -> Any:
    from assay.explain._data import json_value

    return json_value(value)


def contest_counts(session: Session, system_id: int, model_version_id: int | None = None) -> dict[str, Any]:
    """Cases of a system (of one model version): opened, open, decided, overturned, withdrawn, overdue, and the
    median days from opening to decision. What the model card and the Annex IV documentation show."""
    query = select(ContestedCase).where(ContestedCase.system_id == system_id)
    if model_version_id is not None:
        query = query.where(ContestedCase.model_version_id == model_version_id)
    cases = list(session.execute(query).scalars())
    now = utcnow()
    decided = [c for c in cases if c.status == "decided"]
    days = [(c.decided_at - c.created_at).total_seconds() / 86400 for c in decided if c.decided_at is not None]
    return {
        "opened": len(cases),
        "open": sum(c.status == "open" for c in cases),
        "decided": len(decided),
        "upheld": sum(c.outcome == "upheld" for c in decided),
        "overturned": sum(c.outcome == "overturned" for c in decided),
        "withdrawn": sum(c.status == "withdrawn" for c in cases),
        "overdue": sum(c.status == "open" and c.due_at is not None and c.due_at < now for c in cases),
        "median_days_to_decision": round(statistics.median(days), 2) if days else None,
    }


def contest_summary(counts: Mapping[str, Any]) -> str:
    """The counts in one line: ``2 opened, 1 decided, 1 overturned, 1 open (0 overdue); median 3.5 days to
    decision``."""
    text = (
        f"{counts['opened']} opened, {counts['decided']} decided, {counts['overturned']} overturned, "
        f"{counts['open']} open ({counts['overdue']} overdue)"
    )
    median = counts.get("median_days_to_decision")
    return text + (f"; median {median:g} days to decision" if median is not None else "")


class Contests(Service):
    """Contested decisions of a system: open, decide (with the letter), withdraw, list, get."""

    # -- permissions ------------------------------------------------------------------------------------------

    def _may(self, tx: Transaction, action: Any, system: str, what: str) -> None:
        """``action`` on ``system`` by the acting user: the server's rule, checked here so no shell goes around it."""
        principal = viewer_principal(tx.session)
        if principal is None:
            return  # the workspace's own user
        if action == "oversee" and not single_user(tx):
            require_authenticated(tx, what)
        if not allowed(principal, action, system):
            if action == "oversee":
                raise PermissionDenied(
                    f"{what}: {principal.name} may not oversee system {system!r}; a contested case is decided by an "
                    "overseer or the system's owner (reviewers may not decide contested cases)"
                )
            raise PermissionDenied(f"{what}: {principal.name} may not {action} on system {system!r}")

    # -- reading ----------------------------------------------------------------------------------------------

    def get(self, system: str, case_id: int) -> ContestedCase:
        with self._read() as session:
            owner = _lookup.system(session, system)
            return self._case(session, owner, case_id)

    @staticmethod
    def _case(session: Session, owner: System, case_id: int) -> ContestedCase:
        case = session.get(ContestedCase, case_id)
        if case is None or case.system_id != owner.id:
            raise NotFound(f"no contested case {case_id} in system {owner.name!r}")
        return case

    def list(
        self, system: str, *, status: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[ContestedCase]:
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(ContestedCase).where(ContestedCase.system_id == owner.id)
            if status is not None:
                query = query.where(ContestedCase.status == status)
            return listing(session, query.order_by(ContestedCase.id.desc()), limit, offset)

    def model_version_ref(self, case: ContestedCase) -> str:
        with self._read() as session:
            version = session.get(ModelVersion, case.model_version_id)
            assert version is not None
            model = session.get(Model, version.model_id)
            assert model is not None
            return f"{model.name}@{version.version}"

    def counts(self, system: str) -> dict[str, Any]:
        with self._read() as session:
            return contest_counts(session, _lookup.system(session, system).id)

    # -- opening ----------------------------------------------------------------------------------------------

    def open(
        self,
        system: str,
        inference_id: str,
        *,
        model_version: str | None = None,
        requester: str = "",
        grounds: str = "",
        decision: Any = None,
        features: Mapping[str, Any] | None = None,
        queue: bool = True,
    ) -> ContestedCase:
        """Open a case on the decision with ``inference_id`` (see the module for where it is looked up). The
        operator's ``decision`` and ``features`` are used only when the decision is found nowhere. ``queue``: submit
        the ``explain-decisions`` job when the case has no explanation yet."""
        inference_id = str(inference_id).strip()
        if not inference_id or len(inference_id) > 200:
            raise InvalidInput("give the inference id of the decision contested (1 to 200 characters)")
        requester = _text(requester, "requester")[:200]
        grounds = _text(grounds, "grounds")
        with self._read() as session:
            owner = _lookup.system(session, system)
            version = None if model_version is None else _lookup.model_version(session, owner, model_version)
            found = self._find(session, owner, version, inference_id)
        if found is None:
            if decision is None or features is None:
                where = f"model version {model_version}" if model_version else f"system {system!r}"
                raise NotFound(
                    f"no decision with inference id {inference_id!r} in {where}: it is neither in the review queue "
                    "nor in the captured records; to open the case anyway give the decision and the features "
                    "(--decision, --features FILE.json)"
                )
            if not isinstance(features, Mapping) or not features:
                raise InvalidInput("features must be an object of the decision's input values by column name")
            version_id = self._version_for(system, model_version)
            found = {"item_id": None, "model_version_id": version_id, "decision": _decision(decision),
                     "features": {str(k): _plain(v) for k, v in features.items()}, "explanation": None,
                     "source": "operator"}  # fmt: skip
        days = self.ws.settings.contest_days
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            self._may(tx, "write", owner.name, "opening a contested case")
            existing = tx.session.execute(
                select(ContestedCase.id).where(
                    ContestedCase.system_id == owner.id,
                    ContestedCase.inference_id == inference_id,
                    ContestedCase.status == "open",
                )
            ).scalar_one_or_none()
            if existing is not None:
                raise Conflict(f"inference {inference_id!r} is already contested in open case {existing}")
            explanation = found["explanation"]
            now = utcnow()
            case = ContestedCase(
                system_id=owner.id, model_version_id=found["model_version_id"], inference_id=inference_id,
                item_id=found["item_id"], requester=requester, grounds=grounds, decision=found["decision"],
                features=found["features"], status="open", created_by=tx.actor, created_at=now, updated_at=now,
                due_at=now + dt.timedelta(days=days),
            )  # fmt: skip
            if explanation is not None:  # else left SQL NULL (None would be stored as JSON null)
                case.explanation = {k: v for k, v in explanation.items() if k != "counterfactual"}
                case.counterfactual = explanation.get("counterfactual")
            tx.session.add(case)
            tx.session.flush()
            tx.record("contest.open", case, before=None,
                      payload={"system": owner.name, "inference_id": inference_id, "source": found["source"],
                               "due_days": days})  # fmt: skip
        if queue and case.explanation is None:
            from assay.services.decisions import queue_explanations

            queue_explanations(self.ws, system)
        return case

    def _version_for(self, system: str, model_version: str | None) -> int:
        with self._read() as session:
            owner = _lookup.system(session, system)
            if model_version is not None:
                return _lookup.model_version(session, owner, model_version).id
            ids = list(
                session.execute(
                    select(ModelVersion.id)
                    .join(Model, ModelVersion.model_id == Model.id)
                    .where(Model.system_id == owner.id)
                ).scalars()
            )
        if len(ids) != 1:
            raise InvalidInput(
                f"system {system!r} has {len(ids)} model versions: name the one that made the decision "
                "(--model-version MODEL@VERSION)"
            )
        return ids[0]

    def _find(
        self, session: Session, owner: System, version: ModelVersion | None, inference_id: str
    ) -> dict[str, Any] | None:
        query = select(ReviewItem).where(ReviewItem.system_id == owner.id, ReviewItem.inference_id == inference_id)
        if version is not None:
            query = query.where(ReviewItem.model_version_id == version.id)
        item = session.execute(query.order_by(ReviewItem.id.desc()).limit(1)).scalar_one_or_none()
        if item is not None:
            decision = dict(item.final or item.output or {})
            if item.final and item.output and "score" in item.output:
                decision.setdefault("score", item.output["score"])
            explanation = item.explanation if item.explanation and "error" not in item.explanation else None
            return {"item_id": item.id, "model_version_id": item.model_version_id, "decision": decision,
                    "features": dict(item.features or {}), "explanation": explanation,
                    "source": f"review item {item.id}"}  # fmt: skip
        configs = select(CaptureConfig).where(CaptureConfig.system_id == owner.id)
        if version is not None:
            configs = configs.where(CaptureConfig.model_version_id == version.id)
        for config in session.execute(configs.order_by(CaptureConfig.model_version_id.desc())).scalars():
            record = self._captured(config, inference_id)
            if record is not None:
                return self._from_capture(config, record)
        return None

    def _captured(self, config: CaptureConfig, inference_id: str) -> dict[str, Any] | None:
        """The captured record with ``inference_id`` (the newest day first), read with DuckDB, or None."""
        folder = (
            self.ws.home / "capture" / f"system={config.system_id}" / f"model_version={config.model_version_id}"
        ) / "records"
        if not folder.is_dir():
            return None
        files = [str(p) for day in sorted(folder.glob("day=*"), reverse=True) for p in sorted(day.glob("*.parquet"))]
        if not files:
            return None
        import duckdb

        ident = '"' + config.id_column.replace('"', '""') + '"'
        con = duckdb.connect()
        try:
            for start in range(0, len(files), CAPTURE_FILES_PER_QUERY):
                chunk = files[start : start + CAPTURE_FILES_PER_QUERY]
                listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in chunk) + "]"
                relation = con.execute(
                    f"SELECT * FROM read_parquet({listed}, union_by_name = true, hive_partitioning = false) "
                    f"WHERE CAST({ident} AS VARCHAR) = $id LIMIT 1",
                    {"id": inference_id},
                )
                row = relation.fetchone()
                if row is not None:
                    names = [d[0] for d in relation.description]
                    return dict(zip(names, row, strict=True))
        finally:
            con.close()
        return None

    @staticmethod
    def _from_capture(config: CaptureConfig, record: dict[str, Any]) -> dict[str, Any]:
        skip = {config.id_column, config.label_column, config.time_column, "captured_at", "_stored_at", "_row"}
        features = {k: _plain(v) for k, v in record.items() if k not in skip and not k.startswith("_")}
        decision: dict[str, Any] = {}
        for name in PREDICTION_COLUMNS:
            if name in features:
                decision["prediction"] = features.pop(name)
                break
        for name in SCORE_COLUMNS:
            if name in features:
                decision["score"] = features.pop(name)
                break
        if "prediction" not in decision:
            decision["prediction"] = None  # the capture kept no prediction: the explanation re-scores the input
        captured = record.get("captured_at")
        if captured is not None:
            decision["captured_at"] = captured.isoformat() if hasattr(captured, "isoformat") else str(captured)
        if config.hash_columns:
            decision["hashed_columns"] = list(config.hash_columns)
        return {"item_id": None, "model_version_id": config.model_version_id, "decision": decision,
                "features": features, "explanation": None, "source": "capture"}  # fmt: skip

    # -- deciding ---------------------------------------------------------------------------------------------

    def decide(
        self,
        system: str,
        case_id: int,
        *,
        outcome: str,
        new_decision: Any = None,
        rationale: str,
        escalation: str | None = None,
    ) -> ContestedCase:
        """Decide an open case: ``upheld`` (the decision stands) or ``overturned`` (``new_decision`` replaces it),
        with the ``rationale``; the letter to the person is rendered and recorded with the decision. Needs the
        ``oversee`` action on the system (an overseer or the owner; not a reviewer)."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        rationale = _text(rationale, "rationale", required=True)
        if outcome == "overturned":
            if new_decision is None:
                raise InvalidInput("an overturned decision needs the new decision (--new-decision VALUE)")
            replacement: dict[str, Any] | None = _decision(new_decision)
        else:
            if new_decision is not None:
                raise InvalidInput("an upheld decision stands: give a new decision only with outcome overturned")
            replacement = None
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            self._may(tx, "oversee", owner.name, "deciding a contested case")
            case = self._case(tx.session, owner, case_id)
            if case.status != "open":
                raise Conflict(f"contested case {case_id} is {case.status}: only an open case is decided")
            before = case.state()
            now = utcnow()
            case.status, case.outcome, case.new_decision = "decided", outcome, replacement
            case.reviewer, case.rationale, case.decided_at, case.updated_at = tx.actor, rationale, now, now
            version = tx.session.get(ModelVersion, case.model_version_id)
            model = None if version is None else tx.session.get(Model, version.model_id)
            case.letter = render_letter(
                case, system=owner, model_ref=f"{model.name}@{version.version}" if model and version else "",
                escalation=escalation,
            )  # fmt: skip
            payload = {"system": owner.name, "outcome": outcome, "inference_id": case.inference_id}
            tx.record("contest.decide", case, before=before, payload=payload)
        return case

    def withdraw(self, system: str, case_id: int, *, reason: str = "") -> ContestedCase:
        """Withdraw an open case (the person no longer contests the decision); audited."""
        reason = _text(reason, "reason")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            self._may(tx, "write", owner.name, "withdrawing a contested case")
            case = self._case(tx.session, owner, case_id)
            if case.status != "open":
                raise Conflict(f"contested case {case_id} is {case.status}: only an open case is withdrawn")
            before = case.state()
            case.status, case.rationale, case.updated_at = "withdrawn", reason, utcnow()
            tx.record("contest.withdraw", case, before=before, payload={"system": owner.name, "reason": reason})
        return case

    def letter(self, system: str, case_id: int) -> str:
        """The letter recorded when the case was decided."""
        case = self.get(system, case_id)
        if case.letter is None:
            raise Conflict(f"contested case {case_id} is {case.status}: its letter is written when it is decided")
        return case.letter


def _outcome_word(decision: Mapping[str, Any] | None, explanation: Mapping[str, Any] | None) -> str:
    if decision and decision.get("prediction") is not None:
        return str(decision["prediction"])
    if explanation and explanation.get("outcome"):
        return str(explanation["outcome"])
    return "(not recorded)"


def render_letter(case: ContestedCase, *, system: System, model_ref: str, escalation: str | None = None) -> str:
    """The letter to the person (plain text, from ``reports/templates/contest_letter.txt``)."""
    from assay.reports.contests import render_contest_letter

    explanation = case.explanation if case.explanation and "error" not in case.explanation else None
    counterfactual = case.counterfactual if case.counterfactual and case.counterfactual.get("found") else None
    return render_contest_letter({
        "case_id": case.id, "inference_id": case.inference_id, "system": system.name, "purpose": system.purpose,
        "model_version": model_ref, "requester": case.requester, "grounds": case.grounds,
        "opened": case.created_at.date().isoformat(),
        "decided": (case.decided_at or utcnow()).date().isoformat(),
        "decision": _outcome_word(case.decision, explanation),
        "explanation": explanation, "counterfactual": counterfactual, "outcome": case.outcome,
        "new_decision": None if case.new_decision is None else _outcome_word(case.new_decision, None),
        "rationale": case.rationale, "reviewer": case.reviewer,
        "escalation": escalation or _ESCALATION,
    })  # fmt: skip


_ESCALATION: Final = (
    "If you disagree with this outcome, you may complain to the data protection authority of the country where you "
    "live or work (GDPR Art. 77), or to the market surveillance authority for AI systems (EU AI Act Art. 85), and "
    "you may go to court (GDPR Art. 79)."
)
