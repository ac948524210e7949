"""Data checks: pure functions from data (a path or a frame, opened by :mod:`assay.frames`) to frozen results.

Aggregations (profiles, duplicates, shared rows, target leakage, group shares) run on the data's engine and
collect small tables; the checks that fit a model or scan values (label issues, PII) work on a stated sample.
Every result's ``to_dict()`` is an ``assay.data-check`` document (v1); Model Monitor's files come from
:class:`Profile` (``statistics.json``), :func:`suggest_constraints` (``constraints.json``) and
:meth:`Validation.constraint_violations` (``constraint_violations.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach

if TYPE_CHECKING:
    from assay.checks._common import SCHEMA, SCHEMA_VERSION, DataInfo, Sample
    from assay.checks._representativeness import (
        GroupShare,
        PopulationTest,
        Representativeness,
        parse_population,
        representativeness,
    )
    from assay.checks.duplicates import DuplicateGroup, Duplicates, find_duplicates
    from assay.checks.labels import LabelIssue, LabelIssues, find_label_issues
    from assay.checks.leakage import FeatureLeak, SharedRows, TargetLeakage, shared_rows, target_leakage
    from assay.checks.monitor import (
        CHECK_TYPES,
        DEFAULT_MONITORING_CONFIG,
        Baseline,
        Validation,
        Violation,
        imported_baseline,
        suggest_baseline,
        suggest_constraints,
        validate,
    )
    from assay.checks.pii import CATEGORIES, ColumnPii, PiiScan, entities_in_name, scan_pii
    from assay.checks.statistics import Profile, profile

__all__ = [
    "CATEGORIES",
    "CHECK_TYPES",
    "DEFAULT_MONITORING_CONFIG",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Baseline",
    "ColumnPii",
    "DataInfo",
    "DuplicateGroup",
    "Duplicates",
    "FeatureLeak",
    "GroupShare",
    "LabelIssue",
    "LabelIssues",
    "PiiScan",
    "PopulationTest",
    "Profile",
    "Representativeness",
    "Sample",
    "SharedRows",
    "TargetLeakage",
    "Validation",
    "Violation",
    "entities_in_name",
    "find_duplicates",
    "find_label_issues",
    "imported_baseline",
    "parse_population",
    "profile",
    "representativeness",
    "scan_pii",
    "shared_rows",
    "suggest_baseline",
    "suggest_constraints",
    "target_leakage",
    "validate",
]

# (the module of ``representativeness`` is private, ``_representativeness``: a submodule of the function's name would
# replace the lazily imported function in the package once imported)
__getattr__, __dir__ = attach(
    __name__,
    {
        "SCHEMA": "assay.checks._common",
        "SCHEMA_VERSION": "assay.checks._common",
        "DataInfo": "assay.checks._common",
        "Sample": "assay.checks._common",
        "DuplicateGroup": "assay.checks.duplicates",
        "Duplicates": "assay.checks.duplicates",
        "find_duplicates": "assay.checks.duplicates",
        "LabelIssue": "assay.checks.labels",
        "LabelIssues": "assay.checks.labels",
        "find_label_issues": "assay.checks.labels",
        "FeatureLeak": "assay.checks.leakage",
        "SharedRows": "assay.checks.leakage",
        "TargetLeakage": "assay.checks.leakage",
        "shared_rows": "assay.checks.leakage",
        "target_leakage": "assay.checks.leakage",
        "CHECK_TYPES": "assay.checks.monitor",
        "DEFAULT_MONITORING_CONFIG": "assay.checks.monitor",
        "Baseline": "assay.checks.monitor",
        "Validation": "assay.checks.monitor",
        "Violation": "assay.checks.monitor",
        "imported_baseline": "assay.checks.monitor",
        "suggest_baseline": "assay.checks.monitor",
        "suggest_constraints": "assay.checks.monitor",
        "validate": "assay.checks.monitor",
        "CATEGORIES": "assay.checks.pii",
        "ColumnPii": "assay.checks.pii",
        "PiiScan": "assay.checks.pii",
        "entities_in_name": "assay.checks.pii",
        "scan_pii": "assay.checks.pii",
        "GroupShare": "assay.checks._representativeness",
        "PopulationTest": "assay.checks._representativeness",
        "Representativeness": "assay.checks._representativeness",
        "parse_population": "assay.checks._representativeness",
        "representativeness": "assay.checks._representativeness",
        "Profile": "assay.checks.statistics",
        "profile": "assay.checks.statistics",
    },
)
