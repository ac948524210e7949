"""(being written)"""

from __future__ import annotations

from assay.services._base import Service

__all__ = ["Explanations"]


class Explanations(Service):
    """(being written)"""
