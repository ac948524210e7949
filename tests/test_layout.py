"""The test suite's layout: test modules sit in a folder named after the layer of src/assay they exercise (or at the
top for the few that check the project as a whole), and no test module imports another; what modules share lives
in tests/support and tests/conftest.py."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src" / "assay"

# folders named after a package of src/assay, plus the browser tier, which drives the whole application
LAYERS = {
    "adapters",
    "checks",
    "cli",
    "explain",
    "frames",
    "genai",
    "governance",
    "metrics",
    "mitigate",
    "privacy",
    "reports",
    "robustness",
    "server",
    "services",
    "store",
}
FOLDERS = LAYERS | {"browser"}
PROJECT_WIDE = {"test_docs.py", "test_layout.py", "test_limits.py", "test_public_api.py"}  # across every layer
SHARED = "tests.support"  # the one place test code may import from within tests/


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if not {"data", "oracle"} & set(p.relative_to(TESTS).parts[:-1]))


def _module(path: Path) -> str:
    parts = path.relative_to(TESTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, source: str | None = None) -> list[str]:
    """The absolute names of the modules ``path`` (or ``source`` as though it were at ``path``) imports, relative
    imports resolved."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(source or path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]  # `from tests import test_x`
    return names


def _is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.split(".")[0] == "tests" and (last.startswith("test_") or last == "conftest")


def test_no_test_code_imports_a_test_module_or_conftest() -> None:
    offences = [
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in _python_files()
        for name in _imported(path)
        if _is_test_module(name)
    ]
    assert not offences, (
        "move what is shared to tests/support (helpers) or tests/conftest.py (fixtures):\n" + "\n".join(offences)
    )


def test_tests_import_from_within_tests_only_through_support() -> None:
    offences = [
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in _python_files()
        for name in _imported(path)
        if name.split(".")[0] == "tests" and name != "tests" and not (name + ".").startswith(SHARED + ".")
    ]
    assert not offences, "\n".join(offences)


def _misplaced(paths: list[Path]) -> list[str]:
    def placed(path: Path) -> bool:
        folder = path.parent.relative_to(TESTS).parts
        return path.name in PROJECT_WIDE if folder == () else len(folder) == 1 and folder[0] in FOLDERS

    return [str(path.relative_to(TESTS.parent)) for path in paths if not placed(path)]


def test_every_test_module_sits_in_a_layer_folder() -> None:
    misplaced = _misplaced(sorted(TESTS.rglob("test_*.py")))
    assert not misplaced, f"put test modules in tests/<layer>/ for a layer in {sorted(FOLDERS)}: {misplaced}"


def test_layer_folders_mirror_src_and_are_packages() -> None:
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    assert packages >= LAYERS, f"not a package of src/assay: {sorted(LAYERS - packages)}"
    for name in [*FOLDERS, "support"]:
        assert (TESTS / name / "__init__.py").is_file(), f"tests/{name} needs an __init__.py (module names are unique)"


def test_the_checks_above_catch_what_they_forbid() -> None:
    source = (
        "from tests.server.test_server import serving\nfrom . import test_ledger\nimport tests.conftest\n"
        "from .. import support\nfrom tests.support.server import serving as s\n"
    )
    names = _imported(TESTS / "store" / "test_probe.py", source)
    assert [n for n in names if _is_test_module(n)] == [
        "tests.server.test_server",
        "tests.store.test_ledger",
        "tests.conftest",
    ]
    assert {"tests.support", "tests.support.server"} <= set(names)
    paths = ["test_new.py", "misc/test_a.py", "store/sub/test_b.py", "support/test_c.py", "store/test_d.py"]
    assert _misplaced([TESTS / p for p in paths]) == [f"tests/{p}" for p in paths[:4]]
