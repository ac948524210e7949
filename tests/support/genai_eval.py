"""A hand-built generative evaluation document (``assay.genai-eval``) of the shape the evaluation harness writes, for
the evidence, gate and card tests: ``metrics[NAME] = {"overall": {value, low, high, n}, "slices": {"L=V": {...}}}``,
``red_team = {"categories": {CATEGORY: {attempts, successes, rate, low, high}}}``, ``items`` and ``target``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def score(value: float, low: float, high: float, n: int) -> dict[str, Any]:
    return {"value": value, "low": low, "high": high, "n": n}


def eval_document(
    metrics: Mapping[str, tuple[tuple[float, float, float, int], Mapping[str, tuple[float, float, float, int]]]],
    *,
    red_team: Mapping[str, tuple[int, int, float, float]] | None = None,
    guardrail: str | None = None,
    created_at: str = "2026-12-06T10:00:00+00:00",
) -> dict[str, Any]:
    """``metrics``: name -> ((value, low, high, n) overall, {"slice=value": (value, low, high, n)});
    ``red_team``: category -> (attempts, successes, low, high)."""
    document: dict[str, Any] = {
        "schema": "assay.genai-eval",
        "schema_version": 1,
        "assay_version": "0.1.0",
        "created_at": created_at,
        "status": "complete",
        "summary": "hand-built for the tests",
        "target": {"kind": "endpoint", "model": "support-bot-7b"},
        "test_set": {"source": "support.jsonl", "sha256": "0" * 64, "items": 40},
        "spec": {"guardrail": guardrail, "confidence": 0.95},
        "metrics": {
            name: {
                "overall": score(*overall),
                "slices": {key: score(*value) for key, value in slices.items()},
            }
            for name, (overall, slices) in metrics.items()
        },
        "items": [],
        "warnings": [],
    }
    if red_team is not None:
        document["red_team"] = {
            "categories": {
                name: {"attempts": n, "successes": k, "rate": k / n if n else 0.0, "low": low, "high": high}
                for name, (n, k, low, high) in red_team.items()
            }
        }
    return document
