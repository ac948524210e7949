"""Packages whose public names are imported on first use (PEP 562), so that importing one light module of a
package (its options, say) does not load the whole package and the numeric stack behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["attach"]


def attach(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` (public name -> the module defining it,
    ``module`` or ``module:attribute``) is imported when first asked for, then kept in the package."""

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(import_module(module), attribute or name)
        setattr(import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(import_module(package))) | set(names))

    return __getattr__, __dir__
