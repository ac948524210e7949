"""The explanation pipeline of single decisions: the job kind ``explain-decisions`` explains every review item and
open contested case of a system that has no explanation yet (:func:`assay.explain.decision.explain_decision`),
loading each model version and its training data once, and writes the explanations onto their rows in batches
(up to 50 rows or one second's work in one transaction, an audit event per row: ``review_item.explain``,
``contest.explain``), so the job takes SQLite's one writer about once a second, not once per row.

It runs as a job because a joblib/pickle model file loads only in a worker started with ``--trust-pickle``.
:func:`queue_explanations` submits it for a system unless one is already queued. A model version without a
loadable file or without training data gets ``{"error": "..."}`` on its rows (the reason), and the job goes on
with the other rows.

What to explain with (the actionable features, the words for the two outcomes, the threshold) comes from the
job's params, else from the ``explanation`` block of the system's review configuration (``ReviewConfig.rules``),
else the defaults: no actionable features (so no counterfactual), "the positive outcome" and 0.5.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, Text, cast, or_, select

from assay.errors import AssayError, InvalidInput
from assay.services import _lookup
from assay.store.models import (
    ContestedCase,
    Dataset,
    DatasetVersion,
    Job,
    Model,
    ModelVersion,
    ReviewConfig,
    ReviewItem,
    utcnow,
)

if TYPE_CHECKING:
    import pandas as pd

    from assay.services.jobs import JobContext, JobView
    from assay.services.workspace import Workspace

__all__ = [
    "JOB_KIND",
    "ExplainSettings",
    "explain_row",
    "queue_explanations",
    "register_explanation_handler",
    "settings_of",
]

JOB_KIND: Final = "explain-decisions"
BACKGROUND_ROWS: Final = 1000  # rows of the training data kept as the background (SHAP uses 100 of them)
MAX_ROWS_PER_JOB: Final = 500  # review items and cases explained per job (a next job takes the rest)
_SETTING_KEYS: Final = ("actionable", "immutable", "positive_text", "negative_text", "threshold")


@dataclass(frozen=True)
class ExplainSettings:
    """How decisions of a system are explained to people."""

    actionable: tuple[str, ...] = ()
    immutable: tuple[str, ...] | None = None  # None: explain.decision.IMMUTABLE
    positive_text: str = "the positive outcome"
    negative_text: str = "the negative outcome"
    threshold: float = 0.5

    def arguments(self) -> dict[str, Any]:
        out: dict[str, Any] = {"actionable": self.actionable, "positive_text": self.positive_text,
                               "negative_text": self.negative_text, "threshold": self.threshold}  # fmt: skip
        if self.immutable is not None:
            out["immutable"] = self.immutable
        return out


def _validated(params: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(_SETTING_KEYS))
    if unknown:
        raise InvalidInput(f"unknown explanation setting {unknown[0]!r}; known: {', '.join(_SETTING_KEYS)}")
    out: dict[str, Any] = {}
    for key in ("actionable", "immutable"):
        if key in params and params[key] is not None:
            value = params[key]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
                raise InvalidInput(f"{key} must be a list of column names, not {value!r}")
            out[key] = list(value)
    for key in ("positive_text", "negative_text"):
        if key in params and params[key] is not None:
            value = params[key]
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise InvalidInput(f"{key} must be 1 to 100 characters (e.g. 'approval'), not {value!r}")
            out[key] = value.strip()
    if params.get("threshold") is not None:
        value = params["threshold"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < float(value) < 1:
            raise InvalidInput(f"threshold must be a number between 0 and 1, not {value!r}")
        out["threshold"] = float(value)
    return out


def settings_of(session: Any, system_id: int, params: Mapping[str, Any] | None = None) -> ExplainSettings:
    """The explanation settings of a system: ``params``, over the ``explanation`` block of its newest review
    configuration, over the defaults."""
    config = session.execute(
        select(ReviewConfig).where(ReviewConfig.system_id == system_id).order_by(ReviewConfig.version.desc()).limit(1)
    ).scalar_one_or_none()
    block = (config.rules or {}).get("explanation") if config is not None else None
    merged = {**(_validated(block) if isinstance(block, Mapping) else {}), **_validated(params or {})}
    return ExplainSettings(
        actionable=tuple(merged.get("actionable", ())),
        immutable=None if merged.get("immutable") is None else tuple(merged["immutable"]),
        positive_text=merged.get("positive_text", ExplainSettings.positive_text),
        negative_text=merged.get("negative_text", ExplainSettings.negative_text),
        threshold=merged.get("threshold", ExplainSettings.threshold),
    )


def explain_row(
    model: Any, features: Mapping[str, Any], background: pd.DataFrame, settings: ExplainSettings
) -> dict[str, Any]:
    """The explanation document of one decision (``{"error": ...}`` when it cannot be explained)."""
    from assay.explain.decision import explain_decision

    try:
        return explain_decision(model, features, background, **settings.arguments()).to_dict()
    except AssayError as exc:
        return {"error": str(exc)}


def _refs(session: Any, version_id: int) -> tuple[str, str | None]:
    version = session.get(ModelVersion, version_id)
    model = session.get(Model, version.model_id)
    training = None
    if version.training_dataset_version_id is not None:
        data = session.get(DatasetVersion, version.training_dataset_version_id)
        dataset = session.get(Dataset, data.dataset_id)
        training = f"{dataset.name}@{data.version}"
    return f"{model.name}@{version.version}", training


def _background(ws: Workspace, system: str, ref: str, training: str | None, trust_pickle: bool) -> tuple[Any, Any]:
    """The loaded model of version ``ref`` and a sample of its training data's feature columns."""
    from assay.explain._data import collect

    if training is None:
        raise InvalidInput(f"model version {ref} has no training dataset version: its rows serve as the background")
    model = ws.models.load(system, ref, trust_pickle=trust_pickle)
    with ws.datasets.opened(training) as frame:
        rows = collect(frame, list(model.feature_names)).frame
    if len(rows) > BACKGROUND_ROWS:
        rows = rows.sample(BACKGROUND_ROWS, random_state=0).reset_index(drop=True)
    return model, rows


