"""What every governance service shares: its workspace, and write transactions done by the acting user."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.services.workspace import Workspace
    from assay.store.database import Transaction

__all__ = ["Service"]


class Service:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def _write(self) -> AbstractContextManager[Transaction]:
        return self.ws.store.write(self.ws.actor)
