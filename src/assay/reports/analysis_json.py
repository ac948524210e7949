"""Assay's assessment document -> SageMaker Clarify's ``analysis.json`` layout."""

from __future__ import annotations

from typing import Any

__all__ = ["to_analysis_json"]

_STAGES = {"pre_training": "pre_training_bias_metrics", "post_training": "post_training_bias_metrics"}


def to_analysis_json(document: dict[str, Any]) -> dict[str, Any]:
    """The bias sections of Clarify's analysis.json from an ``assay.assessment`` document.

    ``facets`` maps each facet name to a list of ``{value_or_threshold, metrics}``, metrics sorted by name
    as Clarify sorts them; an undefined metric is ``{"value": null, "error": reason}``; ±inf is written
    ``"Infinity"`` / ``"-Infinity"`` (already so in the document).
    """
    out: dict[str, Any] = {}
    for stage, section in _STAGES.items():
        facets: dict[str, list[dict[str, Any]]] = {}
        for entry in document["facets"]:
            metrics = [m for m in entry["metrics"] if m["stage"] == stage]
            if not metrics:
                continue
            rendered = []
            for m in sorted(metrics, key=lambda m: m["name"]):
                item: dict[str, Any] = {
                    "name": m["name"],
                    "description": m["description"],
                    "value": m["value"],
                }
                if m["error"] is not None:
                    item["error"] = m["error"]
                rendered.append(item)
            facets.setdefault(entry["facet"], []).append(
                {"value_or_threshold": entry["value_or_threshold"], "metrics": rendered}
            )
        if facets:
            out[section] = {
                "label": document["label"],
                "label_value_or_threshold": document["label_value_or_threshold"],
                "facets": facets,
            }
    return out
