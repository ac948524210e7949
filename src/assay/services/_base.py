"""What every governance service shares: its workspace, write transactions done by the acting user, and the rule
that some actions need that user to be authenticated."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from assay.errors import PermissionDenied
from assay.store.models import WorkspaceSetting

if TYPE_CHECKING:
    from assay.services.workspace import Workspace
    from assay.store.database import Transaction

__all__ = ["Service", "require_authenticated", "single_user"]


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

    def _write(self) -> AbstractContextManager[Transaction]:
        return self.ws.store.write(self.ws.actor, authenticated=self.ws.authenticated)