def _unexplained(column: Any) -> ColumnElement[bool]:
    """No explanation yet: SQL NULL, or the JSON ``null`` a JSON column stores for an explicit None."""
    return or_(column.is_(None), cast(column, Text) == "null")


def _pending(ws: Workspace, owner_id: int) -> list[tuple[str, int, int, dict[str, Any]]]:
    """(what, id, model version id, features) of the rows to explain, oldest first, at most MAX_ROWS_PER_JOB."""
    with ws.store.read() as session:
        items = session.execute(
            select(ReviewItem.id, ReviewItem.model_version_id, ReviewItem.features)
            .where(ReviewItem.system_id == owner_id, _unexplained(ReviewItem.explanation))
            .order_by(ReviewItem.id)
            .limit(MAX_ROWS_PER_JOB)
        ).all()
        cases = session.execute(
            select(ContestedCase.id, ContestedCase.model_version_id, ContestedCase.features)
            .where(ContestedCase.system_id == owner_id, _unexplained(ContestedCase.explanation))
            .where(ContestedCase.status == "open")
            .order_by(ContestedCase.id)
            .limit(MAX_ROWS_PER_JOB)
        ).all()
    rows = [("item", i, v, dict(f or {})) for i, v, f in items] + [("case", i, v, dict(f or {})) for i, v, f in cases]
    return rows[:MAX_ROWS_PER_JOB]


def _write(ws: Workspace, explained: Sequence[tuple[str, int, dict[str, Any]]]) -> list[bool]:
    """Put each explanation on its row (still unexplained) in ONE audited transaction (an event per row): a pass's
    rows are written together, so the job takes the database's writer once per batch, not once per row (the review
    call's tail waits behind it). Per row: False when it was taken meanwhile."""
    written = []
    with ws.store.write(ws.actor, authenticated=ws.authenticated) as tx:
        for what, row_id, explanation in explained:
            if what == "item":
                item = tx.session.get(ReviewItem, row_id)
                if item is None or item.explanation is not None:
                    written.append(False)
                    continue
                before = item.state()
                item.explanation = explanation
                item.updated_at = utcnow()
                tx.record("review_item.explain", item, before=before, payload=_summary(explanation))
                written.append(True)
                continue
            case = tx.session.get(ContestedCase, row_id)
            if case is None or case.explanation is not None:
                written.append(False)
                continue
            before = case.state()
            case.explanation = {k: v for k, v in explanation.items() if k != "counterfactual"}
            case.counterfactual = explanation.get("counterfactual") if "error" not in explanation else None
            case.updated_at = utcnow()
            tx.record("contest.explain", case, before=before, payload=_summary(explanation))
            written.append(True)
    return written


