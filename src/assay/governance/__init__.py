"""Governance: the controls catalogues (ISO/IEC 42001, NIST AI RMF, EU AI Act) and Assay's crosswalk.

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

__all__ = [
    "CATALOGUE_SCHEMA",
    "CROSSWALK_SCHEMA",
    "KINDS",
    "RELATION_TYPES",
    "Catalogue",
    "Control",
    "Framework",
    "Relation",
    "crosswalk",
    "list_frameworks",
    "load_catalogue",
    "related",
]
