"""(being written)"""

from __future__ import annotations

from assay.services._base import Service

__all__ = ["DataChecks"]


class DataChecks(Service):
    """(being written)"""
