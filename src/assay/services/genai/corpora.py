"""``workspace.genai.corpora``: protected corpora, the documents the organisation must not reproduce.

:meth:`Corpora.add` reads a folder of ``.txt`` and ``.md`` files (each file one document, named by its path in the
folder) or a JSON Lines file (one document a line: ``{"text": ..., "id": ...}``, ``id`` or ``name`` optional),
writes the documents as one JSON Lines file to the artifact store, and records a new version of the named corpus
(``protected_corpora``; version 1, 2, ... per name), audited (``protected_corpus.create``). Sizes are bounded
(:data:`MAX_DOCUMENTS` documents, :data:`MAX_FILE_BYTES` per file, :data:`MAX_BYTES` in all): more is refused with
the limit named, never truncated. :meth:`Corpora.index` gives the :class:`~assay.genai.protected.CorpusIndex` of a
version (the latest by default), built once per stored file and kept (the last :data:`CACHED` of them).
"""

from __future__ import annotations

import builtins
import json
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from assay.errors import InvalidInput, NotFound, PermissionDenied
from assay.genai.protected import CorpusIndex
from assay.services import _lookup
from assay.services._base import Service
from assay.services.access import allowed, viewer_principal
from assay.services.registry import store_artifact
from assay.store.models import ProtectedCorpus, System

__all__ = ["CACHED", "MAX_BYTES", "MAX_DOCUMENTS", "MAX_FILE_BYTES", "Corpora"]

MAX_DOCUMENTS: Final = 100_000
MAX_FILE_BYTES: Final = 20_000_000
MAX_BYTES: Final = 200_000_000
CACHED: Final = 8
SUFFIXES: Final = (".txt", ".md")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _read_folder(folder: Path) -> list[dict[str, str]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise InvalidInput(f"{folder} has no .txt or .md files: give a folder of documents or a JSON Lines file")
    if len(files) > MAX_DOCUMENTS:
        raise InvalidInput(f"{folder} has {len(files)} documents, more than the limit of {MAX_DOCUMENTS}")
    documents, total = [], 0
    for file in files:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(f"{file} has {size} bytes, more than the limit of {MAX_FILE_BYTES} per document")
        total += size
        if total > MAX_BYTES:
            raise InvalidInput(f"the documents in {folder} pass the limit of {MAX_BYTES} bytes: split the corpus")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{file} is not UTF-8 text") from None
        documents.append({"name": file.relative_to(folder).as_posix(), "text": text})
    return documents


def _read_jsonl(file: Path) -> list[dict[str, str]]:
    size = file.stat().st_size
    if size > MAX_BYTES:
        raise InvalidInput(f"{file} has {size} bytes, more than the limit of {MAX_BYTES}: split the corpus")
    documents: list[dict[str, str]] = []
    with file.open(encoding="utf-8") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if len(documents) >= MAX_DOCUMENTS:
                    raise InvalidInput(f"{file} has more than {MAX_DOCUMENTS} documents, the limit")
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"{file} line {number} is not JSON: {exc.msg}") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise InvalidInput(f"{file} line {number}: each line must be an object with the document's text")
                label = row.get("id", row.get("name", f"line {number}"))
                documents.append({"name": str(label)[:200], "text": row["text"]})
        except UnicodeDecodeError:
            raise InvalidInput(f"{file} is not UTF-8 text") from None
    if not documents:
        raise InvalidInput(f"{file} has no documents")
    return documents


