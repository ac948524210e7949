"""The permission table: every route of the server, and the action it needs.

The table is the enforcement, not documentation: the ``authorised`` dependency looks the request's route up
here, and a route that is missing is refused (a test also fails). ``system`` actions are judged on the
route's ``{system}`` path parameter; the others are global. See :func:`assay.services.access.allowed`.
"""

from __future__ import annotations

from typing import Final

from assay.services.access import Action
from assay.services.kinds import KINDS

__all__ = ["PUBLIC", "ROUTES"]

# (method, path) -> action
ROUTES: Final[dict[tuple[str, str], Action]] = {
    ("GET", "/api/me"): "read",
    ("GET", "/api/systems"): "read",
    ("POST", "/api/systems"): "contribute",
    ("GET", "/api/systems/{system}"): "read",
    ("PATCH", "/api/systems/{system}"): "write",
    ("GET", "/api/systems/{system}/models"): "read",
    ("POST", "/api/systems/{system}/models"): "write",
    ("GET", "/api/systems/{system}/assessments"): "read",
    ("GET", "/api/systems/{system}/assessments/{assessment_id}"): "read",
    ("POST", "/api/systems/{system}/assessments"): "write",
    ("GET", "/api/systems/{system}/risks"): "read",
    ("POST", "/api/systems/{system}/risks"): "write",
    ("PATCH", "/api/systems/{system}/risks/{risk_id}"): "write",
    ("GET", "/api/systems/{system}/controls"): "read",
    ("PUT", "/api/systems/{system}/controls/{framework}/{control_id}"): "write",
    ("GET", "/api/systems/{system}/evidence"): "read",
    ("POST", "/api/systems/{system}/evidence"): "write",
    ("POST", "/api/systems/{system}/evidence/{evidence_id}/revoke"): "write",
    ("GET", "/api/systems/{system}/soa"): "read",
    ("GET", "/api/systems/{system}/readiness"): "read",
    ("GET", "/api/systems/{system}/incidents"): "read",
    ("POST", "/api/systems/{system}/incidents"): "write",
    ("GET", "/api/systems/{system}/approvals"): "read",
    ("POST", "/api/systems/{system}/approvals"): "write",
    ("POST", "/api/systems/{system}/approvals/{request_id}/decision"): "approve",
    ("GET", "/api/systems/{system}/models/{ref}/card"): "read",
    ("GET", "/api/datasets"): "read",
    ("POST", "/api/datasets"): "contribute",  # datasets: judged per dataset by its owning system and shares
    ("POST", "/api/datasets/{dataset}/shares"): "contribute",
    ("DELETE", "/api/datasets/{dataset}/shares/{system}"): "contribute",
    ("PUT", "/api/datasets/{dataset}/system"): "contribute",
    ("POST", "/api/artifacts"): "contribute",
    ("GET", "/api/audit/events"): "audit",
    ("POST", "/api/audit/verify"): "audit",
    ("GET", "/api/audit/export"): "audit",
    ("GET", "/api/users"): "admin",
    ("POST", "/api/users"): "admin",
    ("PUT", "/api/users/{user}/memberships/{system}"): "admin",
    ("POST", "/api/tokens"): "account",
    ("DELETE", "/api/tokens/{token_id}"): "account",
    ("GET", "/api/systems/{system}/impact-assessments"): "read",
    ("POST", "/api/systems/{system}/impact-assessments"): "write",
    ("PATCH", "/api/systems/{system}/impact-assessments/{assessment_id}"): "write",
    ("POST", "/api/systems/{system}/impact-assessments/{assessment_id}/finalise"): "write",
    ("POST", "/api/systems/{system}/risks/{risk_id}/close"): "write",
    ("PATCH", "/api/systems/{system}/incidents/{incident_id}"): "write",
    ("POST", "/api/systems/{system}/incidents/{incident_id}/status"): "write",
    ("POST", "/api/systems/{system}/incidents/{incident_id}/actions"): "write",
    ("POST", "/api/systems/{system}/actions/{action_id}/complete"): "write",
    ("PATCH", "/api/systems/{system}/models/{ref}"): "write",
    ("POST", "/api/systems/{system}/models/{ref}/stage"): "write",
    ("PATCH", "/api/datasets/{ref}"): "contribute",
    ("POST", "/api/systems/{system}/approvals/{request_id}/withdraw"): "write",
    ("POST", "/api/systems/{system}/gates"): "write",
    ("GET", "/api/systems/{system}/policies"): "read",
    ("POST", "/api/systems/{system}/policies"): "write",
    ("GET", "/api/systems/{system}/waivers"): "read",
    ("POST", "/api/systems/{system}/waivers"): "write",
    ("GET", "/api/systems/{system}/docs"): "read",
    ("POST", "/api/audit/checkpoint"): "admin",
    ("GET", "/api/systems/{system}/models/{ref}"): "read",
    ("GET", "/api/datasets/{ref}"): "read",
    ("GET", "/api/systems/{system}/risks/{risk_id}"): "read",
    ("POST", "/api/systems/{system}/risks/{risk_id}/reopen"): "write",
    ("GET", "/api/systems/{system}/impact-assessments/{assessment_id}"): "read",
    ("GET", "/api/systems/{system}/incidents/{incident_id}"): "read",
    ("GET", "/api/systems/{system}/incidents/{incident_id}/actions"): "read",
    ("GET", "/api/systems/{system}/approvals/{request_id}"): "read",
    ("PUT", "/api/users/{user}/role"): "admin",
    ("POST", "/api/users/{user}/deactivate"): "admin",
    ("GET", "/api/users/{user}/memberships"): "admin",
    # compute on registered dataset and model versions (one route per registered kind, its action declared there):
    # the result is recorded in the system
    **{("POST", f"/api/systems/{{system}}/{kind.path}"): kind.action for kind in KINDS.values()},
    # jobs: judged per job by its system and requester (a job on a system one cannot see is 404)
    ("GET", "/api/jobs"): "read",
    ("GET", "/api/jobs/{job_id}"): "read",
    ("POST", "/api/jobs/{job_id}/cancel"): "contribute",
    ("GET", "/api/systems/{system}/schedules"): "read",
    ("POST", "/api/systems/{system}/schedules"): "write",
    ("POST", "/api/systems/{system}/schedules/{schedule_id}/pause"): "write",
    ("POST", "/api/systems/{system}/schedules/{schedule_id}/resume"): "write",
    ("DELETE", "/api/systems/{system}/schedules/{schedule_id}"): "write",
    # monitors (a run is a job of kind monitor)
    ("GET", "/api/systems/{system}/monitors"): "read",
    ("POST", "/api/systems/{system}/monitors"): "write",
    ("GET", "/api/systems/{system}/monitors/{name}"): "read",
    ("POST", "/api/systems/{system}/monitors/{name}/pause"): "write",
    ("POST", "/api/systems/{system}/monitors/{name}/resume"): "write",
    ("DELETE", "/api/systems/{system}/monitors/{name}"): "write",
    ("POST", "/api/systems/{system}/monitors/{name}/run"): "write",
    ("GET", "/api/systems/{system}/monitors/{name}/runs"): "read",
    ("GET", "/api/systems/{system}/monitors/{name}/runs/{run_id}"): "read",
    # alerts of the monitors, retraining requests, rollback (server/alerts.py), Prometheus (server/metrics.py)
    ("GET", "/api/systems/{system}/alerts"): "read",
    ("GET", "/api/systems/{system}/alerts/{alert_id}"): "read",
    ("POST", "/api/systems/{system}/alerts/{alert_id}/acknowledge"): "write",
    ("POST", "/api/systems/{system}/alerts/{alert_id}/resolve"): "write",
    ("GET", "/api/systems/{system}/retraining-requests"): "read",
    ("POST", "/api/systems/{system}/retraining-requests"): "write",
    ("POST", "/api/systems/{system}/retraining-requests/{request_id}/close"): "write",
    ("POST", "/api/systems/{system}/rollback"): "approve",  # as an approval decision
    ("GET", "/metrics"): "read",  # a read token; public with ASSAY_METRICS_PUBLIC (the route then skips this check)
    # the organisation's management system judged, and its certification pack (server/aims_pack.py): the pack holds
    # the whole ledger export, so it is for those who may export the ledger
    ("GET", "/api/aims/readiness"): "read",
    ("GET", "/api/aims/pack"): "audit",
    # human oversight: the report (server/oversight.py)
    ("GET", "/api/systems/{system}/oversight"): "read",
    ("POST", "/api/systems/{system}/oversight/report"): "write",
    # capture: batches of inference records and labels (the only routes an ingest token may call)
    ("POST", "/api/systems/{system}/models/{ref}/capture"): "ingest",
    ("POST", "/api/systems/{system}/models/{ref}/labels"): "ingest",
    # human oversight (server/review.py): the deployed service's call and batches need ingest; the queue is judged
    # again by the service (reviewers, overseers, owners act; auditors read)
    ("POST", "/api/systems/{system}/models/{ref}/review"): "ingest",
    ("POST", "/api/systems/{system}/models/{ref}/review/batch"): "ingest",
    ("PUT", "/api/systems/{system}/review/config"): "write",
    ("GET", "/api/systems/{system}/review/config"): "read",
    ("GET", "/api/systems/{system}/review/configs"): "read",
    ("POST", "/api/systems/{system}/review/switch"): "write",
    ("GET", "/api/systems/{system}/review/items"): "read",
    ("GET", "/api/systems/{system}/review/items/{item_id}"): "read",
    ("POST", "/api/systems/{system}/review/items/{item_id}/claim"): "review",
    ("POST", "/api/systems/{system}/review/items/{item_id}/release"): "review",
    ("POST", "/api/systems/{system}/review/items/{item_id}/decision"): "review",
    ("GET", "/api/systems/{system}/review/labels"): "read",
    ("POST", "/api/systems/{system}/models/{ref}/pause"): "oversee",
    ("POST", "/api/systems/{system}/models/{ref}/resume"): "oversee",
    ("GET", "/api/systems/{system}/pauses"): "read",
    # end users' feedback (server/feedback.py): a feedback token may call the POST and nothing else
    ("POST", "/api/systems/{system}/feedback"): "feedback",
    ("GET", "/api/systems/{system}/feedback"): "read",
    ("GET", "/api/systems/{system}/feedback/summary"): "read",
    # contested decisions (server/contests.py): the operator opens, an overseer or the owner decides
    ("GET", "/api/systems/{system}/contests"): "read",
    ("POST", "/api/systems/{system}/contests"): "write",
    ("GET", "/api/systems/{system}/contests/{case_id}"): "read",
    ("POST", "/api/systems/{system}/contests/{case_id}/decide"): "oversee",
    ("POST", "/api/systems/{system}/contests/{case_id}/withdraw"): "write",
    ("GET", "/api/systems/{system}/contests/{case_id}/letter"): "read",
    # the web pages, each with its .json twin
    ("GET", "/"): "read",
    ("GET", "/index.json"): "read",
    ("GET", "/systems/{system}"): "read",
    ("GET", "/systems/{system}.json"): "read",
    ("GET", "/systems/{system}/contests"): "read",
    ("GET", "/systems/{system}/contests.json"): "read",
    ("GET", "/systems/{system}/contests/{case_id}"): "read",
    ("GET", "/systems/{system}/contests/{case_id}.json"): "read",
    ("POST", "/logout"): "account",
    ("GET", "/systems/{system}/assessments/{assessment_id}"): "read",
    ("GET", "/jobs/{job_id}"): "read",  # the job's own system is checked by the service (404 when not visible)
    ("GET", "/jobs/{job_id}.json"): "read",
    ("GET", "/systems/{system}/assessments/{assessment_id}.json"): "read",
    ("GET", "/systems/{system}/assessments/{assessment_id}/report"): "read",
    ("GET", "/systems/{system}/risks"): "read",
    ("GET", "/systems/{system}/risks.json"): "read",
    ("POST", "/systems/{system}/risks"): "write",
    ("POST", "/systems/{system}/risks/{risk_id}"): "write",
    ("GET", "/systems/{system}/monitoring"): "read",
    ("GET", "/systems/{system}/monitoring.json"): "read",
    # the review queue's pages: the service lets reviewers, overseers, owners and auditors (read-only) see them
    ("GET", "/systems/{system}/review"): "read",
    ("GET", "/systems/{system}/review.json"): "read",
    ("GET", "/systems/{system}/review/{item_id}"): "read",
    ("GET", "/systems/{system}/review/{item_id}.json"): "read",
    ("GET", "/systems/{system}/oversight"): "read",
    ("GET", "/systems/{system}/oversight.json"): "read",
    ("GET", "/systems/{system}/soa"): "read",
    ("GET", "/systems/{system}/soa.json"): "read",
    ("GET", "/readiness"): "read",
    ("GET", "/readiness.json"): "read",
    ("GET", "/approvals"): "read",
    ("GET", "/approvals.json"): "read",
    ("GET", "/audit"): "audit",
    ("GET", "/audit.json"): "audit",
    ("POST", "/audit/verify"): "audit",
    ("GET", "/systems/{system}/models/{ref}/card"): "read",
    ("GET", "/systems/{system}/models/{ref}/card.json"): "read",
    ("POST", "/systems"): "contribute",
    ("POST", "/datasets"): "contribute",
    ("POST", "/systems/{system}/models"): "write",
    ("POST", "/systems/{system}/assessments"): "write",
    ("POST", "/systems/{system}/approvals"): "write",
    ("POST", "/systems/{system}/evidence/{evidence_id}/revoke"): "write",
}

# routes anyone may call (no principal)
PUBLIC: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("GET", "/api/health"),
        ("POST", "/api/login"),
        ("GET", "/login"),
        ("GET", "/favicon.ico"),
        ("GET", "/static/plotly.min.js"),
        ("POST", "/login"),
    }
)
