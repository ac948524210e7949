"""(being written)"""

from __future__ import annotations

from assay.services._base import Service

__all__ = ["Mitigation"]


class Mitigation(Service):
    """(being written)"""
