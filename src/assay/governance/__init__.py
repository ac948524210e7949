"""Governance: the controls catalogues (ISO/IEC 42001, NIST AI RMF, EU AI Act), Assay's crosswalk, the
evidence rules that link result documents to controls, and risk scoring.

A sibling of :mod:`assay.metrics` and :mod:`assay.reports`; depends only on :mod:`assay.errors` and PyYAML.
"""

from __future__ import annotations

from assay.governance.catalogues import (
    CATALOGUE_SCHEMA,
    CROSSWALK_SCHEMA,
    KINDS,
    RELATION_TYPES,
    Catalogue,
    Control,
    Framework,
    Relation,
    crosswalk,
    list_frameworks,
    load_catalogue,
    related,
)
from assay.governance.evidence import EVIDENCE_SCHEMA, EvidenceLink, EvidenceRule, controls_for, evidence_rules
from assay.governance.risk import DEFAULT_MATRIX, LEVELS, RiskMatrix, RiskScore, score_risk

__all__ = [
    "CATALOGUE_SCHEMA",
    "CROSSWALK_SCHEMA",
    "DEFAULT_MATRIX",
    "EVIDENCE_SCHEMA",
    "KINDS",
    "LEVELS",
    "RELATION_TYPES",
    "Catalogue",
    "Control",
    "EvidenceLink",
    "EvidenceRule",
    "Framework",
    "Relation",
    "RiskMatrix",
    "RiskScore",
    "controls_for",
    "crosswalk",
    "evidence_rules",
    "list_frameworks",
    "load_catalogue",
    "related",
    "score_risk",
]
