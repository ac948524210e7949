"""The statistics of human oversight as a document and as evidence: ``workspace.oversight``.

:meth:`Oversight.summary` reads a system's review items and decisions (and its contested cases and feedback) for a
period and returns the ``assay.oversight-report`` document: override rates overall, by slice, by reviewer and over
time (Wilson intervals), the override-rate bias signal per slice (:func:`assay.metrics.oversight.slice_signal`),
Cohen's kappa per reviewer pair on doubly reviewed items, time to decision, overdue items, contested cases and
feedback. :meth:`Oversight.record` records it as an assessment of the system, so that the evidence rule
``human-oversight`` links it to the controls it serves. The job kind ``oversight-report`` records one on a schedule.
Degenerate input (no items, one reviewer, one slice value) is a warning in the document, never a silent number.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import select

from assay.documents import Note, head
from assay.errors import InvalidInput
from assay.metrics.oversight import (
    ALPHA,
    INTERSECTION,
    KAPPA_FLOOR,
    MIN_COUNT,
    MIN_RATIO,
    MIN_SHARED,
    durations,
    mean_rating,
    outcome_label,
    overdue,
    pair_agreement,
    period_key,
    rate,
    rates_by,
    slice_signal,
    slice_values,
)
from assay.services import _lookup
from assay.services._base import Service
from assay.services.registry import record_assessment
from assay.store.models import ContestedCase, Feedback, Model, ModelVersion, ReviewDecision, ReviewItem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.services.jobs import JobContext
    from assay.store.models import Assessment, System

__all__ = ["JOB_KIND", "SCHEMA", "Oversight", "register_oversight_handler"]

SCHEMA: Final = "assay.oversight-report"
JOB_KIND: Final = "oversight-report"
MAX_LEVELS: Final = 20  # a feature with more distinct values is not a slice by default (bin it first)
MAX_SLICES: Final = 20

Bucket = Literal["day", "week"]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _moment(value: dt.date | dt.datetime | str | None, name: str) -> dt.datetime | None:
    """A period bound: a date (its midnight, UTC), a time, or ISO 8601 text of either."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name} {value!r} is not an ISO 8601 date or time (e.g. 2026-03-01)") from None
    if isinstance(value, dt.datetime):
        return _aware(value)
    return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)


def _slice_name(given: str) -> str:
    parts = [p.strip() for p in given.replace("*", INTERSECTION).split(INTERSECTION)]
    if not all(parts) or len(parts) > 2:
        raise InvalidInput(f"slice {given!r}: give a feature column, or two joined by '×' or '*' (e.g. sex*race)")
    return INTERSECTION.join(parts)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat(timespec="seconds")