def _summary(explanation: Mapping[str, Any]) -> dict[str, Any]:
    if "error" in explanation:
        return {"error": explanation["error"]}
    counterfactual = explanation.get("counterfactual") or {}
    return {
        "explainer": explanation.get("shap", {}).get("explainer"),
        "counterfactual": bool(counterfactual.get("found")),
    }


MAX_PASSES: Final = 50  # looks for new rows per job (each pass explains every row found)
WRITE_ROWS: Final = 50  # explanations written in one transaction at most
WRITE_EVERY: Final = 1.0  # seconds: an explanation waits at most this long (plus one row's work) to be written


def explain_pending(
    ws: Workspace,
    system: str,
    params: Mapping[str, Any] | None = None,
    *,
    trust_pickle: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, int]:
    """Explain the review items and open contested cases of ``system`` that have no explanation (see the module)."""
    say = progress or (lambda _f, _s: None)
    with ws.store.read() as session:
        owner = _lookup.system(session, system)
        settings = settings_of(session, owner.id, params)
    counts = {"items": 0, "cases": 0, "errors": 0}
    loaded: dict[int, tuple[Any, Any, str]] = {}  # model version id -> (model, background, failure), loaded once
    tried: set[tuple[str, int]] = set()
    done = 0
    batch: list[tuple[str, int, dict[str, Any]]] = []
    flushed = time.monotonic()

    def flush() -> None:
        nonlocal flushed
        for (what, _id, explanation), ok in zip(batch, _write(ws, batch), strict=True):
            if ok:
                counts["items" if what == "item" else "cases"] += 1
                counts["errors"] += "error" in explanation
        batch.clear()
        flushed = time.monotonic()

    for _pass in range(MAX_PASSES):  # rows that arrive while the job runs are explained by it too (see queue_...)
        rows = [r for r in _pending(ws, owner.id) if (r[0], r[1]) not in tried]
        if not rows:
            break
        total = done + len(rows)
        for what, row_id, version_id, features in sorted(rows, key=lambda r: r[2]):
            tried.add((what, row_id))
            if version_id not in loaded:
                with ws.store.read() as session:
                    ref, training = _refs(session, version_id)
                say(done / total, f"loading {ref}")
                try:
                    model, background = _background(ws, system, ref, training, trust_pickle)
                except AssayError as exc:
                    loaded[version_id] = (None, None, f"{ref}: {exc}")
                else:
                    loaded[version_id] = (model, background, "")
            model, background, failure = loaded[version_id]
            explanation = {"error": failure} if model is None else explain_row(model, features, background, settings)
            batch.append((what, row_id, explanation))
            done += 1
            # written in batches (at most WRITE_EVERY seconds or WRITE_ROWS rows old): one writer transaction each
            if len(batch) >= WRITE_ROWS or time.monotonic() - flushed >= WRITE_EVERY:
                flush()
            say(done / total, "explaining")  # one stage: progress is written at most once a second
        if batch:
            flush()
    return counts


def _run_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    if ctx.system is None:
        raise InvalidInput("an explain-decisions job runs on an AI system")
    return explain_pending(ctx.workspace, ctx.system, params, trust_pickle=ctx.trust_pickle, progress=ctx.progress)


def _job_params(params: dict[str, Any]) -> dict[str, Any]:
    return _validated(params)


def register_explanation_handler(register: Callable[..., Any]) -> None:
    """Register the ``explain-decisions`` job kind (``register`` is :func:`assay.services.jobs.register_handler`)."""
    register(JOB_KIND, _run_job, action="write", system=True, validate=_job_params,
             description="explain review items and contested cases")  # fmt: skip


def queue_explanations(workspace: Workspace, system: str, params: Mapping[str, Any] | None = None) -> JobView | None:
    """Submit an ``explain-decisions`` job for ``system`` unless one is queued for it, or running and still looking
    for rows (then None): a running job explains the rows that arrive while it runs (it looks again after each pass),
    so a burst of held predictions costs one job, not one per prediction. A row that arrives in the instant between
    a job's last empty look and its end waits for the next job (the next held prediction, or a scheduled
    ``explain-decisions`` job)."""
    with workspace.store.read() as session:
        owner = _lookup.system(session, system)
        queued = session.execute(
            select(Job.id)
            .where(Job.system_id == owner.id, Job.kind == JOB_KIND, Job.status.in_(("queued", "running")))
            .limit(1)
        ).scalar_one_or_none()
    if queued is not None:
        return None
    return workspace.jobs.submit(JOB_KIND, dict(params or {}), system=system)
