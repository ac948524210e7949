"""End users' feedback on a system's outputs: submitted (API, embeddable snippet, Python client, files), redacted,
stored, listed and summarised per model version, slice and period; and read as a monitor's window (source
``feedback``) so that the ``satisfaction`` check can raise alerts.

Each submission is validated (:class:`assay.governance.feedback.FeedbackSpec`; the category against the system's
list, the model version against the registry), its comment has its personal data replaced by tags
(:func:`assay.checks.redact.redact`) **before** anything is stored or logged, and it is stored with its audit event
in one transaction (``feedback.submit``; the event's payload holds no comment). The raw comment never reaches the
database, the ledger or a log line.

Settings (``ASSAY_FEEDBACK_CATEGORIES``, ``ASSAY_FEEDBACK_ORIGINS``): JSON objects from a system's name (or ``*``,
every system) to a list: the reason categories a system accepts (default: wrong, unclear, unfair, offensive,
other) and the web origins whose pages may submit feedback from a browser (CORS; default none).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import select

from assay.checks.redact import redact
from assay.errors import InvalidInput
from assay.governance.feedback import DEFAULT_CATEGORIES, SOURCES, FeedbackSpec
from assay.governance.records import validate
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.store.models import Feedback, Model, ModelVersion, System

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["FEEDBACK_COLUMNS", "MAX_IMPORT", "FeedbackItem", "FeedbackService"]

#: the columns of a monitor's feedback window besides the flattened attributes
FEEDBACK_COLUMNS: Final = ("id", "rating", "scale", "category", "inference_id", "created_at")
MAX_IMPORT: Final = 100_000
Period = Literal["day", "week"]


@dataclass(frozen=True)
class FeedbackItem:
    """A stored piece of feedback with its model version as ``MODEL@VERSION``."""

    feedback: Feedback
    model_version: str | None
    system: str

    def to_dict(self) -> dict[str, Any]:
        state = self.feedback.state()
        state.pop("system_id", None)
        state.pop("model_version_id", None)
        return {**state, "system": self.system, "model_version": self.model_version}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _for_system(mapping: Mapping[str, Sequence[str]], system: str) -> tuple[str, ...] | None:
    for key, values in mapping.items():
        if key.lower() == system.lower():
            return tuple(values)
    return tuple(mapping["*"]) if "*" in mapping else None


def _refs(session: Session, version_ids: set[int]) -> dict[int, str]:
    if not version_ids:
        return {}
    rows = session.execute(
        select(ModelVersion.id, Model.name, ModelVersion.version)
        .join(Model, Model.id == ModelVersion.model_id)
        .where(ModelVersion.id.in_(version_ids))
    )
    return {row[0]: f"{row[1]}@{row[2]}" for row in rows}


def _period(moment: dt.datetime, every: Period) -> str:
    day = _aware(moment).astimezone(dt.UTC).date()
    if every == "week":
        day -= dt.timedelta(days=day.weekday())  # ISO weeks start on Monday
    return day.isoformat()


class FeedbackService(Service):
    """End users' feedback (see the module's docstring)."""

    # ---- settings ----------------------------------------------------------------------------------------------

    def categories(self, system: str) -> tuple[str, ...]:
        """The reason categories ``system`` accepts (ASSAY_FEEDBACK_CATEGORIES, else the default list)."""
        return _for_system(self.ws.settings.feedback_categories, system) or DEFAULT_CATEGORIES

    def origins(self, system: str) -> tuple[str, ...]:
        """The web origins allowed to submit feedback to ``system`` from a browser (ASSAY_FEEDBACK_ORIGINS)."""
        found = _for_system(self.ws.settings.feedback_origins, system) or ()
        return tuple(origin.rstrip("/") for origin in found)

    # ---- submitting -------------------------------------------------------------------------------------------

    def _valid(self, system: str, record: Mapping[str, Any], what: str, source: str) -> FeedbackSpec:
        if not isinstance(record, Mapping):
            raise InvalidInput(f"{what} must be an object with rating, scale, category, comment, ...")
        spec = validate(FeedbackSpec, dict(record), what)
        if spec.created_at is not None:
            if source in ("api", "snippet"):
                raise InvalidInput(f"invalid {what}: created_at: only imported feedback gives its time (source file)")
            if spec.created_at > dt.datetime.now(dt.UTC):
                raise InvalidInput(f"invalid {what}: created_at: {spec.created_at.isoformat()} is in the future")
        if spec.category is not None:
            allowed = self.categories(system)
            if spec.category not in allowed:
                raise InvalidInput(
                    f"invalid {what}: category: {spec.category!r} is not one of {', '.join(allowed)} (the categories "
                    f"of {system}; ASSAY_FEEDBACK_CATEGORIES)"
                )
        return spec

    def _add(
        self, session: Session, owner: System, spec: FeedbackSpec, source: str, actor: str, versions: dict[str, int]
    ) -> Feedback:
        version_id = None
        if spec.model_version is not None:
            if spec.model_version not in versions:
                versions[spec.model_version] = _lookup.model_version(session, owner, spec.model_version).id
            version_id = versions[spec.model_version]
        redacted = redact(spec.comment) if spec.comment else None
        feedback = Feedback(
            system_id=owner.id, model_version_id=version_id, inference_id=spec.inference_id, rating=spec.rating,
            scale=spec.scale, category=spec.category, comment="" if redacted is None else redacted.text,
            redactions={} if redacted is None else redacted.counts, attributes=spec.attribute_values(),
            source=source, created_by=actor,
        )  # fmt: skip
        if spec.created_at is not None:
            feedback.created_at = spec.created_at.astimezone(dt.UTC)
        session.add(feedback)
        return feedback

    @staticmethod
    def _source(source: str) -> str:
        if source not in SOURCES:
            raise InvalidInput(f"source {source!r} is not one of {', '.join(SOURCES)}")
        return source

    def submit(self, system: str, record: Mapping[str, Any], *, source: str = "api") -> FeedbackItem:
        """Store one piece of feedback (validated, its comment redacted) with its audit event."""
        self._source(source)
        spec = self._valid(system, record, "feedback", source)
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            feedback = self._add(tx.session, owner, spec, source, tx.actor, {})
            tx.record("feedback.submit", feedback, before=None, payload=self._payload(owner, feedback, spec))
            return FeedbackItem(feedback, spec.model_version, owner.name)

    @staticmethod
    def _payload(owner: System, feedback: Feedback, spec: FeedbackSpec) -> dict[str, Any]:
        return {"system": owner.name, "model_version": spec.model_version, "rating": feedback.rating,
                "scale": feedback.scale, "category": feedback.category, "source": feedback.source,
                "redactions": feedback.redactions}  # fmt: skip

    def import_file(self, system: str, path: str | Path, *, source: str = "file") -> int:
        """Store every record of a CSV or JSON Lines file (all or nothing; one audit event each); an error names
        the line and the field. CSV columns: rating, scale, category, comment, model_version, inference_id, and
        ``attributes.KEY`` (or an ``attributes`` column holding a JSON object)."""
        self._source(source)
        specs = [
            self._valid(system, record, f"feedback at line {line}", source)
            for line, record in _read_records(Path(path))
        ]
        if not specs:
            raise InvalidInput(f"{path}: no feedback records in the file")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            versions: dict[str, int] = {}
            for spec in specs:
                feedback = self._add(tx.session, owner, spec, source, tx.actor, versions)
                tx.record("feedback.submit", feedback, before=None, payload=self._payload(owner, feedback, spec))
        return len(specs)

    # ---- reading ---------------------------------------------------------------------------------------------

    def _query(
        self,
        session: Session,
        owner: System,
        model_version: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        category: str | None = None,
    ) -> Any:
        query = select(Feedback).where(Feedback.system_id == owner.id)
        if model_version is not None:
            query = query.where(Feedback.model_version_id == _lookup.model_version(session, owner, model_version).id)
        if since is not None:
            query = query.where(Feedback.created_at >= _aware(since))
        if until is not None:
            query = query.where(Feedback.created_at < _aware(until))
        if category is not None:
            query = query.where(Feedback.category == category)
        return query

    def list(
        self,
        system: str,
        *,
        model_version: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        category: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Listing[FeedbackItem]:
        """The system's feedback, newest first."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = self._query(session, owner, model_version, since, until, category)
            rows = listing(session, query.order_by(Feedback.id.desc()), limit, offset)
            refs = _refs(session, {r.model_version_id for r in rows if r.model_version_id is not None})
            items = [FeedbackItem(r, refs.get(r.model_version_id or 0), owner.name) for r in rows]
            return Listing(items, rows.total)

    def summary(
        self,
        system: str,
        *,
        model_version: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        by: str | None = None,
        every: Period | None = None,
        confidence: float = 0.95,
    ) -> dict[str, Any]:
        """Count, mean rating with its interval (Wilson for thumbs, Student's t for stars), share positive (Wilson),
        categories: over all, per model version, per value of the attribute ``by`` and per ``every`` (day or week).
        Each group is split by scale (thumbs and stars are never averaged together)."""
        if every is not None and every not in ("day", "week"):
            raise InvalidInput(f"every {every!r} is not one of day, week")
        if not 0.5 <= confidence < 1:
            raise InvalidInput(f"confidence {confidence} must be at least 0.5 and below 1")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = self._query(session, owner, model_version, since, until)
            rows = list(session.execute(query.order_by(Feedback.id)).scalars())
            refs = _refs(session, {r.model_version_id for r in rows if r.model_version_id is not None})
        groups: dict[str, dict[Any, list[Feedback]]] = {"overall": {None: rows}, "model_versions": {}}
        for row in rows:
            groups["model_versions"].setdefault(refs.get(row.model_version_id or 0), []).append(row)
            if by is not None:
                groups.setdefault("slices", {}).setdefault(row.attributes.get(by), []).append(row)
            if every is not None:
                groups.setdefault("periods", {}).setdefault(_period(row.created_at, every), []).append(row)
        out: dict[str, Any] = {
            "system": owner.name, "model_version": model_version, "since": since and _aware(since).isoformat(),
            "until": until and _aware(until).isoformat(), "confidence": confidence, "feedback": len(rows),
            "intervals": {"thumbs": "Wilson score interval (mean = share positive)",
                          "stars": "Student's t interval for the mean rating; Wilson for the share positive (4-5)"},
            "overall": _figures(rows, confidence),
            "model_versions": [{"model_version": k, **_figures(v, confidence)}
                               for k, v in sorted(groups["model_versions"].items(), key=lambda kv: str(kv[0]))],
        }  # fmt: skip
        if by is not None:
            out["by"] = by
            slices = sorted(groups.get("slices", {}).items(), key=lambda kv: str(kv[0]))
            out["slices"] = [{"value": k, **_figures(v, confidence)} for k, v in slices]
        if every is not None:
            out["every"] = every
            out["periods"] = [{"period": k, **_figures(v, confidence)}
                              for k, v in sorted(groups.get("periods", {}).items())]  # fmt: skip
        return out

    @contextmanager
    def window(
        self, system: str, model_version: str, start: dt.datetime, stop: dt.datetime
    ) -> Iterator[tuple[Any, dict[str, Any]]]:
        """A monitor's window of feedback: the feedback on ``model_version`` created in ``[start, stop)`` as a
        pandas frame (rating, scale, category, inference_id, created_at and each attribute as a column; an
        attribute named like one of those is ``attribute.KEY``), and its fingerprint (the rows' ids and the SHA-256
        of their stored states)."""
        import pandas as pd

        with self._read() as session:
            owner = _lookup.system(session, system)
            rows = list(
                session.execute(self._query(session, owner, model_version, start, stop).order_by(Feedback.id)).scalars()
            )
        records: list[dict[str, Any]] = []
        digest = hashlib.sha256()
        for row in rows:
            record: dict[str, Any] = {
                "id": row.id, "rating": row.rating, "scale": row.scale, "category": row.category,
                "inference_id": row.inference_id, "created_at": _aware(row.created_at),
            }  # fmt: skip
            for key, value in row.attributes.items():
                record[f"attribute.{key}" if key in FEEDBACK_COLUMNS else key] = value
            records.append(record)
            digest.update(json.dumps(row.state(), sort_keys=True, default=str).encode())
        frame = pd.DataFrame.from_records(records, columns=None if records else list(FEEDBACK_COLUMNS))
        if records:
            frame["rating"] = frame["rating"].astype("Int64")
        fingerprint = {"feedback": model_version, "rows": len(rows), "first_id": rows[0].id if rows else None,
                       "last_id": rows[-1].id if rows else None, "sha256": digest.hexdigest()}  # fmt: skip
        yield frame, fingerprint


