"""Lazy loading of the ``assay`` subcommands: ``assay --help`` imports none of the command modules.

The root group knows each top-level command's name, the module that registers it and its one-line help (the
table in :mod:`assay.cli.app`); the module is imported when the command is run, when its own ``--help`` is asked
for, or when something reads ``group.commands[name]`` (the reference generator, tests). This is click's documented
"lazy loading subcommands" pattern, adapted to Typer: Typer builds the root group through ``cls=``, and its help
listing reads each command's short help, which the table provides without importing the module.
A test checks that the table's help equals the commands' own help, and that ``import assay.cli.app`` loads no
numeric or database package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command

__all__ = ["LazyCommand", "LazyGroup"]


@dataclass(frozen=True)
class LazyCommand:
    """A top-level command added by ``module.<register>(app)``; ``help`` is its first help paragraph."""

    module: str
    help: str
    register: str = "register"


class _Commands(MutableMapping[str, Any]):
    """The root group's ``commands``: the names are known up front, a command is built on first access."""

    def __init__(self, eager: Mapping[str, Any], lazy: Mapping[str, LazyCommand]) -> None:
        self._loaded: dict[str, Any] = dict(eager)
        self._lazy = lazy

    def loaded(self, name: str) -> bool:
        return name in self._loaded or name not in self._lazy

    def _load(self, lazy: LazyCommand) -> None:
        # The module registers its commands on a throwaway Typer app (with a callback, so that Typer makes it a
        # group even when the module registers one command); the root group adopts them.
        holder = typer.Typer()
        holder.callback()(_no_op)
        getattr(import_module(lazy.module), lazy.register)(holder)
        group = get_command(holder)
        for name, command in getattr(group, "commands", {}).items():
            self._loaded.setdefault(name, command)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded and name in self._lazy:
            self._load(self._lazy[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._lazy
        yield from (name for name in self._loaded if name not in self._lazy)

    def __len__(self) -> int:
        return len(self._lazy) + sum(1 for name in self._loaded if name not in self._lazy)

    def __contains__(self, name: object) -> bool:
        return name in self._lazy or name in self._loaded


def _no_op() -> None:
    """Holder of lazily loaded commands."""


class LazyGroup(TyperGroup):
    """A Typer group whose top-level commands are imported on first use; subclasses set ``lazy``."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(commands=commands, **attrs)
        self.commands = _Commands(self.commands, self.lazy)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names only: TyperGroup's reads every command

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands = self.commands
        if self._listing and isinstance(commands, _Commands) and not commands.loaded(cmd_name):
            # the help listing needs only the name and the one-line help: a stand-in, nothing imported
            return TyperCommand(name=cmd_name, help=self.lazy[cmd_name].help)
        return commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
