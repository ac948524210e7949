"""What the first views after a server start share, built when it starts (``assay serve``; docs/web.md, "Speed").

The dashboard, readiness, the systems list and the approvals inbox are built from what is the same for everyone who
may see it: every system's readiness per framework, the approval states' digests, the organisation's readiness and
the dashboard's overview (the shared page cache, :func:`assay.server.web_cache.shared_cache`, and the caches the
services keep from one head of the ledger to the next). Built from nothing, that is 300-500 ms at 50 systems and
2,000 risks, which the first person to open one of those pages after a restart would wait for; after that, a change
makes again only what it touched. :func:`warm` builds them in a background thread started with the server, so the
first views find them (a view that comes while it runs builds what it needs itself, as without it), and again just
after each midnight (UTC and local): readiness depends on the day (evidence expires), so the first view of a new
day would otherwise build everything.

Only what is shared is built here: a person's own parts (their task list, the page filtered to what they may see)
are theirs to build on their first view.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, Final

from assay.server.deps import Authorised
from assay.server.web_cache import app_shared_cache
from assay.services.access import Principal
from assay.services.workspace import Workspace

__all__ = ["WARMER", "Warmer", "seconds_to_next_day", "warm"]

log = logging.getLogger("assay.server")

#: The name the warm-up reads as (it reads only; nothing it does is recorded).
WARMER: Final = "(server start)"


def warm(app: Any) -> float:
    """Build what the first views share (see the module's docstring) into ``app``'s caches; the seconds it took."""
    from assay.server.pages_controls import READINESS_FRAMEWORKS
    from assay.server.pages_systems import shared_listing, shared_overview
    from assay.server.ui import _readiness_documents

    started = time.perf_counter()
    ws: Workspace = app.state.workspace
    auth = Authorised(Principal(WARMER, "admin"), ws, reads_only=True)  # one head for everything built here
    shared = app_shared_cache(app)
    shared_overview(ws, auth, shared)  # the dashboard (the organisation's readiness, approval digests included)
    _readiness_documents(auth, shared, READINESS_FRAMEWORKS)  # the readiness page
    shared_listing(ws, auth, shared)  # the systems list
    return time.perf_counter() - started


def seconds_to_next_day(now: dt.datetime | None = None) -> float:
    """Seconds from ``now`` (aware; default: now) to just after the next midnight, UTC or local, whichever comes
    first (the services' day is UTC's, the page caches' the server's local one)."""
    now = now or dt.datetime.now(dt.UTC)
    utc = now.astimezone(dt.UTC)
    local = now.astimezone()
    next_utc = dt.datetime.combine(utc.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    next_local = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), local.tzinfo)
    return min((next_utc - now).total_seconds(), (next_local - now).total_seconds()) + 1.0


class Warmer:
    """Runs :func:`warm` for ``app`` in a background thread: at once, then just after each midnight, until
    :meth:`stop`. ``first`` is set once the first run has ended (built or failed)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.first = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="assay-warm-up", daemon=True)

    def start(self) -> Warmer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop waiting for the next day; wait for a run under way (it reads the workspace its owner closes next)."""
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                seconds = warm(self.app)
            except Exception:  # the pages build what they need themselves: a failed warm-up costs only time
                log.exception("the pages' shared caches could not be built in advance")
            else:
                log.info("the pages' shared caches were built in advance in %.2f s", seconds)
            self.first.set()
            self._stopping.wait(seconds_to_next_day())
