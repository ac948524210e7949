"""Monitors and their runs written straight into the store (as the monitor service records them), for the tests of
what reads them: alerts, /metrics. Each run is recorded and evaluated in one transaction, as the monitor service
does, and the notifications found due are returned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from assay.services import _lookup
from assay.services.alerts import Pending, evaluate
from assay.store.models import Monitor, MonitorRun

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def make_monitor(
    ws: Any, system: str, version: str, *, name: str = "daily", alerting: Mapping[str, Any] | None = None
) -> Monitor:
    """A monitor of ``system``'s model version ``version`` (MODEL@VERSION), its alerting provisioned as the monitor
    service does (webhook secrets generated; ``monitor.info["secrets"]`` holds the ones shown once)."""
    stored, shown = ws.alerts.provision(alerting)
    with ws.store.write(ws.actor) as tx:
        owner = _lookup.system(tx.session, system)
        model_version = _lookup.model_version(tx.session, owner, version)
        monitor = Monitor(
            name=name,
            system_id=owner.id,
            model_version_id=model_version.id,
            source={"capture": True},
            checks=[{"kind": "drift", "options": {}, "baseline_id": None}],
            window_seconds=86400,
            alerting=stored,
            created_by=tx.actor,
        )
        tx.session.add(monitor)
        tx.record("monitor.create", monitor, before=None, payload={"system": system})
    monitor.secrets = shown  # type: ignore[attr-defined]
    return monitor


def check(
    kind: str,
    status: str,
    violations: Sequence[tuple[str, float]] = (),
    metrics: Sequence[tuple[str, str, float]] = (),
    assessment_id: int | None = None,
) -> dict[str, Any]:
    """One check's entry of ``MonitorRun.results``: ``violations`` as (subject, value), ``metrics`` as
    (name, subject, value)."""
    return {
        "kind": kind,
        "status": status,
        "assessment_id": assessment_id,
        "violations": [
            {"check_type": "psi", "subject": s, "description": f"{s} drifted", "value": v, "threshold": 0.2}
            for s, v in violations
        ],
        "metrics": [{"name": n, "subject": s, "value": v} for n, s, v in metrics],
    }


def record_run(
    ws: Any, monitor: Monitor, day: int, results: Sequence[Mapping[str, Any]], *, status: str | None = None
) -> tuple[MonitorRun, list[Pending]]:
    """The run of ``monitor`` over day ``day`` (from START) with ``results``, recorded and evaluated in one
    transaction; its status from the results unless given."""
    if status is None:
        failing = any(r["status"] == "fail" for r in results)
        status = "violations" if failing else "ok" if results else "no_data"
    with ws.store.write(ws.actor) as tx:
        run = MonitorRun(
            monitor_id=monitor.id,
            window_start=START + day * DAY,
            window_end=START + (day + 1) * DAY,
            status=status,
            rows=1000,
            results=[dict(r) for r in results],
            created_by=tx.actor,
        )
        tx.session.add(run)
        tx.record("monitor.run", run, before=None, payload={"monitor": monitor.id})
        live = tx.session.get(Monitor, monitor.id)
        assert live is not None
        pending = evaluate(tx, live, run)
    return run, pending
