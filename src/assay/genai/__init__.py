"""Generative AI: guardrails (a policy of checks on prompts and responses, :mod:`assay.genai.guard`), the pure parts
of the guarding proxy, and the evaluation harness.

``genai/`` sits between ``services/`` and the siblings: the guardrail combines the offline PII recognisers of
``checks/`` and the YAML validation of ``governance/`` with checks of its own. It never touches the store;
``services.guard`` versions policies and records decisions.
"""

from __future__ import annotations

__all__: list[str] = []
