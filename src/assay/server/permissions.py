"""The permission table: every route of the server, and the action it needs.

The table is the enforcement, not documentation: the ``authorised`` dependency looks the request's route up
here, and a route that is missing is refused (a test also fails). ``system`` actions are judged on the
route's ``{system}`` path parameter; the others are global. See :func:`assay.services.access.allowed`.
"""

from __future__ import annotations

from typing import Final

from assay.services.access import Action

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
    ("GET", "/api/systems/{system}/soa"): "read",
    ("GET", "/api/systems/{system}/readiness"): "read",
    ("GET", "/api/systems/{system}/incidents"): "read",
    ("POST", "/api/systems/{system}/incidents"): "write",
    ("GET", "/api/systems/{system}/approvals"): "read",
    ("POST", "/api/systems/{system}/approvals"): "write",
    ("POST", "/api/systems/{system}/approvals/{request_id}/decision"): "approve",
    ("GET", "/api/systems/{system}/models/{ref}/card"): "read",
    ("GET", "/api/datasets"): "read",
    ("POST", "/api/datasets"): "contribute",
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
    ("GET", "/api/systems/{system}/waivers"): "read",
    ("POST", "/api/systems/{system}/waivers"): "write",
    ("GET", "/api/systems/{system}/docs"): "read",
    ("POST", "/api/audit/checkpoint"): "admin",
    # compute on registered dataset and model versions: the result is recorded in the system
    ("POST", "/api/systems/{system}/assessments/run"): "write",
    ("POST", "/api/systems/{system}/explanations"): "write",
    ("POST", "/api/systems/{system}/mitigations"): "write",
    ("POST", "/api/systems/{system}/checks/baseline"): "write",
    ("POST", "/api/systems/{system}/checks/validate"): "write",
    ("POST", "/api/systems/{system}/checks/duplicates"): "write",
    ("POST", "/api/systems/{system}/checks/leakage"): "write",
    ("POST", "/api/systems/{system}/checks/target-leakage"): "write",
    ("POST", "/api/systems/{system}/checks/label-issues"): "write",
    ("POST", "/api/systems/{system}/checks/representativeness"): "write",
    ("POST", "/api/systems/{system}/checks/pii"): "write",
    # the web pages, each with its .json twin
    ("GET", "/"): "read",
    ("GET", "/index.json"): "read",
    ("GET", "/systems/{system}"): "read",
    ("GET", "/systems/{system}.json"): "read",
    ("POST", "/logout"): "account",
    ("GET", "/systems/{system}/assessments/{assessment_id}"): "read",
    ("GET", "/systems/{system}/assessments/{assessment_id}.json"): "read",
    ("GET", "/systems/{system}/assessments/{assessment_id}/report"): "read",
    ("GET", "/systems/{system}/risks"): "read",
    ("GET", "/systems/{system}/risks.json"): "read",
    ("POST", "/systems/{system}/risks"): "write",
    ("POST", "/systems/{system}/risks/{risk_id}"): "write",
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
