"""The web application's kit, used by every page module: one way to render a page in the layout, to tell the
person what an action did, to show a form's errors next to its fields (keeping what was typed), to ask for a
confirmation before an irreversible action, and to sort, filter, page and export a table.

The interaction model (docs/web.md): server-rendered pages; htmx (served by Assay from ``/static/vendor``) boosts
links and forms into partial page swaps, and a page works the same without it. A form posts to its page's path;
on success the route answers :func:`done` (a redirect with a message shown once on the next page), on a refusal
:func:`failed` (the same page again, status 422, the values kept and each error next to its field).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from assay.errors import AssayError, Conflict, InvalidInput, NotFound, PermissionDenied
from assay.reports._jinja import template
from assay.server.format import FILTERS
from assay.server.web_cache import counts as header_counts

__all__ = [
    "CONFIRM_FIELD",
    "FLASH_COOKIE",
    "Column",
    "Table",
    "TableQuery",
    "csv_response",
    "done",
    "failed",
    "field_errors",
    "render",
    "render_error",
    "require_confirmation",
    "table",
    "table_query",
]

FLASH_COOKIE: Final = "assay_flash"
CONFIRM_FIELD: Final = "confirm"
_FLASH_MAX: Final = 300
# what an export writes at most (a bound on the work of one request; the API pages through more)
CSV_MAX_ROWS: Final = 100_000


def _flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw).partition(":")
    if kind not in ("ok", "warn") or not text:
        return None
    return {"kind": kind, "text": text[:_FLASH_MAX]}  # shown escaped: the cookie is the person's own


def render(request: Request, name: str, context: Mapping[str, Any], *, status: int = 200) -> Response:
    """The page ``ui/{name}.html.j2`` in the layout, with the session's CSRF token and the message an action left
    (shown once). A request from htmx for a fragment (``HX-Target`` of a block the template names) still gets the
    whole page: htmx picks the part it swaps (``hx-select``), so every URL is a page a person can bookmark."""
    notice = _flash(request)
    csrf = getattr(request.state, "csrf", "")
    user = context.get("user")
    if isinstance(user, Mapping) and user.get("name") and getattr(request.state, "principal", None) is not None:
        context = {**context, "user": header_counts(request, dict(user))}  # cached per person, ledger head, day
    page = template(f"ui/{name}.html.j2", **FILTERS)
    body = page.render({**context, "csrf": csrf, "notice": notice, "request_path": _path(request)})
    response = HTMLResponse(body, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    if notice is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def done(request: Request, path: str, message: str, *, kind: Literal["ok", "warn"] = "ok") -> Response:
    """After an action: go to ``path`` (this server's own path only), where ``message`` is shown once."""
    target = path if path.startswith("/") and not path.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    secure = bool(getattr(request.app.state, "secure_cookies", True))
    response.set_cookie(
        FLASH_COOKIE, quote(f"{kind}:{message[:_FLASH_MAX]}"), max_age=60, path="/", httponly=True,
        samesite="lax", secure=secure,
    )  # fmt: skip
    return response


def field_errors(exc: AssayError) -> dict[str, str]:
    """The fields an error names (``InvalidInput.fields``), else none: the message goes above the form."""
    fields = getattr(exc, "fields", None)
    return dict(fields) if isinstance(fields, Mapping) else {}


_STATUS: Final = ((NotFound, 404), (PermissionDenied, 403), (Conflict, 409), (InvalidInput, 422))


def status_of(exc: AssayError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def failed(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    exc: AssayError,
    values: Mapping[str, Any],
    *,
    form: str = "form",
) -> Response:
    """The page again after a refused form: what was typed kept, each error next to its field, the rest above the
    form (``context[form]``: ``values``, ``errors``, ``message``); status 422 (or 403/404/409 by the error)."""
    errors = field_errors(exc)
    state = {"values": dict(values), "errors": errors, "message": str(exc)}
    return render(request, name, {**context, form: state}, status=status_of(exc))


def empty_form(values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A form shown for the first time: its defaults, no errors."""
    return {"values": dict(values or {}), "errors": {}, "message": None}


def require_confirmation(confirm: str | None, what: str) -> None:
    """Refuse an irreversible action unless the form's confirmation box was ticked."""
    if (confirm or "").strip().lower() not in ("yes", "on", "true", "1"):
        raise InvalidInput(
            f"{what} cannot be undone: tick the box to confirm", fields={CONFIRM_FIELD: "tick to confirm"}
        )


def render_error(request: Request, exc: AssayError | None, status: int, message: str) -> Response:
    """An error as a page in the layout (a person's browser), never raw JSON."""
    titles = {401: "Log in", 403: "Not allowed", 404: "Not found", 405: "Not allowed here", 409: "Conflict",
              413: "Too large", 422: "Cannot do that", 429: "Too many requests", 500: "Something failed"}  # fmt: skip
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path if referer.netloc == request.url.netloc and referer.path.startswith("/") else None
    context = {
        "user": getattr(request.state, "page_user", None),
        "status": status,
        "title": titles.get(status, "Error"),
        "message": message,
        "back": back if back != request.url.path else None,
    }
    return render(request, "error", context, status=status)


def is_page_path(path: str) -> bool:
    """Whether ``path`` is a page a person's browser shows: not the API, a page's ``.json`` or ``.csv`` twin, a
    static file or the metrics (a machine's URLs: their errors, a missing session too, are the JSON error body)."""
    return not (path.startswith(("/api/", "/static/")) or path == "/metrics" or path.endswith((".json", ".csv")))


def wants_page(request: Request) -> bool:
    """Whether a person's browser asked (a page's path, not the API, a ``.json`` twin or the metrics)."""
    if not is_page_path(request.url.path):
        return False
    return "text/html" in request.headers.get("accept", "") or request.headers.get("hx-request") == "true"


# -- tables: sort, filter, search, page, export ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a table: the row's ``key``, its heading, whether it sorts and how it is shown (``kind``:
    text, number, date, level, verdict) and, for a filter, the values to choose from."""

    key: str
    label: str
    sortable: bool = True
    kind: str = "text"
    choices: Sequence[str] | None = None


@dataclass
class Table:
    """One page of a table and the state of its controls, for the ``table`` macro and the CSV twin.

    ``prefix`` names the table's query parameters when a page shows several tables: ``?risks.sort=level&risks.page=2``
    (empty: ``?sort=level&page=2``, the URLs of a page with one table). ``keep`` holds the other tables' parameters of
    the request (a key with a dot that is not this table's), which this table's links and search form carry along, so
    sorting one table keeps the other's order, filter and page."""

    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    total: int
    q: str = ""
    sort: str | None = None
    desc: bool = False
    page: int = 1
    per: int = 50
    filters: dict[str, str] = field(default_factory=dict)
    path: str = ""
    prefix: str = ""
    keep: tuple[tuple[str, str], ...] = ()

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per))

    def key(self, name: str) -> str:
        """The query parameter of this table's ``name`` (q, sort, desc, page or a filter's column key)."""
        return param_key(self.prefix, name)

    def link(self, **changes: Any) -> str:
        """This table's URL with ``changes`` (sort, desc, page, q, a filter by its column key)."""
        state: dict[str, Any] = {"q": self.q, "sort": self.sort, "desc": "1" if self.desc else None,
                                 "page": self.page if self.page > 1 else None, **self.filters}  # fmt: skip
        state.update(changes)
        if "page" not in changes and any(k != "page" for k in changes):
            state["page"] = None  # a new sort or filter starts on the first page
        own = [(self.key(k), v) for k, v in state.items() if v not in (None, "", False)]
        query = urlencode([*own, *self.keep])
        return self.path + (f"?{query}" if query else "")

    def sort_link(self, key: str) -> str:
        return self.link(sort=key, desc="1" if self.sort == key and not self.desc else None)

    def csv_link(self) -> str:
        base, _, query = self.link(page=None).partition("?")
        return f"{base}.csv" + (f"?{query}" if query else "")


def param_key(prefix: str, name: str) -> str:
    """A table's query parameter: ``name``, or ``prefix.name`` for a table with a prefix."""
    return f"{prefix}.{name}" if prefix else name


@dataclass(frozen=True)
class TableQuery:
    """What a table's controls asked for, read from the query string (bounded), with the table's ``prefix`` and the
    other tables' parameters to keep (see :class:`Table`)."""

    q: str
    sort: str | None
    desc: bool
    page: int
    per: int
    filters: dict[str, str]
    prefix: str = ""
    keep: tuple[tuple[str, str], ...] = ()

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per

    def table(self, columns: Sequence[Column], rows: list[dict[str, Any]], total: int, path: str) -> Table:
        """The :class:`Table` of one page of rows cut elsewhere (in the database), in this query's state."""
        return Table(columns, rows, total, self.q, self.sort, self.desc, self.page, self.per, self.filters, path,
                     self.prefix, self.keep)  # fmt: skip


_PREFIX = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def table_query(
    request: Request, columns: Sequence[Column], *, per: int = 50, prefix: str = "", carry: Sequence[str] = ()
) -> TableQuery:
    """The state a table's controls asked for; ``prefix``: the table's name in the query (``risks`` reads
    ``risks.sort``, ``risks.page``, ...), for a page with several tables; ``carry``: the page's own query parameters
    that the table's links and search keep (the controls page's ``framework``)."""
    if prefix and not _PREFIX.match(prefix):
        raise ValueError(f"a table's prefix is a short lower-case name, not {prefix!r}")
    params = request.query_params

    def get(name: str, default: str = "") -> str:
        return params.get(param_key(prefix, name), default)

    keys = {c.key for c in columns if c.sortable}
    sort = get("sort") or None
    try:
        page = max(1, min(int(get("page", "1")), 1_000_000))
    except ValueError:
        wrong, name = get("page"), param_key(prefix, "page")
        raise InvalidInput(f"{name} must be a whole number, not {wrong!r}", fields={name: "a number"}) from None
    filters = {c.key: get(c.key)[:200] for c in columns if c.choices is not None and get(c.key)}
    keep = tuple(
        (k, v[:200]) for k, v in params.multi_items()
        if ("." in k and k.partition(".")[0] != prefix) or (k in carry and "." not in k)
    )[:50]  # fmt: skip
    return TableQuery(
        q=get("q")[:200].strip(),
        sort=sort if sort in keys else None,
        desc=get("desc") == "1",
        page=page,
        per=per,
        filters=filters,
        prefix=prefix,
        keep=keep,
    )


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (1, "")  # empty last, whichever direction
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (0, str(value).lower())


def table(
    request: Request,
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    *,
    default_sort: str | None = None,
    default_desc: bool = False,
    per: int = 50,
    searchable: Sequence[str] | None = None,
    prefix: str = "",
    carry: Sequence[str] = (),
) -> Table:
    """A table of rows computed in memory (a few thousand at most: control statuses, a system's risks): sorted,
    filtered, searched and cut into a page here. A table over a large stored set (the audit ledger) is cut in the
    database instead: build its :class:`Table` from the service's :class:`~assay.services._base.Listing` (with
    :meth:`TableQuery.table`). ``prefix``: the table's name in the query when a page shows several tables (its CSV
    twin reads the same parameters with the same prefix); ``carry``: the page's parameters its links keep."""
    asked = table_query(request, columns, per=per, prefix=prefix, carry=carry)
    keys = list(searchable) if searchable is not None else [c.key for c in columns]
    needle = asked.q.lower()
    kept = [
        r
        for r in rows
        if all(str(r.get(k, "")) == v for k, v in asked.filters.items())
        and (not needle or any(needle in str(r.get(k, "")).lower() for k in keys))
    ]
    sort = asked.sort or default_sort
    desc = asked.desc if asked.sort else default_desc
    if sort is not None:
        present = [r for r in kept if r.get(sort) not in (None, "")]
        missing = [r for r in kept if r.get(sort) in (None, "")]
        present.sort(key=lambda r: _sort_key(r.get(sort)), reverse=desc)
        kept = present + missing
    page = [dict(r) for r in kept[asked.offset : asked.offset + asked.per]]  # copies of the rows shown only
    return asked.table(columns, page, len(kept), request.url.path)


def all_rows(table_: Table, fetch: Callable[[int, int], Sequence[Mapping[str, Any]]]) -> Iterator[Mapping[str, Any]]:
    """Every row of a table cut in the database, fetched a page at a time (for its CSV twin), at most
    :data:`CSV_MAX_ROWS`."""
    offset, size = 0, 1000
    while offset < CSV_MAX_ROWS:
        chunk = fetch(offset, size)
        yield from chunk
        if len(chunk) < size:
            return
        offset += size


_UNSAFE_START = re.compile(r"^[=+\-@\t\r]")


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading ``=``, ``+``, ``-``, ``@`` is escaped with a quote
    (OWASP's CSV injection advice) unless the cell is a number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = value if isinstance(value, str) else str(value)
    return "'" + text if _UNSAFE_START.match(text) else text


def csv_response(filename: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> Response:
    """``rows`` as a CSV download (full precision), streamed, at most :data:`CSV_MAX_ROWS` rows."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([c.key for c in columns])
        for n, row in enumerate(rows):
            if n >= CSV_MAX_ROWS:
                break
            writer.writerow([_cell(row.get(c.key)) for c in columns])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "table"
    return StreamingResponse(
        lines(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )  # fmt: skip


def twin(context: Mapping[str, Any]) -> Response:
    """A page's ``.json`` twin: the same context, full precision."""
    return JSONResponse(context)
