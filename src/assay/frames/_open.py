"""Open user data as a lazy narwhals frame, computed on the engine it lives on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals as nw

from assay.errors import InvalidInput
from assay.frames._limits import (
    Limits,
    check_columns,
    check_uncompressed,
    csv_header_names,
    csv_header_width,
    parquet_columns,
    repeated_names,
)

__all__ = ["Frame", "Limits", "open"]

_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz"}
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}  # JSON Lines: one object per line (a generative test set)
_CSV_TYPES = ["BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "VARCHAR"]


@dataclass(frozen=True)
class Frame:
    """A lazy frame plus where it came from.

    ``lazy`` is a narwhals ``LazyFrame`` on the user's engine (DuckDB for files). Only small aggregates are
    ever collected from it.
    """

    lazy: nw.LazyFrame[Any]
    source: str
    engine: str
    schema: dict[str, nw.dtypes.DType] = field(repr=False)
    _keepalive: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    path: Path | None = field(default=None, repr=False, compare=False)  # the file it reads, if any
    # header names that repeat (exactly or up to case) -> the names the engine read them as (a, a_1)
    repeated: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def columns(self) -> list[str]:
        return list(self.schema)

    def explain_renamed(self, name: str) -> None:
        """Refuse, explaining why, a name of the file's header that the engine read under another name: DuckDB
        reads a name the header repeats (exactly or up to case) as ``a_1``, ``A_2``; the first keeps its name."""
        read_as = self.repeated.get(name)
        if read_as is not None and name not in self.schema:
            raise InvalidInput(
                f"column {name!r} is not in the data as written: the header of {self.source} repeats it (exactly or "
                f"up to case) and the columns were read as {', '.join(repr(r) for r in read_as)}; use the name it "
                "was read as, or give every column a distinct name in the file"
            )

    def require_columns(self, *names: str | None) -> None:
        """Raise :class:`InvalidInput` naming the first missing column and listing those present."""
        for name in names:
            if name is not None:
                self.explain_renamed(name)
            if name is not None and name not in self.schema:
                near = [c for c in self.columns if c.casefold() == name.casefold()]
                if near:
                    raise InvalidInput(
                        f"column {name!r} is not in the data; did you mean {near[0]!r}? (names are case-sensitive)"
                    )
                shown = ", ".join(self.columns[:40]) + (" ..." if len(self.columns) > 40 else "")
                raise InvalidInput(f"column {name!r} is not in the data; columns present: {shown}")


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if len(suffixes) == 2 and suffixes[1] == ".gz":
        return "".join(suffixes)
    return suffixes[-1] if suffixes else ""


def _open_path(path: Path, source: str | None, limits: Limits) -> Frame:
    import duckdb

    if not path.exists():
        raise InvalidInput(f"data file {str(path)!r} does not exist")
    if path.is_dir():
        raise InvalidInput(f"data path {str(path)!r} is a folder; give a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise InvalidInput(f"data file {str(path)!r} is empty")
    kind = _suffix(path)
    what = f"data file {str(path)!r}"
    compressed = kind.endswith(".gz")
    if kind in _PARQUET_SUFFIXES:
        width, names = parquet_columns(path)
        check_columns(width, limits, what)
    elif kind in _CSV_SUFFIXES:
        # before DuckDB sniffs the file: its cost grows faster than the column count, and with the size it reads
        check_columns(csv_header_width(path, compressed=compressed), limits, what)
        if compressed:
            check_uncompressed(path, limits)
    con = duckdb.connect(":memory:")
    try:
        if kind in _PARQUET_SUFFIXES:
            rel = con.read_parquet(str(path))
        elif kind in _CSV_SUFFIXES:
            # DuckDB types each column from all its values: numbers stay numbers, a column that mixes numbers
            # and text stays text. Booleans are not guessed: "Yes"/"No" stay the text the file holds.
            rel = con.read_csv(str(path), header=True, sample_size=-1, auto_type_candidates=_CSV_TYPES)
        elif kind in _JSONL_SUFFIXES:  # the columns are the objects' keys (every line read to type them)
            rel = con.read_json(str(path), format="newline_delimited", sample_size=-1)
        else:
            raise InvalidInput(
                f"cannot tell the format of {str(path)!r} from its suffix {kind or '(none)'!r}; "
                "use .csv, .tsv, .csv.gz, .parquet or .jsonl"
            )
    except duckdb.Error as exc:
        raise InvalidInput(f"cannot read {str(path)!r}: {str(exc).splitlines()[0]}") from exc
    lazy = nw.from_native(rel)
    schema = dict(lazy.collect_schema())
    check_columns(len(schema), limits, what)
    header: list[str] | None = None
    if kind in _JSONL_SUFFIXES:
        header = list(schema)
    else:
        header = (
            names if kind in _PARQUET_SUFFIXES else csv_header_names(path, compressed=compressed, found=list(schema))
        )
    repeated = repeated_names(header or [], list(schema))
    return Frame(
        lazy=lazy,
        source=source or str(path),
        engine="duckdb",
        schema=schema,
        _keepalive=(con,),
        path=path,
        repeated=repeated,
    )


def open(data: Any, *, source: str | None = None, limits: Limits | None = None) -> Frame:
    """Open ``data`` lazily.

    ``data`` is a path to a CSV or Parquet file (read by DuckDB, never loaded whole), or a pandas, Polars,
    PyArrow, DuckDB or PySpark frame (wrapped by narwhals and computed on that engine). ``source`` is what results
    say the data is (default: the path, or the frame's type). ``limits`` bound the work (default: the settings
    ``max_columns`` and ``max_uncompressed_bytes``, from ``ASSAY_MAX_COLUMNS`` and
    ``ASSAY_MAX_UNCOMPRESSED_BYTES``): more columns, a compressed file that expands past the limit, or column
    names that repeat (exactly or up to case) are :class:`InvalidInput`.
    """
    if isinstance(data, Frame):
        return data
    limits = limits or Limits.from_settings()
    if isinstance(data, str | os.PathLike):
        return _open_path(Path(data), source, limits)
    try:
        wrapped = nw.from_native(data)
    except nw.exceptions.DuplicateError as exc:
        raise InvalidInput(f"{' '.join(str(exc).split())}; give every column a distinct name") from exc
    except TypeError as exc:
        raise InvalidInput(
            f"cannot use data of type {type(data).__module__}.{type(data).__name__}; give a CSV or Parquet "
            "path, or a pandas, Polars, PyArrow, DuckDB or PySpark frame"
        ) from exc
    if isinstance(wrapped, nw.Series):
        raise InvalidInput("got a single series; give a frame with named columns")
    lazy = wrapped.lazy() if isinstance(wrapped, nw.DataFrame) else wrapped
    engine = str(lazy.implementation).lower().split(".")[-1]
    native = type(data)
    name = source or f"{native.__module__.split('.')[0]}.{native.__name__}"
    try:
        schema = dict(lazy.collect_schema())
    except nw.exceptions.DuplicateError as exc:
        raise InvalidInput(f"{name}: {' '.join(str(exc).split())}; give every column a distinct name") from exc
    check_columns(len(schema), limits, f"the {name} frame")
    for column in schema:
        if not isinstance(column, str):
            raise InvalidInput(f"column name {column!r} is not a string; name every column")
    return Frame(lazy=lazy, source=name, engine=engine, schema=schema)
