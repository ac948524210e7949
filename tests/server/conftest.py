"""Fixtures the server's page tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.services.workspace import Workspace
from tests.support.server import Served, serving


@pytest.fixture
def served(workspace: Workspace) -> Iterator[Served]:
    """The app served over ``workspace`` with its people (``serving``); a module needing more defines its own."""
    with serving(workspace) as server:
        yield server
