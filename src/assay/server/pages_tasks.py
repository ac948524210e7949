"""The person's own pages: the task list (``/tasks``), notifications (``/notifications``) and search (``/search``),
each with its ``.json`` twin (and the task list's ``.csv``), over ``ws.tasks``, ``ws.notifications`` and
``ws.search`` acting as the logged-in person (see docs/web.md, "Tasks, notifications and search")."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from assay.errors import InvalidInput
from assay.server import web
from assay.server.deps import Auth, page_user
from assay.server.ui import FormAuth
from assay.server.web_cache import forget, person_counts
from assay.services.notifications import COUNT_MAX as NOTIFICATIONS_MAX
from assay.services.notifications import UNREAD_MAX
from assay.services.search import COUNT_MAX, GROUPS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

TASK_KINDS: Final = ("approval", "review", "risk", "evidence", "corrective-action", "nonconformity", "training",
                     "document-review", "objective", "stale-request")  # fmt: skip
TASK_COLUMNS: Final = (
    web.Column("kind", "Kind", choices=TASK_KINDS),
    web.Column("what", "What"),
    web.Column("system", "System"),
    web.Column("due", "Due", kind="date"),
    web.Column("overdue", "Overdue", choices=("True", "False")),
    web.Column("link", "Page", sortable=False),
)
PER_PAGE: Final = 50
GROUP_TITLES: Final = {"systems": "AI systems", "risks": "Risks", "controls": "Controls (catalogues)",
                       "evidence": "Evidence", "models": "Model versions", "datasets": "Dataset versions",
                       "events": "Audit events"}  # fmt: skip


# -- tasks ----------------------------------------------------------------------------------------------------------


def _tasks(request: Request, auth: Auth) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = auth.ws.tasks()
    table = web.table(request, TASK_COLUMNS, rows, searchable=("kind", "what", "system"))
    overdue = sum(1 for r in rows if r["overdue"])
    context = {"page": "tasks", "user": page_user(auth.principal), "total": len(rows), "overdue": overdue}
    return {**context, "table": table}, rows


@router.get("/tasks.json")
def tasks_json(request: Request, auth: Auth) -> Response:
    context, rows = _tasks(request, auth)
    return web.twin({**{k: v for k, v in context.items() if k != "table"}, "tasks": rows})


@router.get("/tasks.csv")
def tasks_csv(request: Request, auth: Auth) -> Response:
    table = web.table(request, TASK_COLUMNS, auth.ws.tasks(), searchable=("kind", "what", "system"), per=100_000)
    return web.csv_response("tasks", TASK_COLUMNS, table.rows)


@router.get("/tasks")
def tasks_page(request: Request, auth: Auth) -> Response:
    context, _ = _tasks(request, auth)
    return web.render(request, "tasks", context)


# -- notifications ----------------------------------------------------------------------------------------------------


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    try:
        return max(1, min(int(raw), 100_000))
    except ValueError:
        raise InvalidInput(f"page must be a whole number, not {raw!r}", fields={"page": "a number"}) from None


def _notifications(request: Request, auth: Auth) -> dict[str, Any]:
    page = _page_number(request)
    unread_only = request.query_params.get("unread") == "1"
    found = auth.ws.notifications.list(limit=PER_PAGE, offset=(page - 1) * PER_PAGE, unread_only=unread_only)
    pages = max(1, -(-found.total // PER_PAGE))
    _, unread = person_counts(request, auth.principal)  # the header's count, kept up to date by the events since

    def link(number: int) -> str:
        query = {k: v for k, v in (("unread", "1" if unread_only else None), ("page", number)) if v and v != 1}
        return "/notifications" + (f"?{urlencode(query)}" if query else "")

    return {
        "page": "notifications",
        "user": page_user(auth.principal),
        "notifications": list(found),
        "total": found.total,
        "total_more": found.total > NOTIFICATIONS_MAX,
        "unread": unread,
        "unread_more": unread > UNREAD_MAX,
        "newest": found[0]["seq"] if found and page == 1 else None,
        "unread_only": unread_only,
        "page_number": page,
        "pages": pages,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
        "email": auth.ws.notifications.address(),
    }


@router.get("/notifications.json")
def notifications_json(request: Request, auth: Auth) -> Response:
    return web.twin(_notifications(request, auth))


@router.get("/notifications")
def notifications_page(request: Request, auth: Auth) -> Response:
    context = _notifications(request, auth)
    return web.render(request, "notifications", {**context, "form": web.empty_form({"email": ""})})


@router.post("/notifications/read")
def notifications_read(
    request: Request, auth: FormAuth, up_to: Annotated[int | None, Form(ge=0)] = None
) -> Response:  # fmt: skip
    """Mark every notification read up to the newest the page showed (``up_to``; those arriving meanwhile stay
    unread), else up to the ledger's head."""
    auth.ws.notifications.mark_read(up_to)
    forget(request, auth.principal.name)
    return web.done(request, "/notifications", "All notifications marked read.")


@router.post("/notifications/email")
def notifications_email(
    request: Request, auth: FormAuth, email: Annotated[str, Form(max_length=400)] = ""
) -> Response:  # fmt: skip
    """The person's own address for e-mailed notifications (empty: none of their own)."""
    try:
        kept = auth.ws.notifications.set_address(email)
    except InvalidInput as exc:
        context = _notifications(request, auth)
        return web.failed(request, "notifications", context, exc, {"email": email})
    message = f"Notifications will be e-mailed to {kept}." if kept else "Your own e-mail address was removed."
    if not auth.ws.notifications.address()["enabled"]:
        message += " (E-mail is not configured on this server yet.)"
    return web.done(request, "/notifications", message)


# -- search -----------------------------------------------------------------------------------------------------------


def _more(group: str, q: str) -> str | None:
    """The filtered table that lists a group's every match, where one exists."""
    return {
        "systems": "/systems?" + urlencode({"q": q}),
        "risks": "/risks?" + urlencode({"q": q}),
        "events": "/audit?" + urlencode({"actor": q}),
    }.get(group)


def _search(request: Request, auth: Auth) -> dict[str, Any]:
    q = request.query_params.get("q", "")
    if len(q) > 200:
        raise InvalidInput(f"q: at most 200 characters, not {len(q)}", fields={"q": "too long"})
    found = auth.ws.search(q)
    groups = [
        {
            "name": name,
            "title": GROUP_TITLES[name],
            "items": found["groups"][name]["items"],
            "total": found["groups"][name]["total"],
            "more": _more(name, found["q"]) if found["groups"][name]["total"] > len(found["groups"][name]["items"])
            else None,
        }
        for name in GROUPS
        if name in found["groups"]
    ]  # fmt: skip
    return {
        "page": "search",
        "user": page_user(auth.principal),
        "q": found["q"],
        "groups": groups,
        "found": sum(g["total"] for g in groups),
        "count_max": COUNT_MAX,
    }


@router.get("/search.json")
def search_json(request: Request, auth: Auth) -> Response:
    return web.twin(_search(request, auth))


@router.get("/search")
def search_page(request: Request, auth: Auth) -> Response:
    return web.render(request, "search", _search(request, auth))
