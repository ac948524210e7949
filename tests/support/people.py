"""Users of a multi-user workspace for tests (see the ``people`` fixture in conftest)."""

from __future__ import annotations

from typing import Any

PASSWORD = "a password long enough"


class People:
    """Users of a multi-user workspace, each logged in as themself (authenticated, as approvals need).

    ``people("bob", release="approver")`` adds bob (once), gives him the approver role on ``release`` and returns
    the workspace acting as him; an admin, created first, makes the changes that need an admin."""

    def __init__(self, workspace: Any) -> None:
        self.base = workspace
        workspace.access.add_user("admin", PASSWORD, role="admin")  # the first admin needs nobody's leave
        self.admin = workspace.login("admin", PASSWORD)
        self._logged: dict[str, Any] = {"admin": self.admin}

    def __call__(self, name: str, role: str = "member", **systems: str) -> Any:
        if name not in self._logged:
            self.admin.access.add_user(name, PASSWORD, role=role)
            self._logged[name] = self.base.login(name, PASSWORD)
        for system, system_role in systems.items():
            self.admin.access.grant(name, system, system_role)
        return self._logged[name]
