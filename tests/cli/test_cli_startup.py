"""The command line starts fast because it imports only what a command uses (issue 12, "A fast command line").

Structural checks, not timings (benchmarks/cli_startup.py times it): ``assay --help`` loads none of the command
modules nor the numeric, database or web stack, and the table of lazily loaded commands says what the modules
really register, with their own help.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import import_module

import pytest
import typer
from typer.main import get_command

from assay.cli import app
from assay.cli.app import COMMANDS

HEAVY = ("sqlalchemy", "alembic", "pandas", "numpy", "duckdb", "pyarrow", "narwhals", "fastapi", "jinja2", "scipy")


def _loaded_after(code: str) -> list[str]:
    """The heavy packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_package() -> None:
    assert _loaded_after("import assay.cli.app") == []


def test_assay_help_loads_no_heavy_package_nor_any_command_module() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from assay.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['--help']) == 0\n"
        "assert 'assess' in out.getvalue() and 'audit' in out.getvalue()\n"
        "modules = {c.module for c in sys.modules['assay.cli.app'].COMMANDS.values()} - {'assay.cli.app'}\n"
        "assert not modules & set(sys.modules), modules & set(sys.modules)\n"
    )
    assert _loaded_after(code) == []


def test_assess_and_audit_help_load_no_database_nor_numeric_package() -> None:
    for command in ("assess", "audit"):
        code = (
            "import contextlib, io\n"
            "from assay.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main([{command!r}, '--help']) == 0\n"
        )
        assert _loaded_after(code) == [], command


def test_the_lazy_table_matches_the_registered_commands_and_their_help() -> None:
    root = get_command(app)
    commands = root.commands  # type: ignore[attr-defined]
    for name, lazy in COMMANDS.items():
        command = commands[name]  # loads the module
        assert command.name == name
        own = (command.short_help or command.help or "").strip().split("\n\n")[0]
        assert " ".join(own.split()) == lazy.help, name
    # loading every module added no command the table does not know (it would be missing from `assay --help`)
    assert list(commands) == list(COMMANDS)


def test_help_listing_is_the_same_with_the_commands_loaded_or_not(capsys: pytest.CaptureFixture[str]) -> None:
    def listing(load: bool) -> str:
        root = get_command(app)
        if load:
            for name in COMMANDS:
                root.commands[name]  # type: ignore[attr-defined]
        root.get_help(root.context_class(root, info_name="assay"))  # Typer's rich help prints as it goes
        return capsys.readouterr().out

    lazy_help = listing(load=False)
    assert lazy_help == listing(load=True)
    assert all(f" {name} " in lazy_help for name in COMMANDS)


def _registered(app: typer.Typer) -> int:
    """How many commands and groups ``app`` holds, its groups' own included."""
    return len(app.registered_commands) + sum(
        1 + _registered(group.typer_instance) for group in app.registered_groups if group.typer_instance is not None
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_registering_a_command_module_again_adds_nothing_again(name: str) -> None:
    """Each run of the command line registers the module's commands on a new root: a module that registered its
    parts on a group of its own kept at module level added all of them again on every run, so that in-process runs
    (tests, notebooks) became slower with each one (a test of 20 commands took 35 s; 2 s now)."""
    lazy = COMMANDS[name]
    sizes = []
    for _ in range(3):
        holder = typer.Typer()
        getattr(import_module(lazy.module), lazy.register)(holder)
        sizes.append(_registered(holder))
    assert sizes[0] > 0 and len(set(sizes)) == 1, sizes
