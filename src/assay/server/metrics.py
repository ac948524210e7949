"""``GET /metrics``: the monitors for Prometheus (the official client library, ``prometheus-client``).

A custom collector reads the database at scrape time (:meth:`assay.services.alerts.Alerts.snapshot`: at most five
statements whatever the number of monitors, at most ``ASSAY_METRICS_MAX_SERIES`` metric series), so nothing is kept
in the server's memory and every worker process or replica answers the same. Access: a bearer API token (a ``read``
token is enough; a member sees the systems they hold a role on) unless ``ASSAY_METRICS_PUBLIC`` is set.

Series::

    assay_monitor_metric{system,model_version,monitor,kind,metric,subject}   the latest value of each monitored metric
    assay_monitor_last_run_timestamp_seconds{system,model_version,monitor}   when the monitor last ran
    assay_monitor_last_window_end_timestamp_seconds{...}                     the end of the window it last judged
    assay_monitor_last_run_status{system,model_version,monitor,status}       1 for the last run's status, 0 for others
    assay_alerts_open{system,severity,status}                                open and acknowledged alerts
    assay_metrics_truncated                                                  1 when series were left out at the limit
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from assay.server.deps import authorise, principal, workspace
from assay.services.alerts import Snapshot
from assay.services.workspace import Workspace

__all__ = ["MonitorCollector", "router"]

router = APIRouter(tags=["metrics"])

RUN_STATUSES: Final = ("ok", "violations", "no_data", "failed")
_MONITOR: Final = ["system", "model_version", "monitor"]


class MonitorCollector(Collector):
    """Reads the monitors' state when collected (once per scrape)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def collect(self) -> Iterator[Metric]:
        snapshot: Snapshot = self.ws.alerts.snapshot(max_series=self.ws.settings.metrics_max_series)
        value = GaugeMetricFamily(
            "assay_monitor_metric",
            "The latest value of a monitored metric (from the monitor's last run with results).",
            labels=[*_MONITOR, "kind", "metric", "subject"],
        )
        last_run = GaugeMetricFamily(
            "assay_monitor_last_run_timestamp_seconds", "When the monitor last ran (Unix time).", labels=_MONITOR
        )
        window = GaugeMetricFamily(
            "assay_monitor_last_window_end_timestamp_seconds",
            "The end of the window the monitor last ran on (Unix time).",
            labels=_MONITOR,
        )
        status = GaugeMetricFamily(
            "assay_monitor_last_run_status",
            "1 for the status of the monitor's last run (ok, violations, no_data, failed), 0 for the others.",
            labels=[*_MONITOR, "status"],
        )
        seen: set[tuple[str, ...]] = set()
        for monitor in snapshot.monitors:
            labels = [monitor.system, monitor.model_version, monitor.monitor]
            for kind, metric, subject, number in monitor.metrics:
                key = (*labels, kind, metric, subject)
                if key not in seen:  # one sample per series (a kind checked twice keeps its first)
                    seen.add(key)
                    value.add_metric(list(key), number)
            if monitor.last_run_at is not None and monitor.last_window_end is not None:
                last_run.add_metric(labels, monitor.last_run_at.timestamp())
                window.add_metric(labels, monitor.last_window_end.timestamp())
                for known in RUN_STATUSES:
                    status.add_metric([*labels, known], float(monitor.last_status == known))
        alerts = GaugeMetricFamily(
            "assay_alerts_open",
            "Alerts not resolved, by system, severity and status.",
            labels=["system", "severity", "status"],
        )
        for system, severity, state, count in snapshot.alerts:
            alerts.add_metric([system, severity, state], count)
        truncated = GaugeMetricFamily(
            "assay_metrics_truncated",
            "1 when monitored-metric series were left out of this scrape at ASSAY_METRICS_MAX_SERIES.",
            value=float(snapshot.truncated),
        )
        yield from (value, last_run, window, status, alerts, truncated)


def exposition(ws: Workspace) -> bytes:
    """The text exposition of the monitors ``ws``'s viewer may see."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(ws))
    return generate_latest(registry)


@router.get("/metrics", response_class=Response, include_in_schema=False)  # Prometheus's text format, not JSON
def metrics(request: Request, ws: Annotated[Workspace, Depends(workspace)]) -> Response:
    """The monitors' latest metrics, last runs and open alerts in Prometheus's text format (a bearer token with read
    scope, unless ASSAY_METRICS_PUBLIC)."""
    if not ws.settings.metrics_public:
        ws = authorise(request, principal(request, ws), ws).ws
    return Response(exposition(ws), media_type=CONTENT_TYPE_LATEST)
