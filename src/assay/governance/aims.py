"""The organisation's AI management system (ISO/IEC 42001 clauses 4-10) as domain rules, without storage: the closed
vocabularies of its records and the rules that decide who may do what (see docs/management-system.md).

* **Governance roles** (5.3, A.3.2) are held by people (user names) for the organisation or for one AI system
  (:data:`GOVERNANCE_ROLES`). They are not the access roles of :mod:`assay.services.access` (admin, auditor, member;
  system owner, approver, viewer, ...), which decide what a user may read and change; a governance role says who is
  accountable, and some rules read it: records of the management system are kept by a *manager* (an admin, or a
  person holding one of :data:`MANAGER_ROLES` for the organisation), a policy is approved by a person holding one of
  :data:`POLICY_APPROVER_ROLES`, an internal audit is done by a person holding ``internal-auditor`` who is not
  responsible for the area audited.
* **Disciplines** (:data:`DISCIPLINES`) are what a member brings to an AI system's team; a high-risk system's team
  must cover the disciplines its gate policy requires.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from assay.errors import InvalidInput

__all__ = [
    "AUDIT_STATUSES",
    "DISCIPLINES",
    "DOCUMENT_KINDS",
    "DOCUMENT_STATUSES",
    "FINDING_KINDS",
    "GOVERNANCE_ROLES",
    "ISSUE_KINDS",
    "MANAGER_ROLES",
    "NONCONFORMING_FINDINGS",
    "NONCONFORMITY_SOURCES",
    "NONCONFORMITY_STATUSES",
    "PARTY_CATEGORIES",
    "POLICY_APPROVER_ROLES",
    "POLICY_KINDS",
    "REVIEW_INPUTS",
    "one_of",
    "slug",
]

GOVERNANCE_ROLES: Final = (
    "top-management",
    "management-system-owner",
    "risk-owner",
    "system-owner",
    "approver",
    "reviewer",
    "data-protection-officer",
    "internal-auditor",
    "compliance-officer",
    "security-officer",
    "ethics-officer",
    "training-coordinator",
)
MANAGER_ROLES: Final = ("management-system-owner", "top-management")
POLICY_APPROVER_ROLES: Final = ("top-management",)
DISCIPLINES: Final = (
    "data-science",
    "engineering",
    "legal",
    "ethics",
    "domain",
    "security",
    "privacy",
    "human-factors",
    "product",
)
ISSUE_KINDS: Final = ("internal", "external")
PARTY_CATEGORIES: Final = (
    "customer",
    "affected-persons",
    "regulator",
    "employees",
    "supplier",
    "partner",
    "investor",
    "public",
    "other",
)
DOCUMENT_KINDS: Final = ("ai-policy", "topic-policy", "procedure", "plan", "record", "other")
POLICY_KINDS: Final = ("ai-policy", "topic-policy")  # approved by a person holding a POLICY_APPROVER_ROLES role
DOCUMENT_STATUSES: Final = ("draft", "approved", "superseded", "withdrawn")
AUDIT_STATUSES: Final = ("planned", "in_progress", "completed", "cancelled")
FINDING_KINDS: Final = ("major", "minor", "observation", "opportunity")
NONCONFORMING_FINDINGS: Final = ("major", "minor")  # these open a nonconformity
NONCONFORMITY_SOURCES: Final = ("audit", "incident", "gate", "alert", "complaint", "review", "other")
NONCONFORMITY_STATUSES: Final = ("open", "verification", "closed")
# ISO/IEC 42001 9.3.2's inputs of a management review, in its order (the keys of ManagementReview.inputs)
REVIEW_INPUTS: Final = (
    "previous_actions",
    "context_changes",
    "objectives",
    "nonconformities",
    "monitoring",
    "audits",
    "incidents",
    "risks",
    "opportunities",
)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def one_of(field: str, value: str, allowed: Iterable[str]) -> str:
    """``value`` when it is one of ``allowed``; else :class:`InvalidInput` naming the field and the choices."""
    choices = tuple(allowed)
    if value not in choices:
        raise InvalidInput(f"{field} must be one of {', '.join(choices)}, not {value!r}")
    return value


def slug(field: str, value: str) -> str:
    """A key such as a document key, objective key or training code: lower case letters, digits, ``.``, ``_``,
    ``-``, starting with a letter or digit, at most 100 characters."""
    if not _SLUG.match(value):
        raise InvalidInput(
            f"{field} must be lower-case letters, digits, '.', '_' or '-' (at most 100, starting with a letter or "
            f"digit), not {value!r}"
        )
    return value
