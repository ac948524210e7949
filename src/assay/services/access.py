"""Users, roles, API tokens and sessions, and the one authorisation rule every shell applies.

Roles:

- global ``admin``: everything, including users and memberships;
- global ``auditor``: read everything, verify and export the audit ledger; never change anything;
- global ``member``: what their memberships allow, per AI system: ``viewer`` reads, ``approver`` reads and decides
  approvals, ``owner`` reads and changes the system's records, ``reviewer`` and ``overseer`` (below). Any member may
  create a new system and becomes its owner, and may upload artifacts. A ``reviewer`` reads and decides the items
  of the system's review queue; an ``overseer`` also pauses and resumes its model versions (the kill switch) and
  decides escalated items and contested decisions; owners may do both. Deny by default: no membership, no access.

Datasets belong to a system: its owners register the dataset and its versions, change them and share the
dataset with other systems; every member of the owning system, and of a system it is shared with, may read it
(:func:`dataset_readable`, :func:`dataset_writable`). A record of a system (an assessment, a check, a model
version's training data) may only use a dataset owned by or shared with that system.

Passwords are hashed with argon2id; API tokens and session secrets are random 256-bit values of which only the
SHA-256 is stored. A ``read`` token can only read; an ``ingest`` token can only send captured inference records and
labels (to the systems its user owns), nothing else; a ``feedback`` token can only submit end users' feedback (to the
systems its user holds any role on), nothing else: it is the credential a public web page embeds (see
docs/feedback.md), so it reads nothing, and its user should be a service user with the viewer role on the systems
whose pages embed it. Every change here is an audit event naming the acting user;
no password, token or secret is ever part of a payload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from assay.store.database import Transaction

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.records import Name, validate
from assay.services import _lookup
from assay.services._base import Listing, Service, listing, require_authenticated, single_user
from assay.store.models import ApiToken, Membership, ModelVersion, System, User, WebSession, utcnow

__all__ = [
    "GLOBAL_ROLES",
    "SYSTEM_ROLES",
    "TOKEN_SCOPES",
    "Access",
    "Action",
    "Principal",
    "allowed",
    "dataset_readable",
    "dataset_writable",
    "model_target",
    "require_authenticated_admin",
    "require_role",
    "viewer_principal",
]

GLOBAL_ROLES: Final = ("admin", "auditor", "member")
SYSTEM_ROLES: Final = ("owner", "approver", "overseer", "reviewer", "viewer")
TOKEN_SCOPES: Final = ("read", "write", "ingest", "feedback")
MIN_PASSWORD: Final = 12
SESSION_HOURS: Final = 12
_HASHER: Final = PasswordHasher()
_DUMMY_HASH: Final = _HASHER.hash("assay-dummy-password-for-timing")

Action = Literal[
    "read", "write", "approve", "audit", "contribute", "account", "admin", "ingest", "review", "oversee", "feedback"
]
# every role that reads a system may submit end users' feedback to it ("feedback")
_SYSTEM_ACTIONS: Final[dict[str, frozenset[str]]] = {
    "viewer": frozenset({"read", "feedback"}),
    "reviewer": frozenset({"read", "review", "feedback"}),
    "overseer": frozenset({"read", "review", "oversee", "feedback"}),
    "approver": frozenset({"read", "approve", "feedback"}),
    "owner": frozenset({"read", "write", "ingest", "review", "oversee", "feedback"}),
}
_READ_ONLY: Final = frozenset({"read", "audit"})


@dataclass(frozen=True)
class Principal:
    """Who is making a request, with what they may do."""

    name: str
    role: str
    memberships: dict[str, str] = field(default_factory=dict)  # system name -> owner | approver | viewer
    scope: str = "write"  # a read token can only read; an ingest token can only ingest; a feedback token only that

    def creator(self) -> str | None:
        """Who becomes owner of a system this principal creates: a member; admins need no membership."""
        return self.name if self.role == "member" else None

    def systems(self) -> set[str] | None:
        """The systems this principal may read (None: all of them)."""
        return None if self.role in ("admin", "auditor") else set(self.memberships)


def allowed(principal: Principal, action: Action, system: str | None = None) -> bool:
    """The one authorisation rule (deny by default)."""
    if principal.scope == "read" and action not in _READ_ONLY:
        return False
    if principal.scope == "ingest" and action != "ingest":
        return False
    if principal.scope == "feedback" and action != "feedback":
        return False
    if principal.role == "admin":
        return True
    if principal.role == "auditor":
        return action in _READ_ONLY or action == "account"
    if action in ("contribute", "account"):
        return True  # create systems, register datasets, upload artifacts; manage one's own tokens
    if action in ("admin", "audit"):
        return False
    if system is None:
        return action == "read"  # listing: filtered to the systems the member can see
    role = principal.memberships.get(system)
    return role is not None and action in _SYSTEM_ACTIONS[role]


def dataset_readable(principal: Principal, owner: str, shared_with: Iterable[str] = ()) -> bool:
    """A dataset is readable by whoever may read its owning system or a system it is shared with."""
    return allowed(principal, "read", owner) or any(allowed(principal, "read", system) for system in shared_with)


def dataset_writable(principal: Principal, owner: str) -> bool:
    """A dataset (its versions, its shares) is changed only by those who may write its owning system."""
    return allowed(principal, "write", owner)


def require(principal: Principal, action: Action, system: str | None = None) -> None:
    if not allowed(principal, action, system):
        where = f" on system {system!r}" if system else ""
        raise PermissionDenied(f"{principal.name} may not {action.replace('_', ' ')}{where}")


def _memberships(session: Session, user_id: int) -> dict[str, str]:
    """A user's roles by system name."""
    rows = session.execute(
        select(System.name, Membership.role)
        .join(Membership, Membership.system_id == System.id)
        .where(Membership.user_id == user_id)
    )
    return {row[0]: row[1] for row in rows}


