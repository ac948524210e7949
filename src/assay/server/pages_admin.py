"""The administration pages (users, global roles, memberships, API tokens), a person's own account (their tokens,
their password) and the audit ledger's page (filtered and paged in the database, verified, exported).

Every page calls the same services as the REST API's user, role, token and audit routes, under the same entries
of the permission table (``admin``, ``account``, ``audit``), so a page may do exactly what the API allows and every
change is an audit event by the person who made it (docs/web.md, "Administration and the audit ledger").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from assay.errors import AssayError, Conflict, InvalidInput
from assay.server import web
from assay.server.deps import Auth, Authorised, page_user
from assay.server.ui import FormAuth
from assay.services.access import GLOBAL_ROLES, SYSTEM_ROLES, TOKEN_SCOPES
from assay.store.audit import EventFilter
from assay.store.ledger import Event
from assay.store.models import ApiToken, utcnow

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ROLE_WORDS: Final = {
    "admin": "administrator",
    "auditor": "auditor (reads everything)",
    "member": "member (by their roles on systems)",
}
SCOPE_WORDS: Final = {
    "read": "read: reads only",
    "write": "write: does what you may do",
    "ingest": "ingest: sends captured records and labels only",
    "feedback": "feedback: submits end users' feedback only",
}
TOKEN_DAYS: Final = 90
SIGN_INS: Final = ("session.start", "session.end")
AUDIT_PER_PAGE: Final = 50
AUDIT_COUNT_PAGES: Final = 10  # the ledger page counts the events its filters select up to this many pages ahead
_CUT: Final = 80  # a payload value longer than this is cut on the page (full in the JSON twin and the CSV)
_PAYLOAD_KEYS: Final = 8  # at most this many payload entries on the page


def _text(value: str, limit: int, field: str, what: str) -> str:
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput(f"{what} has at most {limit} characters", fields={field: f"at most {limit} characters"})
    return text


def _fail(request: Request, name: str, context: Mapping[str, Any], exc: AssayError, values: Mapping[str, Any],
          *, form: str = "form", field: str | None = None) -> Response:  # fmt: skip
    """``web.failed``, naming ``field`` for a refusal the service raised without one (a name already taken)."""
    if field is not None and not web.field_errors(exc):
        exc.fields = {field: str(exc).split(":")[0]}  # type: ignore[attr-defined]
    return web.failed(request, name, context, exc, values, form=form)


# -- the hub ------------------------------------------------------------------------------------------------------


def _token_state(token: ApiToken, now: dt.datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def _hub(auth: Authorised) -> dict[str, Any]:
    users = auth.ws.access.users()
    tokens = auth.ws.access.all_tokens()
    now = utcnow()
    states = [_token_state(token, now) for token, _ in tokens]
    return {
        "page": "admin",
        "user": page_user(auth.principal),
        "counts": {
            "users": len(users),
            "active_users": sum(1 for u in users if u.active),
            "admins": sum(1 for u in users if u.active and u.role == "admin"),
            "auditors": sum(1 for u in users if u.active and u.role == "auditor"),
            "tokens": len(tokens),
            "active_tokens": states.count("active"),
            "systems": len(auth.ws.systems.list()),
            "events": auth.ws.audit.head_seq(),
        },
    }


@router.get("/admin.json")
def admin_json(auth: Auth) -> Response:
    return web.twin(_hub(auth))


@router.get("/admin")
def admin_page(request: Request, auth: Auth) -> Response:
    return web.render(request, "admin", _hub(auth))


# -- users ----------------------------------------------------------------------------------------------------------

USER_COLUMNS: Final = (
    web.Column("name", "Name"),
    web.Column("role", "Global role", choices=GLOBAL_ROLES),
    web.Column("state", "State", choices=("active", "inactive")),
    web.Column("created_at", "Created", kind="date"),
    web.Column("last_login", "Last login", kind="date"),
)


def _user_rows(auth: Authorised) -> list[dict[str, Any]]:
    logins = auth.ws.access.last_logins()
    return [
        {
            "name": u.name,
            "role": u.role,
            "role_words": ROLE_WORDS.get(u.role, u.role),
            "active": u.active,
            "state": "active" if u.active else "inactive",
            "created_at": u.created_at.isoformat(),
            "last_login": logins[u.name].isoformat() if u.name in logins else None,
        }
        for u in auth.ws.access.users()
    ]


def _users(request: Request, auth: Authorised, *, per: int = 50) -> dict[str, Any]:
    table = web.table(request, USER_COLUMNS, _user_rows(auth), default_sort="name", per=per)
    return {
        "page": "admin_users",
        "user": page_user(auth.principal),
        "users": table.rows,
        "total": table.total,
        "table": table,
        "roles": [(r, ROLE_WORDS[r]) for r in GLOBAL_ROLES],
        "form": web.empty_form({"role": "member"}),
    }


@router.get("/admin/users.json")
def users_json(request: Request, auth: Auth) -> Response:
    context = _users(request, auth)
    return web.twin({k: v for k, v in context.items() if k not in ("table", "form")})


@router.get("/admin/users.csv")
def users_csv(request: Request, auth: Auth) -> Response:
    table = web.table(request, USER_COLUMNS, _user_rows(auth), default_sort="name", per=web.CSV_MAX_ROWS)
    return web.csv_response("users", USER_COLUMNS, table.rows)


@router.get("/admin/users")
def users_page(request: Request, auth: Auth) -> Response:
    return web.render(request, "admin_users", _users(request, auth))


@router.post("/admin/users")
def user_create(
    request: Request,
    auth: FormAuth,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=50)] = "member",
) -> Response:
    """Add a user with a password (the service's rules: a valid name, at least 12 characters, a known role)."""
    values = {"name": name, "role": role}  # never the password
    try:
        if not name.strip():
            raise InvalidInput("a user needs a name", fields={"name": "required"})
        auth.ws.access.add_user(name.strip(), password, role=role)
    except Conflict as exc:
        return _fail(request, "admin_users", _users(request, auth), exc, values, field="name")
    except AssayError as exc:
        return _fail(request, "admin_users", _users(request, auth), exc, values)
    return web.done(request, f"/admin/users/{name.strip()}", f"User {name.strip()} created ({role}).")


def _tokens_of(auth: Authorised, name: str) -> list[dict[str, Any]]:
    now = utcnow()
    return [_token_row(token, name, now) for token in sorted(auth.ws.access.tokens(name), key=lambda t: -t.id)]


def _token_row(token: ApiToken, owner: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": token.id,
        "owner": owner,
        "name": token.name,
        "scope": token.scope,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "last_used_at": None if token.last_used_at is None else token.last_used_at.isoformat(),
        "state": _token_state(token, now),
    }


def _user(auth: Authorised, name: str) -> dict[str, Any]:
    row = next((r for r in _user_rows(auth) if r["name"] == name), None)
    if row is None:
        from assay.errors import NotFound

        raise NotFound(f"no user named {name!r}")
    memberships = auth.ws.access.memberships(name)
    return {
        "page": "admin_user",
        "user": page_user(auth.principal),
        "person": row,
        "memberships": [{"system": s, "role": r} for s, r in sorted(memberships.items())],
        "tokens": _tokens_of(auth, name),
        "systems": (systems := sorted(s.name for s in auth.ws.systems.list())),
        "system_options": [(s, s) for s in systems],
        "roles": [(r, ROLE_WORDS[r]) for r in GLOBAL_ROLES],
        "system_roles": list(SYSTEM_ROLES),
        "scopes": [(s, SCOPE_WORDS[s]) for s in TOKEN_SCOPES],
        "role_form": web.empty_form({"role": row["role"]}),
        "deactivate_form": web.empty_form(),
        "grant_form": web.empty_form({"role": "viewer"}),
        "revoke_form": web.empty_form(),
        "token_form": web.empty_form({"scope": "read", "days": TOKEN_DAYS}),
        "token_revoke_form": web.empty_form(),
    }


_USER_FORMS: Final = ("system_options", "role_form", "deactivate_form", "grant_form", "revoke_form", "token_form",
                      "token_revoke_form")  # fmt: skip


@router.get("/admin/users/{user}.json")
def user_json(auth: Auth, user: str) -> Response:
    return web.twin({k: v for k, v in _user(auth, user).items() if k not in _USER_FORMS})


@router.get("/admin/users/{user}")
def user_page(request: Request, auth: Auth, user: str) -> Response:
    return web.render(request, "admin_user", _user(auth, user))


@router.post("/admin/users/{user}/role")
def user_role(request: Request, auth: FormAuth, user: str, role: Annotated[str, Form(max_length=50)] = "") -> Response:
    try:
        auth.ws.access.set_role(user, role)
    except Conflict as exc:  # the last admin
        return _fail(request, "admin_user", _user(auth, user), exc, {"role": role}, form="role_form", field="role")
    except AssayError as exc:
        return _fail(request, "admin_user", _user(auth, user), exc, {"role": role}, form="role_form")
    return web.done(request, f"/admin/users/{user}", f"{user} is now {ROLE_WORDS.get(role, role)}.")


@router.post("/admin/users/{user}/deactivate")
def user_deactivate(
    request: Request, auth: FormAuth, user: str, confirm: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    """Stop a user from logging in or using tokens (their history stays); the last admin cannot be."""
    try:
        web.require_confirmation(confirm, f"deactivating {user}")
        auth.ws.access.deactivate(user)
    except AssayError as exc:
        return _fail(request, "admin_user", _user(auth, user), exc, {}, form="deactivate_form", field="confirm")
    return web.done(request, f"/admin/users/{user}", f"{user} is deactivated: they can no longer log in.")


@router.post("/admin/users/{user}/memberships")
def membership_grant(
    request: Request,
    auth: FormAuth,
    user: str,
    system: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    values = {"system": system, "role": role}
    try:
        if not system:
            raise InvalidInput("choose a system", fields={"system": "choose a system"})
        auth.ws.access.grant(user, system, role)
    except AssayError as exc:
        return _fail(request, "admin_user", _user(auth, user), exc, values, form="grant_form", field="system")
    return web.done(request, f"/admin/users/{user}", f"{user} is now {role} on {system}.")


@router.post("/admin/users/{user}/memberships/{system}/revoke")
def membership_revoke(
    request: Request, auth: FormAuth, user: str, system: str, confirm: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    try:
        web.require_confirmation(confirm, f"taking {user}'s role on {system}")
        auth.ws.access.revoke(user, system)
    except AssayError as exc:
        return _fail(request, "admin_user", _user(auth, user), exc, {"system": system}, form="revoke_form")
    return web.done(request, f"/admin/users/{user}", f"{user} no longer has a role on {system}.")


def _token_fields(name: str, scope: str, days: str) -> tuple[str, str, int]:
    label = _text(name, 100, "name", "a token's name")
    if not label:
        raise InvalidInput("a token needs a name (what it is for)", fields={"name": "required"})
    try:
        lifetime = int(days.strip())
    except ValueError:
        raise InvalidInput(f"a token lives 1 to 366 days, not {days!r}", fields={"days": "1 to 366 days"}) from None
    return label, scope, lifetime


def _token_created(request: Request, auth: Authorised, secret: str, token: ApiToken, owner: str, back: str) -> Response:
    context = {
        "page": "token_created",
        "user": page_user(auth.principal),
        "secret": secret,
        "token": _token_row(token, owner, utcnow()),
        "back": back,
    }
    return web.render(request, "token_created", context, status=201)


@router.post("/admin/users/{user}/tokens")
def user_token_create(
    request: Request,
    auth: FormAuth,
    user: str,
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=20)] = "read",
    days: Annotated[str, Form(max_length=10)] = str(TOKEN_DAYS),
) -> Response:
    """A token for ``user``, made by an admin; its secret is shown once, on the page this answers."""
    values = {"name": name, "scope": scope, "days": days}
    try:
        label, scope, lifetime = _token_fields(name, scope, days)
        secret, token = auth.ws.access.create_token(user, label, scope=scope, days=lifetime)
    except AssayError as exc:
        return _fail(request, "admin_user", _user(auth, user), exc, values, form="token_form")
    return _token_created(request, auth, secret, token, user, f"/admin/users/{user}")


@router.post("/admin/tokens/{token_id}/revoke")
def admin_token_revoke(
    request: Request,
    auth: FormAuth,
    token_id: int,
    confirm: Annotated[str, Form(max_length=10)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Revoke anyone's token (back to its owner's page, else the list of tokens)."""
    back = f"/admin/users/{owner}" if owner else "/admin/tokens"
    try:
        web.require_confirmation(confirm, f"revoking API token {token_id}")
        auth.ws.access.revoke_token(token_id)
    except AssayError as exc:
        if owner:
            context = _user(auth, owner)
            return _fail(request, "admin_user", context, exc, {"id": token_id}, form="token_revoke_form")
        return _fail(request, "admin_tokens", _tokens(request, auth), exc, {"id": token_id}, form="revoke_form")
    return web.done(request, back, f"API token {token_id} is revoked.")


# -- every token ------------------------------------------------------------------------------------------------------

TOKEN_COLUMNS: Final = (
    web.Column("owner", "Owner"),
    web.Column("name", "Name"),
    web.Column("scope", "Scope", choices=TOKEN_SCOPES),
    web.Column("created_at", "Created", kind="date"),
    web.Column("expires_at", "Expires", kind="date"),
    web.Column("last_used_at", "Last used", kind="date"),
    web.Column("state", "State", choices=("active", "expired", "revoked")),
)


def _all_tokens(auth: Authorised) -> list[dict[str, Any]]:
    now = utcnow()
    return [_token_row(token, owner, now) for token, owner in auth.ws.access.all_tokens()]


def _tokens(request: Request, auth: Authorised) -> dict[str, Any]:
    table = web.table(request, TOKEN_COLUMNS, _all_tokens(auth), default_sort="created_at", default_desc=True)
    return {
        "page": "admin_tokens",
        "user": page_user(auth.principal),
        "tokens": table.rows,
        "total": table.total,
        "table": table,
        "revoke_form": web.empty_form(),
    }


@router.get("/admin/tokens.json")
def tokens_json(request: Request, auth: Auth) -> Response:
    return web.twin({k: v for k, v in _tokens(request, auth).items() if k not in ("table", "revoke_form")})


@router.get("/admin/tokens.csv")
def tokens_csv(request: Request, auth: Auth) -> Response:
    rows = _all_tokens(auth)
    table = web.table(request, TOKEN_COLUMNS, rows, default_sort="created_at", default_desc=True, per=web.CSV_MAX_ROWS)
    return web.csv_response("api-tokens", (web.Column("id", "Id"), *TOKEN_COLUMNS), table.rows)


@router.get("/admin/tokens")
def tokens_page(request: Request, auth: Auth) -> Response:
    return web.render(request, "admin_tokens", _tokens(request, auth))


# -- one's own account ----------------------------------------------------------------------------------------------


def _account(auth: Authorised) -> dict[str, Any]:
    me = auth.principal
    return {
        "page": "account",
        "user": page_user(me),
        "role": me.role,
        "role_words": ROLE_WORDS.get(me.role, me.role),
        "memberships": [{"system": s, "role": r} for s, r in sorted(me.memberships.items())],
        "tokens": _tokens_of(auth, me.name),
        "scopes": [(s, SCOPE_WORDS[s]) for s in TOKEN_SCOPES],
        "token_form": web.empty_form({"scope": "read", "days": TOKEN_DAYS}),
        "token_revoke_form": web.empty_form(),
        "password_form": web.empty_form(),
    }


@router.get("/account.json")
def account_json(auth: Auth) -> Response:
    context = _account(auth)
    return web.twin({k: v for k, v in context.items() if not k.endswith("_form")})


@router.get("/account")
def account_page(request: Request, auth: Auth) -> Response:
    return web.render(request, "account", _account(auth))


@router.post("/account/tokens")
def account_token_create(
    request: Request,
    auth: FormAuth,
    name: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=20)] = "read",
    days: Annotated[str, Form(max_length=10)] = str(TOKEN_DAYS),
) -> Response:
    """One of your own tokens (as ``POST /api/tokens``); its secret is shown once, on the page this answers."""
    values = {"name": name, "scope": scope, "days": days}
    me = auth.principal.name
    try:
        label, scope, lifetime = _token_fields(name, scope, days)
        secret, token = auth.ws.access.create_token(me, label, scope=scope, days=lifetime)
    except AssayError as exc:
        return _fail(request, "account", _account(auth), exc, values, form="token_form")
    return _token_created(request, auth, secret, token, me, "/account")


@router.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(
    request: Request, auth: FormAuth, token_id: int, confirm: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    """Revoke one of your own tokens (as ``DELETE /api/tokens/{id}``: another's is not found)."""
    try:
        web.require_confirmation(confirm, f"revoking API token {token_id}")
        auth.ws.access.revoke_token(token_id, owner=auth.principal.name)
    except AssayError as exc:
        return _fail(request, "account", _account(auth), exc, {"id": token_id}, form="token_revoke_form")
    return web.done(request, "/account", f"API token {token_id} is revoked.")


@router.post("/account/password")
def account_password(
    request: Request,
    auth: FormAuth,
    current: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    again: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change your own password: the current one first (a session left open is not enough), the new one twice."""
    me = auth.principal.name
    try:
        try:
            auth.ws.access.login(me, current)
        except AssayError:
            raise InvalidInput("the current password is wrong", fields={"current": "wrong password"}) from None
        if password != again:
            raise InvalidInput("the two new passwords differ", fields={"again": "not the same as the new password"})
        auth.ws.access.set_password(me, password)
    except AssayError as exc:
        return _fail(request, "account", _account(auth), exc, {}, form="password_form")
    return web.done(request, "/account", "Your password is changed.")


# -- the audit ledger -----------------------------------------------------------------------------------------------

_VERBS: Final = {
    "create": "created", "update": "updated", "delete": "deleted", "revoke": "revoked", "grant": "granted",
    "deactivate": "deactivated", "role": "role changed", "password": "password changed", "status": "status set",
    "decision": "decided", "withdraw": "withdrawn", "store": "stored", "purge": "purged", "decide": "decided",
    "explain": "explained", "open": "opened", "close": "closed", "reopen": "reopened", "assign": "assigned",
    "share": "shared", "unshare": "unshared", "evaluate": "evaluated", "finalise": "finalised", "cancel": "cancelled",
    "cancel_request": "cancellation asked", "start": "started", "submit": "submitted", "pause": "paused",
    "resume": "resumed", "claim": "claimed", "release": "released", "resolve": "resolved", "fire": "fired",
    "migrate": "migrated (schema change)", "mode": "mode set", "plan": "planned", "supersede": "superseded",
    "retire": "retired", "add": "added", "remove": "removed", "end": "ended", "set": "set",
    "verification": "verification recorded", "item": "item added", "approve": "approved", "reject": "rejected",
    "request": "requested",
}  # fmt: skip
_ACTIONS: Final = {
    "session.start": "signed in",
    "session.end": "signed out",
    "approval.decision": "approval decided",
    "gate.evaluate": "gate evaluated",
    "control.status": "control status set",
    "record.migrate": "record migrated (schema change)",
}
_TYPES: Final = {"api_tokens": "API token", "web_sessions": "web session", "evidence": "evidence",
                 "control_statuses": "control status", "aims_": "management system "}  # fmt: skip


def action_words(action: str) -> str:
    """An event's action in words: ``risk.create`` -> ``risk created``, ``session.start`` -> ``signed in``."""
    if action in _ACTIONS:
        return _ACTIONS[action]
    noun, _, verb = action.rpartition(".")
    if not noun:
        return action.replace("_", " ")
    return f"{noun.replace('.', ' ').replace('_', ' ')} {_VERBS.get(verb, verb.replace('_', ' '))}"


def type_words(table: str) -> str:
    """A ledger object type (a table) in words, singular: ``model_versions`` -> ``model version``."""
    if table in _TYPES:
        return _TYPES[table]
    text = table.removeprefix("aims_").replace("_", " ")
    if text.endswith("ies"):
        text = text[:-3] + "y"
    elif text.endswith("sses"):
        text = text[:-2]
    elif text.endswith("s") and not text.endswith("ss"):
        text = text[:-1]
    return ("management system " if table.startswith("aims_") else "") + text


def _payload_name(payload: Mapping[str, Any]) -> str | None:
    for key in ("name", "title", "ref", "key"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _object(event: Event, names: Mapping[tuple[str, str], str], admin: bool) -> tuple[str, str | None]:
    """What an event is about, named (``system release``, ``viewer role of ana on release``), and its page."""
    kind, key, payload = event.object_type, event.object_id, event.payload
    if kind == "web_sessions":
        return "web session", None
    if kind == "memberships" and "user" in payload and "system" in payload:
        role = payload.get("role")
        return f"{role + ' ' if role else ''}role of {payload['user']} on {payload['system']}", None
    name = names.get((kind, key)) or _payload_name(payload)
    if kind == "api_tokens" and isinstance(payload.get("user"), str):
        return f"API token {name or key} of {payload['user']}", None
    if name is None:
        return f"{type_words(kind)} {key}", None
    link = f"/systems/{name}" if kind == "systems" else (f"/admin/users/{name}" if kind == "users" and admin else None)
    return f"{type_words(kind)} {name}", link


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= _CUT else text[: _CUT - 1] + "…"


def _details(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The payload as ``key: value`` pairs for reading, long values cut (the full payload is in the JSON twin)."""
    pairs = [(str(k).replace("_", " "), _short(v)) for k, v in payload.items()]
    if len(pairs) > _PAYLOAD_KEYS:
        rest = len(pairs) - _PAYLOAD_KEYS + 1
        pairs = [*pairs[: _PAYLOAD_KEYS - 1], ("…", f"{rest} more in the JSON")]
    return pairs


def _event_rows(auth: Authorised, events: Sequence[Event]) -> list[dict[str, Any]]:
    names = auth.ws.audit.object_names(events)
    admin = auth.principal.role == "admin"
    rows = []
    for e in events:
        label, link = _object(e, names, admin)
        rows.append({
            **e.content(), "hash": e.hash, "action_words": action_words(e.action), "object": label,
            "object_link": link, "details": _details(e.payload),
        })  # fmt: skip
    return rows


_FILTER_KEYS: Final = ("actor", "action", "object_type", "object_id", "from", "to", "signins")


def _day(text: str, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a date (YYYY-MM-DD), not {text!r}", fields={field: "a date"}) from None


def audit_filter(values: Mapping[str, str]) -> EventFilter:
    """The ledger page's filters as an :class:`EventFilter`: exact actor, action, object type and id; a time range
    from one day to another (both included, UTC); sign-ins left out unless asked for (``signins=show``) or the
    action filter names one."""
    first, last = _day(values.get("from", ""), "from"), _day(values.get("to", ""), "to")
    if first is not None and last is not None and last < first:
        raise InvalidInput("the time range ends before it starts", fields={"to": "on or after the first day"})
    action = values.get("action") or None
    hide = values.get("signins", "hide") != "show" and action is None
    return EventFilter(
        actor=values.get("actor") or None,
        action=action,
        object_type=values.get("object_type") or None,
        object_id=values.get("object_id") or None,
        since=None if first is None else first.isoformat(),
        until=None if last is None else (last + dt.timedelta(days=1)).isoformat(),
        exclude_actions=SIGN_INS if hide else (),
    )


def _filter_values(request: Request) -> dict[str, str]:
    params = request.query_params
    return {k: params[k].strip()[:200] for k in _FILTER_KEYS if params.get(k, "").strip()}


def _choices(request: Request, auth: Authorised) -> dict[str, list[str]]:
    """The actors, actions and object types the ledger holds: read once, then only from the events appended since
    (the ledger is append-only, so what it held stays)."""
    cached: tuple[int, dict[str, list[str]]] | None = getattr(request.app.state, "audit_choices", None)
    seen = 0 if cached is None else cached[0]
    head, new = auth.ws.audit.choices(after_seq=seen)
    if cached is not None and head == seen:
        return cached[1]
    merged = {k: sorted({*(cached[1][k] if cached else ()), *new[k]}) for k in new}
    request.app.state.audit_choices = (head, merged)
    return merged


AUDIT_COLUMNS: Final = (
    web.Column("seq", "#", sortable=False, kind="number"),
    web.Column("time", "Time", sortable=False, kind="date"),
    web.Column("actor", "Who", sortable=False),
    web.Column("action_words", "Did", sortable=False),
    web.Column("object", "What", sortable=False),
    web.Column("details", "Details", sortable=False),
)
AUDIT_CSV_COLUMNS: Final = tuple(
    web.Column(key, key)
    for key in ("seq", "time", "actor", "action", "object_type", "object_id", "object", "payload", "hash")
)


def _audit(request: Request, auth: Authorised, verified: dict[str, Any] | None = None) -> dict[str, Any]:
    values = _filter_values(request)
    choices = _choices(request, auth)
    query = request.url.query
    context: dict[str, Any] = {
        "page": "audit",
        "user": page_user(auth.principal),
        "choices": choices,
        "options": {
            "actor": [(a, a) for a in choices["actor"]],
            "action": [(a, action_words(a)) for a in choices["action"]],
            "object_type": [(t, type_words(t)) for t in choices["object_type"]],
        },
        "json_link": "/audit.json" + (f"?{query}" if query else ""),
        "filters": values,
        "verification": verified,
        "form": web.empty_form({"signins": "hide", **values}),
    }
    asked = web.table_query(request, AUDIT_COLUMNS, per=AUDIT_PER_PAGE)
    try:
        where = audit_filter(values)
    except InvalidInput as exc:
        context["form"] = {"values": values, "errors": web.field_errors(exc), "message": str(exc)}
        context["status"] = 422
        where = None
    # counted up to ten pages past this one: a filter most events match is not counted over the whole ledger
    at_most = asked.offset + AUDIT_COUNT_PAGES * asked.per + 1
    found = [] if where is None else auth.ws.audit.newest(where, limit=asked.per, offset=asked.offset,
                                                           count_at_most=at_most)  # fmt: skip
    total = getattr(found, "total", 0)
    context["more"] = total >= at_most  # at least this many: "more than"
    table = web.Table(AUDIT_COLUMNS, _event_rows(auth, found), total, page=asked.page, per=asked.per,
                      filters=values, path="/audit")  # fmt: skip
    context.update(events=table.rows, total=total, page_number=table.page, pages=table.pages, table=table)
    return context


@router.get("/audit.json")
def audit_json(request: Request, auth: Auth) -> Response:
    context = _audit(request, auth)
    return web.twin({k: v for k, v in context.items() if k not in ("table", "form", "status", "options", "json_link")})


@router.get("/audit.csv")
def audit_csv(request: Request, auth: Auth) -> Response:
    """The events the filters select, newest first, streamed (at most ``web.CSV_MAX_ROWS``), payloads in full."""
    where = audit_filter(_filter_values(request))

    def rows() -> Iterator[dict[str, Any]]:
        chunk: list[Event] = []
        for event in auth.ws.audit.stream_newest(where, limit=web.CSV_MAX_ROWS):
            chunk.append(event)
            if len(chunk) == 1000:
                yield from _csv_rows(auth, chunk)
                chunk = []
        yield from _csv_rows(auth, chunk)

    return web.csv_response("audit-events", AUDIT_CSV_COLUMNS, rows())


def _csv_rows(auth: Authorised, events: Sequence[Event]) -> Iterator[dict[str, Any]]:
    if not events:
        return
    names = auth.ws.audit.object_names(events)
    for e in events:
        yield {**e.content(), "hash": e.hash, "object": _object(e, names, True)[0],
               "payload": json.dumps(e.payload, ensure_ascii=False, sort_keys=True)}  # fmt: skip


@router.get("/audit")
def audit_page(request: Request, auth: Auth) -> Response:
    context = _audit(request, auth)
    return web.render(request, "audit", context, status=context.pop("status", 200))


@router.post("/audit/verify")
def audit_verify_page(request: Request, auth: FormAuth) -> Response:
    """Verify the ledger (chain, signed checkpoints, every governed record) and show the result in words."""
    verified = auth.ws.audit.verify().to_dict()
    return web.render(request, "audit", _audit(request, auth, verified))
