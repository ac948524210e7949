"""Bounded work: what a data file may hold before any engine reads it.

Two limits, checked cheaply before DuckDB opens a file (and the column count again after, on what it found):

* ``max_columns``: the number of columns, read from the CSV header line or the Parquet footer. DuckDB's CSV
  reader and the per-column checks (the PII scan, statistics) cost more than linearly in the column count.
* ``max_uncompressed_bytes``: what a compressed CSV (``.csv.gz``) expands to, counted by stream-decompressing it
  and stopping at the limit (a gzip trailer's size field is never trusted). A plain file's size is what it is on
  disk (the server's upload limit bounds it); a compressed file's is not, so a 1 MB file could make DuckDB read
  512 MiB.

Both come from :class:`assay.config.Settings` (``ASSAY_MAX_COLUMNS``, ``ASSAY_MAX_UNCOMPRESSED_BYTES``); every
refusal names the limit and the setting that raises it.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assay.config import Settings, load_settings
from assay.errors import InvalidInput

__all__ = [
    "Limits",
    "check_columns",
    "check_uncompressed",
    "csv_header_names",
    "csv_header_width",
    "parquet_columns",
    "repeated_names",
]

_HEADER_BYTES = 4 * 2**20  # DuckDB refuses longer lines (max_line_size 2 MiB) anyway
_CHUNK = 2**20
_DELIMITERS = (",", ";", "\t", "|")  # the delimiters DuckDB's sniffer tries


@dataclass(frozen=True)
class Limits:
    """The limits :func:`assay.frames.open` enforces (defaults: :class:`assay.config.Settings`)."""

    max_columns: int
    max_uncompressed_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Limits:
        """The limits of ``settings`` (default: read from the environment, ``ASSAY_MAX_...``)."""
        s = settings or load_settings()
        return cls(max_columns=s.max_columns, max_uncompressed_bytes=s.max_uncompressed_bytes)


def check_columns(count: int, limits: Limits, what: str) -> None:
    """Refuse more than ``limits.max_columns`` columns, naming the setting that raises the limit."""
    if count > limits.max_columns:
        raise InvalidInput(
            f"{what} has {count:,} columns, more than the limit of {limits.max_columns:,}: select the columns "
            "you need, or raise the limit (setting max_columns, environment ASSAY_MAX_COLUMNS)"
        )


def check_uncompressed(path: Path, limits: Limits) -> int:
    """Stream-decompress the gzip file ``path`` counting bytes; refuse it once it passes
    ``limits.max_uncompressed_bytes`` (without reading further). Returns the uncompressed size."""
    total = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > limits.max_uncompressed_bytes:
                    raise InvalidInput(
                        f"data file {str(path)!r} expands to more than {limits.max_uncompressed_bytes:,} bytes "
                        "uncompressed (the limit): give a smaller file or Parquet, or raise the limit (setting "
                        "max_uncompressed_bytes, environment ASSAY_MAX_UNCOMPRESSED_BYTES)"
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"cannot read {str(path)!r}: it is not a valid gzip file ({exc})") from exc
    return total


def _header_text(path: Path, compressed: bool) -> str:
    try:
        if compressed:
            with gzip.open(path, "rb") as stream:
                head = stream.read(_HEADER_BYTES)
        else:
            with path.open("rb") as plain:
                head = plain.read(_HEADER_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        kind = ": it is not a valid gzip file" if compressed else ""
        raise InvalidInput(f"cannot read {str(path)!r}{kind} ({exc})") from exc
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _first_record(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:  # e.g. a field longer than the csv module's limit: split the first line as it stands
        return text.split("\n", 1)[0].split(delimiter)


def csv_header_width(path: Path, *, compressed: bool) -> int:
    """An upper bound of the CSV file's column count, from its first line alone: the most fields any
    delimiter DuckDB could choose splits it into (a header of more than 4 MiB counts its first 4 MiB)."""
    text = _header_text(path, compressed)
    return max(len(_first_record(text, d)) for d in _DELIMITERS)


def repeated_names(header: Sequence[str], found: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The header's names that repeat, exactly or up to case, each mapped to the names DuckDB gave that group
    (it reads a second ``a`` as ``a_1``, and ``A`` next to ``a`` as ``A_2``). Empty when none repeats or the
    header does not line up with ``found``."""
    if len(header) != len(found):
        return {}
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        groups.setdefault(name.casefold(), []).append(i)
    out: dict[str, tuple[str, ...]] = {}
    for positions in groups.values():
        if len(positions) > 1:
            read_as = tuple(found[i] for i in positions)
            for i in positions:
                out[header[i]] = read_as
    return out


def csv_header_names(path: Path, *, compressed: bool, found: Sequence[str]) -> list[str] | None:
    """The header's names as written, split by the delimiter under which they match the ``found`` columns
    (DuckDB's names, which rename repeats ``a_1`` and blank names ``column1``); None when no delimiter does."""
    text = _header_text(path, compressed)
    for delimiter in _DELIMITERS:
        fields = _first_record(text, delimiter)
        if len(fields) != len(found):
            continue
        if all(
            name == field or name.startswith(f"{field}_") or (not field.strip() and name == f"column{i}")
            for i, (field, name) in enumerate(zip(fields, found, strict=True))
        ):
            return fields
    return None


def parquet_columns(path: Path) -> tuple[int, list[str]]:
    """The Parquet file's leaf-column count and top-level names, from its footer alone."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
        names = list(metadata.schema.to_arrow_schema().names)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InvalidInput(f"cannot read {str(path)!r}: {str(exc).splitlines()[0]}") from exc
    return int(metadata.num_columns), names