class Oversight(Service):
    """Override rates, agreement, time to decision, contested cases and feedback of a system: the document and its
    recording as evidence."""

    def summary(
        self,
        system: str,
        since: dt.date | dt.datetime | str | None = None,
        until: dt.date | dt.datetime | str | None = None,
        slices: Sequence[str] | None = None,
        *,
        bucket: Bucket | None = None,
        alpha: float = ALPHA,
        min_count: int = MIN_COUNT,
        min_ratio: float = MIN_RATIO,
        kappa_floor: float = KAPPA_FLOOR,
        min_shared: int = MIN_SHARED,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """The ``assay.oversight-report`` document of ``system`` for items that arrived in ``[since, until)``
        (default: all). ``slices``: feature columns (or ``a×b`` intersections) to break override rates down by;
        default: every feature with at most 20 distinct values among the decided items. ``bucket``: ``day`` or
        ``week`` for the rates over time (default: by day up to 31 days, else by week)."""
        start, end = _moment(since, "since"), _moment(until, "until")
        if start is not None and end is not None and end <= start:
            raise InvalidInput(f"until ({_iso(end)}) must be after since ({_iso(start)})")
        if bucket is not None and bucket not in ("day", "week"):
            raise InvalidInput(f"bucket {bucket!r}: give day or week")
        if not 0 < alpha < 1:
            raise InvalidInput(f"alpha {alpha} must be between 0 and 1")
        if min_count < 1 or min_shared < 1:
            raise InvalidInput("min_count and min_shared must be at least 1")
        wanted = None if slices is None else list(dict.fromkeys(_slice_name(s) for s in slices))
        if wanted is not None and len(wanted) > MAX_SLICES:
            raise InvalidInput(f"{len(wanted)} slices: give at most {MAX_SLICES}")
        moment = _aware(now) if now is not None else dt.datetime.now(dt.UTC)
        with self._read() as session:
            owner = _lookup.system(session, system)
            items = self._items(session, owner, start, end)
            decisions = self._decisions(session, [i.id for i in items])
            contested = self._contested(session, owner, start, end)
            feedback = self._feedback(session, owner, start, end)
            versions = self._versions(session, owner)
        return self._document(
            owner.name, items, decisions, contested, feedback, versions, start=start, end=end, slices=wanted,
            bucket=bucket, alpha=alpha, min_count=min_count, min_ratio=min_ratio, kappa_floor=kappa_floor,
            min_shared=min_shared, now=moment,
        )  # fmt: skip

    def record(
        self,
        system: str,
        since: dt.date | dt.datetime | str | None = None,
        until: dt.date | dt.datetime | str | None = None,
        slices: Sequence[str] | None = None,
        **options: Any,
    ) -> Assessment:
        """Compute the summary and record it as an assessment of ``system``: the evidence rule ``human-oversight``
        links it to the controls it serves (ISO/IEC 42001 A.9.2-A.9.4, A.8.3, A.8.4; NIST AI RMF GOVERN 3.2,
        MANAGE 4.1; EU AI Act Art. 14)."""
        document = self.summary(system, since, until, slices, **options)
        with self._write() as tx:
            return record_assessment(tx, system, document, evidence_valid_days=self.ws.settings.evidence_valid_days)

    # -- reading ------------------------------------------------------------------------------------------------------

    @staticmethod
    def _items(session: Session, owner: System, start: dt.datetime | None, end: dt.datetime | None) -> list[ReviewItem]:
        query = select(ReviewItem).where(ReviewItem.system_id == owner.id)
        if start is not None:
            query = query.where(ReviewItem.created_at >= start)
        if end is not None:
            query = query.where(ReviewItem.created_at < end)
        return list(session.execute(query.order_by(ReviewItem.id)).scalars())

    @staticmethod
    def _decisions(session: Session, item_ids: list[int]) -> list[ReviewDecision]:
        out: list[ReviewDecision] = []
        for chunk in range(0, len(item_ids), 500):
            ids = item_ids[chunk : chunk + 500]
            out.extend(
                session.execute(
                    select(ReviewDecision).where(ReviewDecision.item_id.in_(ids)).order_by(ReviewDecision.id)
                ).scalars()
            )
        return out

    @staticmethod
    def _contested(
        session: Session, owner: System, start: dt.datetime | None, end: dt.datetime | None
    ) -> list[ContestedCase]:
        query = select(ContestedCase).where(ContestedCase.system_id == owner.id)
        if start is not None:
            query = query.where(ContestedCase.created_at >= start)
        if end is not None:
            query = query.where(ContestedCase.created_at < end)
        return list(session.execute(query).scalars())

    @staticmethod
    def _feedback(
        session: Session, owner: System, start: dt.datetime | None, end: dt.datetime | None
    ) -> list[tuple[int | None, int]]:
        query = select(Feedback.rating, Feedback.scale).where(Feedback.system_id == owner.id)
        if start is not None:
            query = query.where(Feedback.created_at >= start)
        if end is not None:
            query = query.where(Feedback.created_at < end)
        return [(row[0], row[1]) for row in session.execute(query)]

    @staticmethod
    def _versions(session: Session, owner: System) -> dict[int, str]:
        rows = session.execute(
            select(ModelVersion.id, Model.name, ModelVersion.version)
            .join(Model, Model.id == ModelVersion.model_id)
            .where(Model.system_id == owner.id)
        )
        return {row[0]: f"{row[1]}@{row[2]}" for row in rows}

    # -- the document -------------------------------------------------------------------------------------------------

    def _document(
        self,
        system: str,
        items: list[ReviewItem],
        decisions: list[ReviewDecision],
        contested: list[ContestedCase],
        feedback: list[tuple[int | None, int]],
        versions: Mapping[int, str],
        *,
        start: dt.datetime | None,
        end: dt.datetime | None,
        slices: list[str] | None,
        bucket: Bucket | None,
        alpha: float,
        min_count: int,
        min_ratio: float,
        kappa_floor: float,
        min_shared: int,
        now: dt.datetime,
    ) -> dict[str, Any]:
        notes: list[Note] = []
        decided = [i for i in items if i.status == "decided" and i.final is not None]
        first = min((_aware(i.created_at) for i in items), default=None)
        last = max((_aware(i.created_at) for i in items), default=None)
        span_end = end or last
        span_start = start or first
        if bucket is None:
            days = (span_end - span_start).days if span_start is not None and span_end is not None else 0
            bucket = "day" if days <= 31 else "week"
        if not items:
            notes.append(Note("no_items", "no review items arrived in the period: there is nothing to summarise"))
        elif not decided:
            notes.append(Note("no_decisions", f"none of the {len(items)} review items is decided: no override rate"))

        flags = [(i, self._overridden(i)) for i in decided]
        overall = rate([f for _, f in flags])
        available = self._slice_columns(decided)
        if slices is None:
            chosen = [c for c, n in sorted(available.items()) if n <= MAX_LEVELS]
            skipped = sorted(c for c, n in available.items() if n > MAX_LEVELS)
            if skipped:
                notes.append(
                    Note(
                        "many_values",
                        f"not sliced by {', '.join(skipped)}: more than {MAX_LEVELS} distinct values (bin the column "
                        "and name it as a slice)",
                    )
                )
        else:
            missing = sorted({p for s in slices for p in s.split(INTERSECTION)} - set(available))
            if missing and decided:
                known = ", ".join(sorted(available)) or "none"
                raise InvalidInput(
                    f"slice column {missing[0]!r} is not a feature of the decided review items (features: {known})"
                )
            chosen = slices
        by_slice = [
            {"slice": s, "rates": [r.to_dict() for r in rates_by([(slice_values(i.features, s), f) for i, f in flags])]}
            for s in chosen
        ]
        tests, slice_notes = slice_signal(
            [(i.features, f) for i, f in flags], chosen, alpha=alpha, min_count=min_count, min_ratio=min_ratio
        )
        notes.extend(slice_notes)
        flagged = [t for t in tests if t.verdict == "flagged"]
        for t in flagged:
            notes.append(
                Note(
                    "override_bias_signal",
                    f"{t.slice} = {t.value}: override rate {t.rate:.1%} on {t.n} items against {t.rest_rate:.1%} for "
                    f"the rest (Holm-adjusted p = {t.p_adjusted:.2g}): a rising override rate in one group is a bias "
                    "signal; look at the model's outputs for this group",
                )
            )

        over_time = {
            "bucket": bucket,
            "overall": [
                r.to_dict() for r in rates_by([(period_key(_aware(i.created_at), bucket), f) for i, f in flags])
            ],
            "by_slice": [
                {
                    "slice": s,
                    "series": [
                        {"value": value, "rates": [r.to_dict() for r in rates]}
                        for value, rates in self._series(flags, s, bucket).items()
                    ],
                }
                for s in chosen
            ],
        }
        by_version = rates_by([(versions.get(i.model_version_id, str(i.model_version_id)), f) for i, f in flags])

        reviewer_rows, reviewer_stats, agreement_labels = self._reviewers(items, decisions)
        by_reviewer = []
        for r in rates_by([(name, flag) for name, flag in reviewer_rows]):
            stats_ = reviewer_stats[r.key]
            by_reviewer.append(
                {
                    **r.to_dict(),
                    "decisions": stats_["decisions"],
                    "escalated": stats_["escalated"],
                    "seconds": durations(stats_["seconds"]),
                }
            )
        reviewers = sorted(reviewer_stats)
        if items and decisions and len(reviewers) < 2:
            notes.append(
                Note("one_reviewer", f"only {len(reviewers)} reviewer decided items: agreement cannot be measured")
            )
        pairs = pair_agreement(agreement_labels, floor=kappa_floor, min_items=min_shared)
        seen: dict[int, set[str]] = defaultdict(set)
        for item_id, reviewer, _ in agreement_labels:
            seen[item_id].add(reviewer)
        doubly = sum(len(names) >= 2 for names in seen.values())
        if len(reviewers) >= 2 and not pairs:
            notes.append(Note("no_double_review", "no item was decided by two reviewers: agreement is not measured"))
        for pair in pairs:
            if pair.verdict in ("low", "too_few"):
                code = "low_agreement" if pair.verdict == "low" else "few_shared_items"
                notes.append(Note(code, f"{pair.reviewers[0]} and {pair.reviewers[1]}: {pair.note}"))

        times = [
            (_aware(i.decided_at) - _aware(i.created_at)).total_seconds() for i in decided if i.decided_at is not None
        ]
        late = overdue([(_aware(i.due_at), None if i.decided_at is None else _aware(i.decided_at)) for i in items], now)
        if late["count"]:
            notes.append(
                Note(
                    "overdue",
                    f"{late['count']} of {late['n']} items were decided after their deadline or are open past it",
                )
            )
        status = Counter(i.status for i in items)
        sources = Counter(i.source for i in items)
        ratings: dict[int, list[int]] = defaultdict(list)
        for value, scale in feedback:
            if value is not None:
                ratings[scale].append(value)
        return {
            **head(SCHEMA),
            "system": system,
            "period": {"since": _iso(start), "until": _iso(end), "first_item": _iso(first), "last_item": _iso(last)},
            "items": {
                "total": len(items),
                "decided": len(decided),
                "pending": status.get("pending", 0),
                "claimed": status.get("claimed", 0),
                "escalated": status.get("escalated", 0),
                "by_source": dict(sorted(sources.items())),
                "doubly_reviewed": doubly,
            },
            "overrides": {
                "definition": "decided items whose final prediction differs from the model's",
                "overall": overall.to_dict(),
                "by_model_version": [r.to_dict() for r in by_version],
                "by_slice": by_slice,
                "by_reviewer": by_reviewer,
                "over_time": over_time,
            },
            "bias_signal": {
                "test": "Fisher's exact test, one-sided (slice value above the rest), Holm-adjusted over the slice "
                "values with at least min_count items; flagged when p_adjusted < alpha and rate >= min_ratio x rest",
                "alpha": alpha,
                "min_count": min_count,
                "min_ratio": min_ratio,
                "slices": [t.to_dict() for t in tests],
                "flagged": [{"slice": t.slice, "value": t.value} for t in flagged],
            },
            "agreement": {
                "statistic": "Cohen's kappa on the final outcome each reviewer gave (escalate is its own category); "
                "interval: analytic large-sample standard error (Fleiss, Cohen and Everitt 1969)",
                "floor": kappa_floor,
                "min_items": min_shared,
                "reviewers": reviewers,
                "pairs": [p.to_dict() for p in pairs],
            },
            "time_to_decision": {"unit": "seconds", **durations(times)},
            "overdue": late,
            "contested": self._contested_counts(contested),
            "feedback": {
                "count": len(feedback),
                "rated": sum(len(v) for v in ratings.values()),
                "ratings": [mean_rating(ratings[s], s) for s in sorted(ratings)],
            },
            "warnings": [n.to_dict() for n in notes],
        }

    @staticmethod
    def _overridden(item: ReviewItem) -> bool:
        if item.overridden is not None:
            return bool(item.overridden)
        final = (item.final or {}).get("prediction")
        return bool(final != (item.output or {}).get("prediction"))

    @staticmethod
    def _slice_columns(items: Sequence[ReviewItem]) -> dict[str, int]:
        values: dict[str, set[str]] = defaultdict(set)
        for item in items:
            for key, value in (item.features or {}).items():
                if len(values[key]) <= MAX_LEVELS:
                    values[key].add(repr(value))
        return {k: len(v) for k, v in values.items()}

    @staticmethod
    def _series(flags: Sequence[tuple[ReviewItem, bool]], slice_: str, bucket: Bucket) -> dict[str, list[Any]]:
        by_value: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for item, flag in flags:
            value = slice_values(item.features, slice_)
            if value is not None:
                by_value[value].append((period_key(_aware(item.created_at), bucket), flag))
        return {value: rates_by(rows) for value, rows in sorted(by_value.items())}

    @staticmethod
    def _reviewers(
        items: Sequence[ReviewItem], decisions: Sequence[ReviewDecision]
    ) -> tuple[list[tuple[str, bool]], dict[str, dict[str, Any]], list[tuple[int, str, str]]]:
        """Per decision: (reviewer, whether it overrode the model) for accept/change; per reviewer their counts and
        seconds; and the (item, reviewer, outcome label) triples the agreement is measured on."""
        model_prediction = {i.id: (i.output or {}).get("prediction") for i in items}
        # agreement is measured on independent reviews only: the first decisions of a doubly reviewed item, not the
        # overseer's decision of the disagreement they settle (that one has seen both)
        independent = {i.id: i.reviews_needed for i in items if i.reviews_needed >= 2}
        taken: Counter[int] = Counter()
        rows: list[tuple[str, bool]] = []
        per: dict[str, dict[str, Any]] = defaultdict(lambda: {"decisions": 0, "escalated": 0, "seconds": []})
        labels: list[tuple[int, str, str]] = []
        for d in sorted(decisions, key=lambda d: d.id):
            stats_ = per[d.reviewer]
            stats_["decisions"] += 1
            stats_["seconds"].append(float(d.seconds))
            predicted = model_prediction.get(d.item_id)
            try:
                label = outcome_label(d.decision, predicted, d.outcome)
            except ValueError as exc:
                raise InvalidInput(f"review decision {d.id}: {exc}") from None
            if taken[d.item_id] < independent.get(d.item_id, 0):
                taken[d.item_id] += 1
                labels.append((d.item_id, d.reviewer, label))
            if d.decision == "escalate":
                stats_["escalated"] += 1
            else:
                rows.append((d.reviewer, d.decision == "change" and (d.outcome or {}).get("prediction") != predicted))
        return rows, per, labels

    @staticmethod
    def _contested_counts(cases: Sequence[ContestedCase]) -> dict[str, int]:
        status = Counter(c.status for c in cases)
        outcome = Counter(c.outcome for c in cases if c.status == "decided")
        return {
            "opened": len(cases),
            "open": status.get("open", 0),
            "decided": status.get("decided", 0),
            "withdrawn": status.get("withdrawn", 0),
            "upheld": outcome.get("upheld", 0),
            "overturned": outcome.get("overturned", 0),
        }


# -- the job kind -----------------------------------------------------------------------------------------------------


def _job_params(params: dict[str, Any]) -> dict[str, Any]:
    known = {"days", "slices"}
    if not set(params) <= known:
        unknown = sorted(set(params) - known)[0]
        raise InvalidInput(
            f"params.{unknown}: an oversight-report job takes days (the period ending now, default 7) and slices"
        )
    days = params.get("days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660:
        raise InvalidInput(f"params.days {days!r} must be a whole number of days from 1 to 3660")
    out: dict[str, Any] = {"days": days}
    slices = params.get("slices")
    if slices is not None:
        if not isinstance(slices, list) or not all(isinstance(s, str) for s in slices):
            raise InvalidInput("params.slices must be a list of feature columns (or 'a*b' intersections)")
        out["slices"] = [_slice_name(s) for s in slices]
    return out


def _run_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """The ``oversight-report`` job: record the report of the last ``days`` days, as the job's requester."""
    if ctx.system is None:
        raise InvalidInput("an oversight-report job runs on an AI system")
    ctx.progress(None, "summarising review items")
    until = dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=int(params.get("days", 7)))
    recorded = ctx.workspace.oversight.record(ctx.system, since, until, params.get("slices"))
    document = recorded.document
    return {
        "assessment": recorded.id,
        "items": document["items"]["total"],
        "override_rate": document["overrides"]["overall"]["rate"],
        "flagged": document["bias_signal"]["flagged"],
        "warnings": [w["code"] for w in document["warnings"]],
        "url": f"/api/systems/{ctx.system}/assessments/{recorded.id}",
    }


def register_oversight_handler(register: Callable[..., Any]) -> None:
    """Register the ``oversight-report`` job kind (``register`` is :func:`assay.services.jobs.register_handler`)."""
    register(
        JOB_KIND, _run_job, action="write", system=True, validate=_job_params,
        description="record a system's human-oversight report (override rates, agreement, time to decision)",
    )  # fmt: skip
