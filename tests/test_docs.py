"""The documentation names every metric and every command-line option that exists."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from assay.cli import app
from assay.metrics import ALL_METRICS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_metric_has_a_section() -> None:
    text = (DOCS / "bias-metrics.md").read_text()
    for m in ALL_METRICS:
        assert re.search(rf"^### {m.name}: ", text, re.M), m.name


def test_every_cli_option_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    command = get_command(app).commands["assess"]  # type: ignore[attr-defined]
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert f"`{opt}" in text, opt


def test_readme_opens_with_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]


def test_cli_reference_is_current() -> None:
    from assay.cli._reference import reference

    current = (DOCS / "cli-reference.md").read_text()
    assert current == reference(), "regenerate: .venv/bin/python -m assay.cli._reference > docs/cli-reference.md"


def test_docs_link_to_existing_pages() -> None:
    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
