"""What every governance service shares: its workspace, write transactions done by the acting user, and the rule
that some actions need that user to be authenticated."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from assay.errors import PermissionDenied
from assay.store.models import WorkspaceSetting

if TYPE_CHECKING:
    from assay.services.workspace import Workspace
    from assay.store.database import Transaction

__all__ = ["Listing", "Service", "listing", "require_authenticated", "single_user"]

T = TypeVar("T")


class Listing(list[T]):
    """A list with ``total``: how many rows matched in all (the list may be one page of them)."""

    def __init__(self, items: Iterable[T] = (), total: int | None = None) -> None:
        super().__init__(items)
        self.total = len(self) if total is None else total


def listing(session: Session, query: Select[Any], limit: int | None = None, offset: int = 0) -> Listing[Any]:
    """The rows of ``query`` from ``offset``, at most ``limit`` of them, with the number matching in all: both
    counted and cut in the database (LIMIT/OFFSET and COUNT), on the same snapshot."""
    rows = list(session.execute(query.limit(limit).offset(offset or None)).scalars())
    if limit is None and not offset:
        return Listing(rows)
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    return Listing(rows, total)


def single_user(tx: Transaction) -> bool:
    """Whether the workspace was set up single-user (the actor's word is taken for who they are)."""
    setting = tx.session.get(WorkspaceSetting, "mode")
    return setting is not None and setting.value == "single-user"


def require_authenticated(tx: Transaction, what: str) -> None:
    """Refuse ``what`` (approving, waiving, revoking, changing roles) by an actor who has not proved who they are,
    unless the workspace is single-user."""
    if tx.authenticated or single_user(tx):
        return
    raise PermissionDenied(
        f"{what} needs an authenticated user in a multi-user workspace: run `assay --user NAME ...` (the password "
        "from ASSAY_PASSWORD or a prompt) or use the server; --actor alone is taken on trust only in a workspace "
        "initialised with `assay init --single-user`"
    )


class Service:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A read transaction that sees what the workspace's viewer may see (``session.info["viewer"]``, used by
        :mod:`assay.services._lookup`): the acting user once authenticated, else everyone's records."""
        with self.ws.store.read() as session:
            session.info["viewer"] = self.ws.viewer
            yield session

    @contextmanager
    def _write(self) -> Iterator[Transaction]:
        """A write transaction by the acting user, seeing only what they may see (as :meth:`_read`)."""
        with self.ws.store.write(self.ws.actor, authenticated=self.ws.authenticated) as tx:
            tx.session.info["viewer"] = self.ws.viewer
            yield tx
