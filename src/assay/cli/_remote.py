"""``assay --server URL``: the decisions that need an authenticated user, made through a running ``assay serve``
with an API token (``ASSAY_TOKEN``), under the server's permission table.

Only the commands that act for a person go through the server (approvals, waivers, evidence revocation, a
system's policy); the server's answers are the same documents the local services return, and its errors come
back as Assay's exceptions, so the commands print and exit the same way. Standard library only (``urllib``).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any, Final

from assay.errors import AssayError, Conflict, InvalidInput, NotFound, PermissionDenied

if TYPE_CHECKING:
    from assay.services.approvals import ApprovalView

__all__ = ["Remote"]

_ERRORS: Final[dict[int, type[AssayError]]] = {
    400: InvalidInput,
    401: PermissionDenied,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    422: InvalidInput,
    429: PermissionDenied,
}
_TIMEOUT: Final = 60.0


def _view(record: dict[str, Any]) -> ApprovalView:
    from assay.services.approvals import ApprovalView

    fields = {name: record[name] for name in ApprovalView.__dataclass_fields__ if name in record}
    fields["created_at"] = dt.datetime.fromisoformat(record["created_at"])
    fields["decided_at"] = None if record.get("decided_at") is None else dt.datetime.fromisoformat(record["decided_at"])
    return ApprovalView(**fields)


class Remote:
    """A client of one server, acting as the owner of ``token``."""

    def __init__(self, url: str, token: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(f"--server {url!r}: give the server's address, e.g. https://assay.example.org")
        if not token:
            raise InvalidInput("--server needs an API token in ASSAY_TOKEN (create one: assay token create NAME)")
        self.url = url.rstrip("/")
        self._token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = f"{exc.code} {exc.reason}"
            raise _ERRORS.get(exc.code, AssayError)(f"{message} (server {self.url})") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InvalidInput(f"cannot reach the server {self.url}: {reason}") from None

    @staticmethod
    def _q(part: str | int) -> str:
        return urllib.parse.quote(str(part), safe="")

    # -- approvals (the same signatures as services.approvals.Approvals) -----------------------------------------

    def _system_of(self, request_id: int, system: str | None) -> str:
        if system is not None:
            return system
        page, pages = 1, 1
        while page <= pages:  # the inbox's pending requests, a page of 50 at a time
            listed = self.call("GET", f"/approvals.json?status=pending&page={page}")["table"]
            for item in listed["rows"]:
                if item["id"] == request_id:
                    return str(item["system"])
            page, pages = page + 1, int(listed["pages"])
        raise NotFound(f"no pending approval request {request_id} you can see: give its system with --system")

    def request(
        self, system: str, ref: str, stage: str, *, comment: str = "", required_approvals: int | None = None
    ) -> ApprovalView:
        body = {"ref": ref, "stage": stage, "comment": comment, "required_approvals": required_approvals}
        return _view(self.call("POST", f"/api/systems/{self._q(system)}/approvals", body))

    def decide(self, request_id: int, decision: str, *, comment: str = "", system: str | None = None) -> ApprovalView:
        where = f"/api/systems/{self._q(self._system_of(request_id, system))}/approvals/{request_id}/decision"
        return _view(self.call("POST", where, {"decision": decision, "comment": comment}))

    def withdraw(self, request_id: int, *, comment: str = "", system: str | None = None) -> ApprovalView:
        where = f"/api/systems/{self._q(self._system_of(request_id, system))}/approvals/{request_id}/withdraw"
        return _view(self.call("POST", where, {"note": comment}))

    def get(self, request_id: int, *, system: str | None = None) -> ApprovalView:
        where = f"/api/systems/{self._q(self._system_of(request_id, system))}/approvals/{request_id}"
        return _view(self.call("GET", where))

    def list(self, system: str | None = None, *, status: str | None = None) -> list[ApprovalView]:
        if system is None:
            raise InvalidInput("with --server, name the system: assay approval list SYSTEM")
        query = "" if status is None else f"&status={self._q(status)}"
        views, offset = [], 0
        while True:
            got = self.call("GET", f"/api/systems/{self._q(system)}/approvals?limit=100&offset={offset}{query}")
            views += [_view(item) for item in got["items"]]
            offset += len(got["items"])
            if not got["items"] or offset >= got["total"]:
                return views

    # -- waivers, evidence, policies ----------------------------------------------------------------------------

    def waive(
        self, system: str, rule: str, *, reason: str, expires: dt.date, model_version: str | None = None
    ) -> dict[str, Any]:
        body = {"rule": rule, "reason": reason, "expires": expires.isoformat(), "model_version": model_version}
        return dict(self.call("POST", f"/api/systems/{self._q(system)}/waivers", body))

    def revoke_waiver(self, system: str, waiver_id: int, *, reason: str) -> dict[str, Any]:
        where = f"/api/systems/{self._q(system)}/waivers/{waiver_id}/revoke"
        return dict(self.call("POST", where, {"reason": reason}))

    def revoke_evidence(self, system: str, evidence_id: int, *, reason: str) -> dict[str, Any]:
        where = f"/api/systems/{self._q(system)}/evidence/{evidence_id}/revoke"
        return dict(self.call("POST", where, {"reason": reason}))

    def set_policy(self, system: str, *, text: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/api/systems/{self._q(system)}/policies", {"policy": text}))
