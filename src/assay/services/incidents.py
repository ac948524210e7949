"""(being written)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.services.workspace import Workspace


class Incidents:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
