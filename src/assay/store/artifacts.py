"""Content-addressed files: every artifact is stored once under its SHA-256 (``sha256/ab/abcdef...``).

Files are streamed (never read whole into memory), written to a temporary file in the store and renamed into
place, so a crash never leaves a partial artifact under a valid name. Nothing a user sends becomes a path: the
path is derived from the digest only. Folders are 0700 and files 0400: readable by the owner only, whatever the
umask.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO, Final

from assay.errors import IntegrityViolation, InvalidInput, NotFound

__all__ = ["ArtifactStore", "StoredFile", "private_folder", "safe_name", "sha256_file"]

_CHUNK: Final = 1 << 20
_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")


def private_folder(path: Path, *, under: Path | None = None) -> Path:
    """Create ``path`` (and its missing parents up from ``under``) readable by the owner only, 0700, whatever the
    process's umask; an existing folder is left as it is."""
    between = [] if under is None else [under / part for part in reversed(path.relative_to(under).parents[:-1])]
    levels = [*between, path]
    for level in levels:
        if not level.is_dir():
            level.mkdir(mode=0o700, exist_ok=True)
            level.chmod(0o700)  # mkdir's mode passes through the umask; chmod does not
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def safe_name(name: str, default: str = "file") -> str:
    """A file name a user gave, reduced to a base name that cannot leave a folder: no folders, no NUL, not
    ``.`` or ``..``, at most 200 bytes (a longer or empty name becomes ``default`` with the name's suffix)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "").strip()
    if base in ("", ".", "..") or len(base.encode()) > 200:
        suffix = PurePath(base).suffix if base not in ("", ".", "..") else ""
        return default + (suffix if 1 < len(suffix) <= 20 else "")
    return base


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: Path


class ArtifactStore:
    """The artifact folder of a workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not _DIGEST.match(sha256):
            raise InvalidInput(f"{sha256!r} is not a SHA-256 digest (64 lower-case hex digits)")
        return self.root / "sha256" / sha256[:2] / sha256

    def _put_stream(self, chunks: Iterable[bytes]) -> StoredFile:
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            private_folder(self.root)
        digest = hashlib.sha256()
        size = 0
        handle, temp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            target = self.path_of(digest.hexdigest())
            private_folder(target.parent, under=self.root)
            if target.exists():
                os.unlink(temp_name)
            else:
                os.chmod(temp_name, 0o400)  # read-only, and for the owner only (as its folders)
                os.replace(temp_name, target)
        except BaseException:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
            raise
        return StoredFile(digest.hexdigest(), size, target)

    def put_file(self, source: Path) -> StoredFile:
        if not source.is_file():
            raise InvalidInput(f"{source} is not a file")
        with source.open("rb") as handle:
            return self.put_stream(handle)

    def put_stream(self, handle: BinaryIO) -> StoredFile:
        return self._put_stream(iter(lambda: handle.read(_CHUNK), b""))

    def put_bytes(self, data: bytes) -> StoredFile:
        return self._put_stream([data])

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound(f"artifact {sha256} is not in the artifact store {self.root}")
        return path.open("rb")

    def verify(self, sha256: str) -> None:
        """Re-hash a stored file; :class:`IntegrityViolation` when its content no longer matches its name."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound(f"artifact {sha256} is not in the artifact store {self.root}")
        actual = sha256_file(path)
        if actual != sha256:
            raise IntegrityViolation(f"artifact {sha256} was changed on disk: its content hashes to {actual}")

    @contextmanager
    def linked(self, files: Mapping[str, str]) -> Iterator[dict[str, Path]]:
        """Stored files (name -> SHA-256) under their names (see :func:`safe_name`) in one new temporary folder,
        removed afterwards: for readers that tell a file's format by its name (``.csv``, ``.parquet``, ``.skops``).

        The files are links to the store, never copies. A bad-input error raised inside names the files, not the
        temporary folder."""
        links: dict[str, Path] = {}
        with tempfile.TemporaryDirectory(prefix="assay-") as folder:
            for name, sha256 in files.items():
                source = self.path_of(sha256)
                if not source.is_file():
                    raise NotFound(f"artifact {sha256} is not in the artifact store")
                link = Path(folder) / safe_name(name)
                if link.exists():
                    raise InvalidInput(f"two files named {link.name!r}")
                link.symlink_to(source)
                links[name] = link
            try:
                yield links
            except InvalidInput as exc:
                message = str(exc)
                shown = message
                for link in links.values():
                    shown = shown.replace(str(link), link.name)
                if shown == message:
                    raise
                raise InvalidInput(shown) from exc

    @contextmanager
    def linked_file(self, sha256: str, name: str) -> Iterator[Path]:
        """One stored file under ``name`` in a new temporary folder (see :meth:`linked`)."""
        with self.linked({name: sha256}) as links:
            yield links[name]
