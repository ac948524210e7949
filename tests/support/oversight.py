"""Review items, decisions, contested cases and feedback written through the store directly (each change with its
audit event), for tests of what summarises them: the oversight report, its page and API, the gate's facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from assay.services.workspace import Workspace
from assay.store.models import (
    ContestedCase,
    Feedback,
    Model,
    ModelVersion,
    ReviewConfig,
    ReviewDecision,
    ReviewItem,
    System,
)

__all__ = ["add_config", "add_contested", "add_feedback", "add_item"]

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def _ids(ws: Workspace, system: str, ref: str | None = None) -> tuple[int, int | None]:
    with ws.store.read() as session:
        owner = session.execute(select(System).where(System.name == system)).scalar_one()
        if ref is None:
            return owner.id, None
        name, _, version = ref.partition("@")
        found = session.execute(
            select(ModelVersion.id)
            .join(Model, Model.id == ModelVersion.model_id)
            .where(Model.system_id == owner.id, Model.name == name, ModelVersion.version == version)
        ).scalar_one()
        return owner.id, found


def add_config(ws: Workspace, system: str, *, active: bool = True) -> int:
    """A review configuration version (the newest is in force)."""
    system_id, _ = _ids(ws, system)
    with ws.store.write("lead") as tx:
        count = len(list(tx.session.execute(select(ReviewConfig).where(ReviewConfig.system_id == system_id))))
        config = ReviewConfig(
            system_id=system_id, version=count + 1, text="sample_rate: 0.05\n", rules={"sample_rate": 0.05},
            sha256="0" * 64, active=active, created_by="lead",
        )  # fmt: skip
        tx.session.add(config)
        tx.record("review_config.create", config, before=None, payload={"system": system})
        return config.id


def add_item(
    ws: Workspace,
    system: str,
    ref: str,
    inference_id: str,
    *,
    prediction: Any = 1,
    features: Mapping[str, Any] | None = None,
    decisions: Sequence[tuple[str, str, Any]] = (),
    final: Any = None,
    created_at: dt.datetime = T0,
    decided_after: dt.timedelta = dt.timedelta(hours=1),
    due_after: dt.timedelta = dt.timedelta(hours=24),
    status: str | None = None,
    config_id: int | None = None,
) -> int:
    """A review item for model version ``ref`` and its decisions ``(reviewer, decision, outcome prediction)``; it is
    decided (with ``final``, default: the last decision's outcome) when it has decisions and no ``status``."""
    system_id, version_id = _ids(ws, system, ref)
    assert version_id is not None
    if config_id is None:
        with ws.store.read() as session:
            config_id = (
                session.execute(
                    select(ReviewConfig.id).where(ReviewConfig.system_id == system_id).order_by(ReviewConfig.id.desc())
                )
                .scalars()
                .first()
            )
        if config_id is None:
            config_id = add_config(ws, system)
    decided_at = created_at + decided_after if decisions and status is None else None
    if decisions and final is None:
        reviewer, decision, outcome = decisions[-1]
        final = prediction if decision == "accept" else outcome
    with ws.store.write("lead") as tx:
        item = ReviewItem(
            system_id=system_id, model_version_id=version_id, config_id=config_id, inference_id=inference_id,
            features=dict(features or {}), output={"prediction": prediction, "score": None}, reasons=["audit"],
            source="api", status=status or ("decided" if decisions else "pending"),
            reviews_needed=max(1, len(decisions)), claims=[], due_at=created_at + due_after,
            final=None if decided_at is None else {"prediction": final},
            overridden=None if decided_at is None else final != prediction,
            created_by="lead", created_at=created_at, updated_at=created_at, decided_at=decided_at,
        )  # fmt: skip
        tx.session.add(item)
        tx.record("review_item.create", item, before=None, payload={"system": system})
        for reviewer, decision, outcome in decisions:
            row = ReviewDecision(
                item_id=item.id, system_id=system_id, reviewer=reviewer, decision=decision,
                outcome=None if decision != "change" else {"prediction": outcome}, reason="checked",
                seconds=decided_after.total_seconds(), created_at=created_at + decided_after,
            )  # fmt: skip
            tx.session.add(row)
            tx.record("review.decide", row, before=None, payload={"system": system})
        return item.id


def add_contested(ws: Workspace, system: str, ref: str, inference_id: str, *, outcome: str | None = None) -> int:
    """A contested case: open, or decided with ``outcome`` (upheld, overturned)."""
    system_id, version_id = _ids(ws, system, ref)
    assert version_id is not None
    with ws.store.write("lead") as tx:
        case = ContestedCase(
            system_id=system_id, model_version_id=version_id, inference_id=inference_id, requester="ref-1",
            grounds="wrong", decision={"prediction": 0}, features={}, status="open" if outcome is None else "decided",
            outcome=outcome, reviewer=None if outcome is None else "rita", created_by="lead", created_at=T0,
            updated_at=T0, decided_at=None if outcome is None else T0 + dt.timedelta(days=1),
        )  # fmt: skip
        tx.session.add(case)
        tx.record("contest.open", case, before=None, payload={"system": system})
        return case.id


def add_feedback(ws: Workspace, system: str, rating: int | None, *, scale: int = 5) -> int:
    system_id, _ = _ids(ws, system)
    with ws.store.write("lead") as tx:
        row = Feedback(
            system_id=system_id, rating=rating, scale=scale, comment="", source="api", created_by="lead",
            created_at=T0,
        )  # fmt: skip
        tx.session.add(row)
        tx.record("feedback.create", row, before=None, payload={"system": system})
        return row.id
