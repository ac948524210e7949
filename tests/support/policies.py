"""Gate policies for tests."""

from __future__ import annotations

#: A production policy asking for a recent assessment and two approvals of a high-risk system; ``on_change`` (hold,
#: demote) is filled with ``LENIENT.format(on_change=...)``.
LENIENT = """
schema: assay.policy/1
name: lenient-{on_change}
stage: production
on_change: {on_change}
approvals: {{high: 2}}
rules:
  - {{id: assessed, assessment: assay.assessment, max_age_days: 30}}
"""