def viewer_principal(session: Session, given: Principal | None = None) -> Principal | None:
    """``given``, else the principal of the session's viewer (``session.info["viewer"]``, set by the services from
    the workspace's authenticated user) with their role and memberships read in this session; None when neither
    (the workspace's own user, who may do anything). An unknown or inactive viewer is a member of nothing."""
    if given is not None:
        return given
    viewer = session.info.get("viewer")
    if viewer is None:
        return None
    user = session.execute(select(User).where(User.name == viewer)).scalar_one_or_none()
    if user is None or not user.active:
        return Principal(viewer, "member")
    return Principal(user.name, user.role, _memberships(session, user.id))


def model_target(session: Session, system: str, ref: str, action: Action) -> tuple[System, ModelVersion]:
    """System ``system`` and its model version ``ref`` (MODEL@VERSION), once the session's viewer may ``action``
    there (404 for a system they cannot see, 403 for one they may only read)."""
    owner = _lookup.system(session, system)
    principal = viewer_principal(session)
    if principal is not None and not allowed(principal, action, owner.name):
        raise PermissionDenied(f"{principal.name} may not {action} on system {owner.name!r}")
    return owner, _lookup.model_version(session, owner, ref)


def require_role(tx: Transaction, action: Action, system: str, what: str) -> None:
    """In a multi-user workspace, ``what`` needs an authenticated, active user whose roles allow ``action`` on
    ``system``: the same rule (:func:`allowed`) the server applies to its routes, so the command line cannot do
    what the web would refuse. A single-user workspace takes the actor's word."""
    if single_user(tx):
        return
    require_authenticated(tx, what)
    user = tx.session.execute(select(User).where(User.name == tx.actor)).scalar_one_or_none()
    if user is None or not user.active:
        raise PermissionDenied(f"{what}: {tx.actor} is not an active user")
    memberships = _memberships(tx.session, user.id)
    if not allowed(Principal(user.name, user.role, memberships), action, system):
        needed = {"approve": "approver", "review": "reviewer", "oversee": "overseer"}.get(action, "owner")
        raise PermissionDenied(f"{what}: {tx.actor} may not {action} on system {system!r} (needs the {needed} role)")


