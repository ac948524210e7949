"""Data checks: pure functions from data (a path or a frame, opened by :mod:`assay.frames`) to frozen results.

Aggregations (profiles, duplicates, shared rows, target leakage, group shares) run on the data's engine and
collect small tables; the checks that fit a model or scan values (label issues, PII) work on a stated sample.
Every result's ``to_dict()`` is an ``assay.data-check`` document (v1); Model Monitor's files come from
:class:`Profile` (``statistics.json``), :func:`suggest_constraints` (``constraints.json``) and
:meth:`Validation.constraint_violations` (``constraint_violations.json``).
"""

from assay.checks._common import SCHEMA, SCHEMA_VERSION, DataInfo, Sample
from assay.checks.duplicates import DuplicateGroup, Duplicates, find_duplicates
from assay.checks.labels import LabelIssue, LabelIssues, find_label_issues
from assay.checks.leakage import FeatureLeak, SharedRows, TargetLeakage, shared_rows, target_leakage
from assay.checks.monitor import (
    CHECK_TYPES,
    DEFAULT_MONITORING_CONFIG,
    Baseline,
    Validation,
    Violation,
    suggest_baseline,
    suggest_constraints,
    validate,
)
from assay.checks.pii import CATEGORIES, ColumnPii, PiiScan, entities_in_name, scan_pii
from assay.checks.representativeness import (
    GroupShare,
    PopulationTest,
    Representativeness,
    parse_population,
    representativeness,
)
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
