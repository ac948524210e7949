"""Rendering only: assessment documents (plain dicts) to Clarify's analysis.json, HTML and text."""

from assay.reports.analysis_json import to_analysis_json

__all__ = ["to_analysis_json"]
