"""``assay guard corpus``: protected corpora (documents the organisation must not reproduce): add a version from a
folder of .txt/.md files or a JSON Lines file, list them, and match a text against one."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, print_record, table

__all__ = ["register"]

corpus_app = typer.Typer(
    help="Protected corpora (documents not to be reproduced): add a version, list, match a text.", no_args_is_help=True
)
_COLUMNS = ["name", "version", "documents", "system_id", "description", "created_by", "created_at"]


@corpus_app.command("add")
def corpus_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The corpus's name (a new version when it exists).")],
    path: Annotated[
        Path, typer.Argument(help="A folder of .txt/.md files (one document each) or a JSON Lines file with 'text'.")
    ],
    system: Annotated[str | None, typer.Option(help="The AI system it protects.")] = None,
    description: Annotated[str, typer.Option(help="What the corpus is.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register documents as the next version of a protected corpus (stored in the artifact store, audited)."""
    corpus = open_workspace(ctx).genai.corpora.add(name, path, system=system, description=description)
    print_record(corpus.state(), title=f"protected corpus {corpus.name} version {corpus.version}", as_json=as_json)


@corpus_app.command("list")
def corpus_list(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the versions of this corpus.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The protected corpora, every version."""
    rows = [c.state() for c in open_workspace(ctx).genai.corpora.list(name=name)]
    table(rows, _COLUMNS, title="Protected corpora", as_json=as_json)


@corpus_app.command("match")
def corpus_match(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The corpus.")],
    file: Annotated[Path | None, typer.Option(help="The text to compare (default: standard input).")] = None,
    version: Annotated[int | None, typer.Option(help="The corpus version (default: the latest).")] = None,
    near: Annotated[bool, typer.Option("--near", help="Also look for near copies (MinHash LSH).")] = False,
    as_json: JsonOption = False,
) -> None:
    """How much of a text is copied from a corpus: the longest verbatim span, the share of words in spans of 8 words
    or more, each span quoted by its first words only."""
    text = file.read_text(encoding="utf-8") if file is not None else sys.stdin.read()
    match = open_workspace(ctx).genai.corpora.index(name, version).overlap(text, near=near)
    record = {
        "corpus": name, "words": match.words, "share": round(match.share, 4), "longest_words": match.longest_words,
        "near": None if match.near is None else round(match.near, 4), "near_document": match.near_document,
    }  # fmt: skip
    if as_json:
        print_json({**record, "spans": [s.to_dict() for s in match.spans]})
        return
    print_record(record, title=f"overlap with {name}")
    spans = [
        {"words": s.words, "document": s.name, "start": s.start, "end": s.end, "quote": s.quote} for s in match.spans
    ]
    if spans:
        table(spans, ["words", "document", "start", "end", "quote"], title="Verbatim spans")


def register(guard_app: typer.Typer) -> None:
    """Add ``assay guard corpus`` to ``assay guard``."""
    guard_app.add_typer(corpus_app, name="corpus")