def _figures(rows: Sequence[Feedback], confidence: float) -> dict[str, Any]:
    from assay.metrics.satisfaction import summarise

    categories: dict[str, int] = {}
    for row in rows:
        if row.category is not None:
            categories[row.category] = categories.get(row.category, 0) + 1
    scales = []
    for scale in (2, 5):
        ratings = [row.rating for row in rows if row.scale == scale and row.rating is not None]
        if ratings:
            scales.append({"scale": scale, **summarise(ratings, scale, confidence)})
    return {"feedback": len(rows), "categories": dict(sorted(categories.items())), "scales": scales}


def _read_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The records of a CSV (``.csv``) or JSON Lines (``.jsonl``, ``.ndjson``) file, with their line numbers."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    out: list[tuple[int, dict[str, Any]]] = []
    if suffix in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}: line {number} is not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InvalidInput(f"{path}: line {number} is not a JSON object")
            out.append((number, record))
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for record in reader:
            out.append((reader.line_num, _from_csv(record, path, reader.line_num)))
    else:
        raise InvalidInput(f"{path}: give a .csv or .jsonl (JSON Lines) file")
    if len(out) > MAX_IMPORT:
        raise InvalidInput(f"{path}: {len(out)} records, more than {MAX_IMPORT} in one import: split the file")
    return out


def _from_csv(row: Mapping[str, str | None], path: Path, line: int) -> dict[str, Any]:
    record: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise InvalidInput(f"{path}: line {line} has more values than the header has columns")
        if value is None or value == "":
            continue
        if key in ("rating", "scale"):
            try:
                record[key] = int(value)
            except ValueError:
                raise InvalidInput(f"{path}: line {line}: {key} {value[:30]!r} is not a whole number") from None
        elif key == "attributes":
            try:
                attributes.update(json.loads(value))
            except (json.JSONDecodeError, TypeError, ValueError):
                raise InvalidInput(f"{path}: line {line}: attributes must be a JSON object") from None
        elif key.startswith("attributes."):
            attributes[key.removeprefix("attributes.")] = value
        else:
            record[key] = value
    if attributes:
        record["attributes"] = attributes
    return record