def read_documents(path: Path) -> list[dict[str, str]]:
    """The documents of a folder of .txt/.md files or a JSON Lines file (``name`` and ``text`` each)."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist: give a folder of .txt/.md files or a JSON Lines file")
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        raise InvalidInput(f"{path} is not a JSON Lines file (.jsonl): give it or a folder of .txt/.md files")
    return _read_jsonl(path)


# the indexes built, by (corpus name, stored file's SHA-256): shared by the workspaces of one process (the server
# makes one per request, acting as its user); content-addressed, so a new version is a new key
_CACHE: Final[OrderedDict[tuple[str, str], CorpusIndex]] = OrderedDict()
_LOCK: Final = threading.Lock()


class Corpora(Service):
    """Protected corpora: add (a new version), list, get, documents, index (cached)."""

    def add(self, name: str, path: Path | str, system: str | None = None, description: str = "") -> ProtectedCorpus:
        """Register the documents at ``path`` as the next version of corpus ``name`` (see the module's docstring);
        ``system`` (optional) is the AI system it protects (you must be able to change it)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(f"corpus name {name!r}: use 1-100 letters, digits, '.', '_' or '-' (starting with one)")
        if len(description) > 2_000:
            raise InvalidInput(f"description has {len(description)} characters, more than the limit of 2000")
        documents = read_documents(Path(path))
        if "\x00" in description or any("\x00" in d["text"] or "\x00" in d["name"] for d in documents):
            raise InvalidInput("the corpus contains a NUL character: remove it")
        body = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents).encode()
        with self._read() as session:  # refused before anything is stored
            self._system(session, system)
        stored = self.ws.artifacts.put_bytes(body)
        words = sum(len(d["text"].split()) for d in documents)
        with self._write() as tx:
            owner = self._system(tx.session, system)
            latest = tx.session.execute(
                select(func.max(ProtectedCorpus.version)).where(ProtectedCorpus.name == name)
            ).scalar()
            artifact = store_artifact(tx, stored, f"{name}.jsonl", "application/x-ndjson")
            corpus = ProtectedCorpus(
                name=name,
                version=(latest or 0) + 1,
                system_id=None if owner is None else owner.id,
                description=description,
                artifact_sha256=artifact.sha256,
                documents=len(documents),
                created_by=tx.actor,
            )
            tx.session.add(corpus)
            payload = {"name": name, "documents": len(documents), "words": words, "sha256": artifact.sha256}
            if owner is not None:
                payload["system"] = owner.name
            tx.record("protected_corpus.create", corpus, before=None, payload=payload)
        return corpus

    @staticmethod
    def _system(session: Any, system: str | None) -> System | None:
        if system is None:
            return None
        principal = viewer_principal(session)
        if principal is not None and not allowed(principal, "read", system):
            raise NotFound(f"no AI system named {system!r}")
        owner = _lookup.system(session, system)
        if principal is not None and not allowed(principal, "write", system):
            raise PermissionDenied(f"{principal.name} may not add a protected corpus of system {system!r}")
        return owner

    @staticmethod
    def _visible(session: Any, rows: builtins.list[ProtectedCorpus]) -> builtins.list[ProtectedCorpus]:
        """The corpora the viewer may see: those of no system, and those of systems they may read."""
        principal = viewer_principal(session)
        if principal is None:
            return rows
        ids = {r.system_id for r in rows if r.system_id is not None}
        names = {row[0]: row[1] for row in session.execute(select(System.id, System.name).where(System.id.in_(ids)))}
        return [r for r in rows if r.system_id is None or allowed(principal, "read", names.get(r.system_id, ""))]

    def list(self, *, name: str | None = None) -> builtins.list[ProtectedCorpus]:
        """Every corpus version the viewer may see (of ``name`` only, when given), by name and version."""
        with self._read() as session:
            query = select(ProtectedCorpus).order_by(ProtectedCorpus.name, ProtectedCorpus.version)
            if name is not None:
                query = query.where(ProtectedCorpus.name == name)
            return self._visible(session, list(session.execute(query).scalars()))

    def get(self, name: str, version: int | None = None) -> ProtectedCorpus:
        """Corpus ``name`` at ``version`` (the latest by default)."""
        with self._read() as session:
            query = select(ProtectedCorpus).where(ProtectedCorpus.name == name)
            if version is not None:
                query = query.where(ProtectedCorpus.version == version)
            found = session.execute(query.order_by(ProtectedCorpus.version.desc()).limit(1)).scalar_one_or_none()
            if found is not None and not self._visible(session, [found]):
                found = None
        if found is None:
            which = f"corpus {name!r}" if version is None else f"version {version} of corpus {name!r}"
            raise NotFound(f"no protected {which}: register it with `assay guard corpus add {name} PATH`")
        return found

    def documents(self, name: str, version: int | None = None) -> builtins.list[dict[str, str]]:
        """The stored documents of a corpus version (``name`` and ``text`` each)."""
        corpus = self.get(name, version)
        with self.ws.artifacts.open(corpus.artifact_sha256) as handle:
            return [json.loads(line) for line in handle.read().decode().splitlines() if line]

    def index(self, name: str, version: int | None = None) -> CorpusIndex:
        """The :class:`CorpusIndex` of a corpus version (the latest by default), built once and kept."""
        corpus = self.get(name, version)
        key = (corpus.name, corpus.artifact_sha256)
        with _LOCK:
            cached = _CACHE.get(key)
            if cached is not None:
                _CACHE.move_to_end(key)
                return cached
        documents = self.documents(name, corpus.version)
        built = CorpusIndex.from_documents(
            [d["text"] for d in documents], name=corpus.name, names=[d["name"] for d in documents]
        )
        with _LOCK:
            _CACHE[key] = built
            while len(_CACHE) > CACHED:
                _CACHE.popitem(last=False)
        return built