def require_authenticated_admin(tx: Transaction, what: str, *, unless_user: str | None = None) -> None:
    """Refuse ``what`` (a change to users, roles, memberships or another user's tokens) unless the actor is an
    authenticated, active admin (or, with ``unless_user``, that user acting for themself). A single-user
    workspace, and a workspace with no active admin yet (so that the first admin can be created), take the
    actor's word."""
    if single_user(tx):
        return
    admins = tx.session.execute(select(User.id).where(User.role == "admin", User.active.is_(True))).first()
    if admins is None:
        return
    require_authenticated(tx, what)
    if unless_user is not None and tx.actor == unless_user:
        return
    user = tx.session.execute(select(User).where(User.name == tx.actor)).scalar_one_or_none()
    if user is None or not user.active or user.role != "admin":
        raise PermissionDenied(f"{what}: {tx.actor} is not an active admin")


class _UserName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password must have at least {MIN_PASSWORD} characters",
            fields={"password": f"at least {MIN_PASSWORD} characters"},
        )


class Access(Service):
    """Users, memberships, tokens and sessions (each change audited)."""

    # -- users ----------------------------------------------------------------------------------------------

    def add_user(self, name: str, password: str, *, role: str = "member") -> User:
        validate(_UserName, {"name": name}, "user")
        if role not in GLOBAL_ROLES:
            raise InvalidInput(
                f"role {role!r} is not one of {', '.join(GLOBAL_ROLES)}", fields={"role": "choose a role"}
            )
        _check_password(password)
        with self._write() as tx:
            require_authenticated_admin(tx, f"adding user {name}")
            if tx.session.execute(select(User.id).where(User.name == name)).first() is not None:
                raise Conflict(f"a user named {name!r} already exists")
            user = User(name=name, password_hash=_HASHER.hash(password), role=role)
            tx.session.add(user)
            tx.record("user.create", user, before=None, payload={"name": name, "role": role})
        return user

    def users(self, *, limit: int | None = None, offset: int = 0) -> Listing[User]:
        with self._read() as session:
            return listing(session, select(User).order_by(User.name), limit, offset)

    def _user(self, session: Session, name: str) -> User:
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user named {name!r}")
        return user

    @staticmethod
    def _keep_an_admin(session: Session, user: User, change: str) -> None:
        """Refuse to take away the last active admin (nobody could manage users any more)."""
        if user.role != "admin" or not user.active:
            return
        others = session.execute(
            select(User.id).where(User.role == "admin", User.active.is_(True), User.id != user.id).limit(1)
        ).first()
        if others is None:
            raise Conflict(
                f"{user.name} is the last active admin and cannot be {change}: make another user admin first"
            )

    def set_role(self, name: str, role: str) -> User:
        if role not in GLOBAL_ROLES:
            raise InvalidInput(
                f"role {role!r} is not one of {', '.join(GLOBAL_ROLES)}", fields={"role": "choose a role"}
            )
        with self._write() as tx:
            require_authenticated_admin(tx, f"changing the role of {name}")
            user = self._user(tx.session, name)
            if role != "admin":
                self._keep_an_admin(tx.session, user, f"made {role}")
            before = user.state()
            user.role = role
            tx.record("user.role", user, before=before, payload={"name": name, "role": role})
        return user

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        with self._write() as tx:
            require_authenticated_admin(tx, f"changing the password of {name}", unless_user=name)
            user = self._user(tx.session, name)
            before = user.state()
            user.password_hash = _HASHER.hash(password)
            tx.record("user.password", user, before=before, payload={"name": name})

    def deactivate(self, name: str) -> User:
        with self._write() as tx:
            require_authenticated_admin(tx, f"deactivating {name}")
            user = self._user(tx.session, name)
            self._keep_an_admin(tx.session, user, "deactivated")
            before = user.state()
            user.active = False
            tx.record("user.deactivate", user, before=before, payload={"name": name})
        return user

    # -- memberships --------------------------------------------------------------------------------------------

    def grant(self, name: str, system: str, role: str) -> Membership:
        if role not in SYSTEM_ROLES:
            raise InvalidInput(
                f"system role {role!r} is not one of {', '.join(SYSTEM_ROLES)}", fields={"role": "choose a role"}
            )
        with self._write() as tx:
            require_authenticated_admin(tx, f"giving {name} a role on {system}")
            user = self._user(tx.session, name)
            owner = _lookup.system(tx.session, system)
            membership = tx.session.execute(
                select(Membership).where(Membership.user_id == user.id, Membership.system_id == owner.id)
            ).scalar_one_or_none()
            before = None if membership is None else membership.state()
            if membership is None:
                membership = Membership(user_id=user.id, system_id=owner.id, role=role)
                tx.session.add(membership)
            else:
                membership.role = role
            tx.record(
                "membership.grant", membership, before=before, payload={"user": name, "system": system, "role": role}
            )
        return membership

    def revoke(self, name: str, system: str) -> None:
        with self._write() as tx:
            require_authenticated_admin(tx, f"taking {name}'s role on {system}")
            user = self._user(tx.session, name)
            owner = _lookup.system(tx.session, system)
            membership = tx.session.execute(
                select(Membership).where(Membership.user_id == user.id, Membership.system_id == owner.id)
            ).scalar_one_or_none()
            if membership is None:
                raise NotFound(f"{name} has no role on {system}")
            before = membership.state()
            tx.session.delete(membership)
            tx.record(
                "membership.revoke", membership, before=before, deleted=True, payload={"user": name, "system": system}
            )

    def memberships(self, name: str) -> dict[str, str]:
        with self._read() as session:
            return _memberships(session, self._user(session, name).id)

    def members(self, system: str) -> dict[str, str]:
        """The active users holding a role on ``system`` (a system the viewer may see), by name: their role there
        (the people a risk or corrective action can be assigned to)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            rows = session.execute(
                select(User.name, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.system_id == owner.id, User.active.is_(True))
                .order_by(User.name)
            )
            return {row[0]: row[1] for row in rows}

    # -- tokens ---------------------------------------------------------------------------------------------

    def create_token(self, name: str, label: str, *, scope: str = "read", days: int = 90) -> tuple[str, ApiToken]:
        """A new token for user ``name``; the secret is returned once and never stored."""
        if scope not in TOKEN_SCOPES:
            raise InvalidInput(
                f"token scope {scope!r} is not one of {', '.join(TOKEN_SCOPES)}", fields={"scope": "choose a scope"}
            )
        if not 1 <= days <= 366:
            raise InvalidInput(f"a token lives 1 to 366 days, not {days}", fields={"days": "1 to 366 days"})
        secret = "assay_" + secrets.token_urlsafe(32)
        with self._write() as tx:
            require_authenticated_admin(tx, f"creating an API token for {name}", unless_user=name)
            user = self._user(tx.session, name)
            token = ApiToken(
                user_id=user.id,
                name=label[:100],
                token_sha256=_sha256(secret),
                scope=scope,
                expires_at=utcnow() + dt.timedelta(days=days),
            )
            tx.session.add(token)
            tx.record("token.create", token, before=None, payload={"user": name, "name": label, "scope": scope})
        return secret, token

    def revoke_token(self, token_id: int, *, owner: str | None = None) -> None:
        """Revoke a token (only one of ``owner``'s, when given: users revoke their own, admins any)."""
        with self._write() as tx:
            token = _lookup.by_id(tx.session, ApiToken, token_id, "API token")
            if owner is not None and token.user_id != self._user(tx.session, owner).id:
                raise NotFound(f"{owner} has no API token with id {token_id}")
            before = token.state()
            token.revoked_at = utcnow()
            tx.record("token.revoke", token, before=before)

    def all_tokens(self) -> list[tuple[ApiToken, str]]:
        """Every API token (revoked and expired ones too) with its owner's name, newest first."""
        with self._read() as session:
            rows = session.execute(
                select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
            )
            return [(token, name) for token, name in rows]

    def last_logins(self) -> dict[str, dt.datetime]:
        """When each user last logged in to the web application (the start of their newest session)."""
        with self._read() as session:
            rows = session.execute(
                select(User.name, func.max(WebSession.created_at))
                .join(WebSession, WebSession.user_id == User.id)
                .group_by(User.name)
            )
            return {name: when for name, when in rows if when is not None}

    def tokens(self, name: str) -> list[ApiToken]:
        with self._read() as session:
            user = self._user(session, name)
            return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars())

    # -- authentication ---------------------------------------------------------------------------------------

    def _principal(self, user: User, scope: str = "write") -> Principal:
        return Principal(user.name, user.role, self.memberships(user.name), scope)

    def login(self, name: str, password: str) -> Principal:
        """Check a password (argon2id; the same work for unknown users)."""
        with self._read() as session:
            user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        try:
            _HASHER.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            raise PermissionDenied("wrong user name or password") from None
        if user is None or not user.active:
            raise PermissionDenied("wrong user name or password")
        return self._principal(user)

    def from_token(self, secret: str) -> Principal:
        now = utcnow()
        with self._read() as session:
            token = session.execute(
                select(ApiToken).where(ApiToken.token_sha256 == _sha256(secret))
            ).scalar_one_or_none()
            user = None if token is None else session.get(User, token.user_id)
            if token is None or user is None or not user.active or token.revoked_at is not None:
                raise PermissionDenied("the API token is unknown, revoked or expired")
            if token.expires_at <= now:
                raise PermissionDenied("the API token is unknown, revoked or expired")
            # in the same snapshot as the token: one session per request, not two
            return Principal(user.name, user.role, _memberships(session, user.id), token.scope)

    def start_session(self, principal: Principal) -> tuple[str, str]:
        """A new browser session: (cookie secret, CSRF token). Recorded as the person who logged in (their password
        was checked), not as the server's own user."""
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.ws.store.write(principal.name, authenticated=True) as tx:
            user = self._user(tx.session, principal.name)
            web = WebSession(
                user_id=user.id,
                secret_sha256=_sha256(secret),
                csrf_token=csrf,
                expires_at=utcnow() + dt.timedelta(hours=SESSION_HOURS),
            )
            tx.session.add(web)
            tx.record("session.start", web, before=None, payload={"user": principal.name})
        return secret, csrf

    def from_session(self, secret: str) -> tuple[Principal, str]:
        with self._read() as session:
            web = session.execute(
                select(WebSession).where(WebSession.secret_sha256 == _sha256(secret))
            ).scalar_one_or_none()
            user = None if web is None else session.get(User, web.user_id)
            if web is None or user is None or not user.active or web.expires_at <= utcnow():
                raise PermissionDenied("the session has expired: log in again")
            return Principal(user.name, user.role, _memberships(session, user.id)), web.csrf_token

    def end_session(self, secret: str) -> None:
        """End a browser session, recorded as its person (the holder of the session's secret)."""
        with self._read() as session:
            found = session.execute(
                select(User.name)
                .join(WebSession, WebSession.user_id == User.id)
                .where(WebSession.secret_sha256 == _sha256(secret))
            ).scalar_one_or_none()
        if found is None:
            return
        with self.ws.store.write(found, authenticated=True) as tx:
            web = tx.session.execute(
                select(WebSession).where(WebSession.secret_sha256 == _sha256(secret))
            ).scalar_one_or_none()
            if web is None:
                return
            before = web.state()
            web.expires_at = utcnow()
            tx.record("session.end", web, before=before)
