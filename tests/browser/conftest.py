"""What the browser tests share: Debian's Chromium through Playwright (skipped with the reason outside CI when it
cannot start; failing in CI), one per test (``browser``) or one per module (``module_browser``: a module of many
quick page checks starts it once); the servers they start take a free port from tests.support.serve. The checks
every page gets (axe-core, screenshots, no sideways scroll) are in tests.support.browser."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.env import unavailable

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@contextmanager
def _chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        except Exception as exc:  # the browser cannot start on this machine
            unavailable(f"Chromium cannot start: {str(exc).splitlines()[0][:200]}")
        yield launched
        launched.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with _chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def module_browser() -> Iterator[Any]:
    """One Chromium for the whole module (each test makes its own context or page)."""
    with _chromium() as launched:
        yield launched
