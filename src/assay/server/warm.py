"""What the first views after a server start share, built when it starts (``assay serve``; docs/web.md, "Speed").

The dashboard, readiness, the systems list and the approvals inbox are built from what is the same for everyone who
may see it: every system's readiness per framework, the approval states' digests, the organisation's readiness and
the dashboard's overview (the shared page cache, :func:`assay.server.web_cache.shared_cache`, and the caches the
services keep from one head of the ledger to the next). Built from nothing, that is 300-500 ms at 50 systems and
2,000 risks, which the first person to open one of those pages after a restart would wait for; after that, a change
makes again only what it touched. :func:`warm` builds them in a background thread started with the server, so the
first views find them (a view that comes while it runs builds what it needs itself, as without it).

Only what is shared is built here: a person's own parts (their task list, the page filtered to what they may see)
are theirs to build on their first view.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final

from assay.server.deps import Authorised
from assay.server.web_cache import app_shared_cache
from assay.services.access import Principal
from assay.services.workspace import Workspace

__all__ = ["WARMER", "start", "warm"]

log = logging.getLogger("assay.server")

#: The name the warm-up reads as (it reads only; nothing it does is recorded).
WARMER: Final = "(server start)"


def warm(app: Any) -> float:
    """Build what the first views share (see the module's docstring) into ``app``'s caches; the seconds it took."""
    from assay.server.pages_controls import READINESS_FRAMEWORKS
    from assay.server.pages_systems import _listed, _overview
    from assay.server.ui import _readiness_documents

    started = time.perf_counter()
    ws: Workspace = app.state.workspace
    auth = Authorised(Principal(WARMER, "admin"), ws, reads_only=True)  # one head for everything built here
    shared = app_shared_cache(app)
    shared.get(auth, "overview", lambda: _overview(ws, auth, shared))  # the dashboard (approval digests included)
    _readiness_documents(auth, shared, READINESS_FRAMEWORKS)  # the readiness page
    shared.get(auth, "aims-readiness", lambda: ws.aims.readiness())
    shared.get(auth, "systems", lambda: _listed(ws, auth, shared))  # the systems list
    return time.perf_counter() - started


def _warm_logged(app: Any) -> None:
    try:
        seconds = warm(app)
    except Exception:  # the pages build what they need themselves: a failed warm-up costs only time
        log.exception("the pages' shared caches could not be built at the start")
    else:
        log.info("the pages' shared caches were built in %.2f s", seconds)


def start(app: Any) -> threading.Thread:
    """Run :func:`warm` for ``app`` in a background thread (joined by the caller before the workspace closes)."""
    thread = threading.Thread(target=_warm_logged, args=(app,), name="assay-warm-up", daemon=True)
    thread.start()
    return thread
