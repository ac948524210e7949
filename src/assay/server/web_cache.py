"""The web kit's caches (docs/web.md, "The kit"): the counts every page's header shows and the pages' contexts, each
keyed by the ledger's head and the day.

The header's counts (open tasks, unread notifications) are cached per person. Every change of governed state
appends a ledger event, so (user, role, memberships, head sequence number, day) identifies a person's task list;
marking notifications read changes no governed state, so the route that does it forgets that person's entries
(:func:`forget`). :func:`assay.server.web.render` fills the header from here, so a page does not pay for the task
queries each time: one query (the ledger's head) on a hit.

:class:`PageCache` keeps a page's context (the dashboard, readiness) by who asks (or nobody, for what is the same
for everyone who may see it) and the ledger's head: every change of governed state appends an audit event, so the
head identifies what a page shows. :func:`page_cache` is the application's per-person cache, :func:`shared_cache`
the one shared by everyone.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request

from assay.server.deps import Authorised
from assay.services.access import Principal
from assay.services.notifications import UNREAD_MAX

__all__ = [
    "HeaderCounts",
    "PageCache",
    "app_shared_cache",
    "counts",
    "forget",
    "page_cache",
    "person_counts",
    "shared_cache",
]

log = logging.getLogger("assay.server")
_SIZE: Final = 2048


class HeaderCounts:
    """(tasks, unread) by (person, roles, ledger head, day); least recently used entries dropped beyond ``size``."""

    def __init__(self, size: int = _SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[int, int]] = OrderedDict()
        # the unread count of each person (and roles) at a ledger head: a newer head adds the events since, so a
        # person concerned by little never walks the whole ledger again (measured: 0.29 s at 100,000 events)
        self._unread: OrderedDict[tuple[Any, ...], tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, ws: Any, who: Principal) -> tuple[int, int]:
        person = (who.name, who.role, tuple(sorted(who.memberships.items())))
        head = ws.audit.head_seq()
        key = (*person, head, dt.date.today())
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            base = self._unread.get(person)
        acting = ws.authenticated_as(who.name)
        if base is not None and base[0] <= head:
            unread = min(UNREAD_MAX + 1, base[1] + acting.notifications.unread(after=base[0], up_to=head))
        else:
            unread = acting.notifications.unread(up_to=head)
        found = (acting.tasks.count(), unread)
        with self._lock:
            self._items[key] = found
            self._unread[person] = (head, unread)
            self._unread.move_to_end(person)
            for items in (self._items, self._unread):
                while len(items) > self.size:
                    items.popitem(last=False)
        return found

    def forget(self, name: str) -> None:
        with self._lock:
            for items in (self._items, self._unread):
                for key in [k for k in items if k[0] == name]:
                    del items[key]


def _header_cache(request: Request) -> HeaderCounts:
    cache: HeaderCounts | None = getattr(request.app.state, "header_counts", None)
    if cache is None:
        cache = request.app.state.header_counts = HeaderCounts()
    return cache


def person_counts(request: Request, who: Principal) -> tuple[int, int]:
    """(open tasks, unread notifications) of ``who``, from the cache."""
    return _header_cache(request).get(request.app.state.workspace, who)


def counts(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    """``user`` (a page's header user) with its ``tasks`` and ``unread`` filled in for the request's principal; as
    given when there is no principal, it names someone else, or counting fails (logged: the page still shows)."""
    who = getattr(request.state, "principal", None)
    ws = getattr(request.app.state, "workspace", None)
    if not isinstance(who, Principal) or ws is None or user.get("name") != who.name:
        return user
    try:
        tasks, unread = _header_cache(request).get(ws, who)
    except Exception:  # the header's counts never take the page down with them
        log.exception("the header's counts for %s could not be computed", who.name)
        return user
    return {**user, "tasks": tasks, "unread": unread}


def forget(request: Request, name: str) -> None:
    """Drop ``name``'s cached counts (after they marked their notifications read)."""
    _header_cache(request).forget(name)


class PageCache:
    """Page contexts cached by who asks and the ledger's head: every change of governed state appends an audit
    event, so (user, role, memberships, head sequence number, day) identifies what a page shows (without the person
    when ``per_person`` is false: what is the same for everyone who may see it; callers filter and must not change
    it). Least recently used entries are dropped beyond ``size``."""

    def __init__(self, size: int = 512, *, per_person: bool = True) -> None:
        self.size = size
        self.per_person = per_person
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, auth: Authorised, page: str, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        who = auth.principal
        head = auth.head()
        person = (who.name, who.role, tuple(sorted(who.memberships.items()))) if self.per_person else ()
        return (page, *person, head, dt.date.today(), *parts)

    def peek(self, auth: Authorised, page: str, *parts: Any) -> dict[str, Any] | None:
        """What :meth:`get` would return without building: the kept context, or None."""
        key = self._key(auth, page, parts)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def get(self, auth: Authorised, page: str, build: Callable[[], dict[str, Any]], *parts: Any) -> dict[str, Any]:
        key = self._key(auth, page, parts)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        context = build()
        with self._lock:
            self._items[key] = context
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return context


_SHARED_LOCK = threading.Lock()


def app_shared_cache(app: Any) -> PageCache:
    """``app``'s cache of what is the same for everyone who may see it (readiness, the dashboard's overview), keyed
    by the ledger's head and the day only (made on first use; the start's warm-up fills it, :mod:`.warm`)."""
    with _SHARED_LOCK:  # the warm-up's thread and the first requests may ask at once: one cache
        cache: PageCache | None = getattr(app.state, "shared_cache", None)
        if cache is None:
            cache = app.state.shared_cache = PageCache(1024, per_person=False)
    return cache


def shared_cache(request: Request) -> PageCache:
    """The request's application's shared cache (:func:`app_shared_cache`)."""
    return app_shared_cache(request.app)


def page_cache(request: Request) -> PageCache:
    """The application's cache of pages by person (the dashboard)."""
    cache: PageCache | None = getattr(request.app.state, "page_cache", None)
    if cache is None:
        cache = request.app.state.page_cache = PageCache()
    return cache
