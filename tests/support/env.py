"""Where the checkout is, and how a test tier whose service is missing is reported: skipped with a reason, except
with CI=true, where every tier must run and a missing one fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip outside CI; fail in CI, where every tier must run."""
    if IN_CI:
        pytest.fail(f"tier unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)
