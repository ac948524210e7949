"""The one exception tree of Assay.

::

    AssayError
     ├── InvalidInput(ValueError)   bad data, column, value or option from the user (CLI exit code 2)
     ├── NotFound(LookupError)      a named thing does not exist
     ├── Conflict                   the request contradicts stored state
     ├── PermissionDenied           the actor may not do this
     ├── IntegrityViolation         stored data failed a check (hash chain, signature)
     ├── BackendUnsupported         the dataframe engine cannot do what was asked
 └── Cancelled                  a run was asked to stop (a job's cancel), before it recorded anything

No HTTP codes here: only the server maps these to status codes, and the CLI to exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AssayError",
    "BackendUnsupported",
    "Cancelled",
    "Conflict",
    "IntegrityViolation",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
]


class AssayError(Exception):
    """Base class of every error Assay raises on purpose."""


class InvalidInput(AssayError, ValueError):
    """The user's data or options cannot be used; the message names the column, value or field. ``fields`` maps
    each input field at fault to its problem, where the caller knows them (a web form shows each next to its
    field)."""

    def __init__(self, *args: object, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(*args)
        self.fields: dict[str, str] = dict(fields or {})


class NotFound(AssayError, LookupError):
    """A named object does not exist."""


class Conflict(AssayError):
    """The request contradicts the stored state."""


class PermissionDenied(AssayError):
    """The actor is not allowed to do this."""


class IntegrityViolation(AssayError):
    """Stored data failed an integrity check."""


class BackendUnsupported(AssayError):
    """The dataframe engine cannot do what was asked."""


class Cancelled(AssayError):
    """A run stopped because it was asked to (a job's cancel); nothing of it was recorded."""
