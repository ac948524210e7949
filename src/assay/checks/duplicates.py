"""Duplicate rows, counted on the engine, with examples named by row position (or an id column), never by value.

One grouped pass counts the rows of every distinct combination of the compared columns (missing values, NaN
included, compare equal); only the totals and the few largest groups are collected. The examples' positions come
from one more pass that marks the rows of those groups (a one-byte column), in reading order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import narwhals as nw
import numpy as np

from assay.checks._common import (
    DataInfo,
    check_share,
    clean,
    data_info,
    envelope,
    json_float,
    now,
    require_columns,
    require_rows,
)
from assay.errors import InvalidInput
from assay.frames import Frame
from assay.frames import open as open_frame

__all__ = ["DuplicateGroup", "Duplicates", "find_duplicates", "key_columns", "match_rows"]

MAX_POSITIONS: Final = 10
_N = "__assay_n"
_G = "__assay_group"


@dataclass(frozen=True)
class DuplicateGroup:
    """Rows that are equal on the compared columns: how many, and the first positions (0-based, reading order)
    or values of the id column; ``values`` only for the columns the caller allowed to show."""

    rows: int
    positions: tuple[int, ...]
    ids: tuple[Any, ...] | None
    values: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "positions": list(self.positions)}
        if self.ids is not None:
            out["ids"] = [str(v) for v in self.ids]
        if self.values:
            out["values"] = {k: None if v is None else str(v) for k, v in self.values.items()}
        return out


@dataclass(frozen=True)
class Duplicates:
    """Duplicate rows: ``duplicate_rows`` extra copies (rows beyond the first of each group) in ``groups`` groups."""

    data: DataInfo
    columns: tuple[str, ...]
    id_column: str | None
    duplicate_rows: int
    groups: int
    rows_in_groups: int
    examples: tuple[DuplicateGroup, ...]
    max_share: float
    created_at: str

    @property
    def share(self) -> float:
        return self.duplicate_rows / self.data.rows if self.data.rows else 0.0

    @property
    def passed(self) -> bool:
        return self.share <= self.max_share

    def to_dict(self) -> dict[str, Any]:
        return envelope(
            "duplicates",
            data=self.data,
            spec={"columns": list(self.columns), "id_column": self.id_column, "max_share": self.max_share},
            passed=self.passed,
            summary=f"{self.duplicate_rows} duplicate rows ({self.share:.2%}) in {self.groups} groups",
            result={
                "duplicate_rows": self.duplicate_rows,
                "share": json_float(self.share),
                "groups": self.groups,
                "rows_in_groups": self.rows_in_groups,
                "examples": [g.to_dict() for g in self.examples],
            },
            created_at=self.created_at,
        )


def key_columns(frame: Frame, columns: Sequence[str] | None, exclude: Sequence[str]) -> tuple[str, ...]:
    require_columns(frame, list(columns or []) + list(exclude))
    keys = tuple(c for c in (columns or frame.columns) if c not in set(exclude))
    if not keys:
        raise InvalidInput("no columns left to compare: every column is excluded")
    return keys


def match_rows(frame: Frame, columns: Sequence[str], groups: Sequence[Sequence[Any]]) -> nw.Expr:
    """An Int16 expression: ``g + 1`` where the row equals ``groups[g]`` on ``columns`` (null equals null), else 0."""
    expr: nw.Expr = nw.lit(0, nw.Int16)
    for g in reversed(range(len(groups))):
        conditions = []
        for column, value in zip(columns, groups[g], strict=True):
            cleaned = clean(column, frame.schema[column])
            conditions.append(cleaned.is_null() if value is None else (cleaned == value).fill_null(value=False))
        expr = nw.when(nw.all_horizontal(*conditions, ignore_nulls=False)).then(nw.lit(g + 1, nw.Int16)).otherwise(expr)
    return expr


def find_duplicates(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    id_column: str | None = None,
    examples: int = 5,
    show: Sequence[str] = (),
    max_share: float = 0.0,
) -> Duplicates:
    """Count duplicate rows of ``data`` on ``columns`` (default: all but ``exclude`` and ``id_column``).

    The ``examples`` largest groups are listed by row position (0-based, in reading order; and by the values of
    ``id_column`` when given); values are shown only for the columns in ``show``. The check passes when the
    share of duplicate rows is at most ``max_share``."""
    check_share(max_share)
    frame = open_frame(data)
    require_columns(frame, [id_column, *show], role="column")
    keys = key_columns(frame, columns, [*exclude, *([id_column] if id_column else [])])
    for column in show:
        if column not in keys:
            raise InvalidInput(f"column {column!r} to show is not one of the compared columns")
    if examples < 0:
        raise InvalidInput(f"examples must be 0 or more, not {examples}")
    info = data_info(frame)
    require_rows(info)
    aliases = [f"k{i}" for i in range(len(keys))]
    counted = (
        frame.lazy.select(**{a: clean(c, frame.schema[c]) for a, c in zip(aliases, keys, strict=True)})
        .group_by(*aliases)
        .agg(nw.len().alias(_N))
        .filter(nw.col(_N) > 1)
    )
    totals = counted.select(nw.len().alias("groups"), nw.col(_N).sum().alias("rows")).collect().to_dict(as_series=False)
    groups = int(totals["groups"][0])
    in_groups = int(totals["rows"][0] or 0)
    found: list[DuplicateGroup] = []
    if groups and examples:
        top = (
            counted.sort([_N, *aliases], descending=[True] + [False] * len(aliases), nulls_last=True)
            .head(examples)
            .collect()
            .to_dict(as_series=False)
        )
        rows = [tuple(top[a][i] for a in aliases) for i in range(len(top[_N]))]
        rows = [tuple(None if isinstance(v, float) and np.isnan(v) else v for v in row) for row in rows]
        marks = frame.lazy.select(match_rows(frame, keys, rows).alias(_G), *([nw.col(id_column)] if id_column else []))
        marked = marks.collect().to_dict(as_series=False)
        codes = np.asarray(marked[_G], dtype=np.int64)
        for g, row in enumerate(rows):
            where = np.flatnonzero(codes == g + 1)
            ids = tuple(marked[id_column][i] for i in where[:MAX_POSITIONS]) if id_column else None
            shown = {c: row[keys.index(c)] for c in show}
            found.append(
                DuplicateGroup(
                    rows=int(top[_N][g]),
                    positions=tuple(int(i) for i in where[:MAX_POSITIONS]),
                    ids=ids,
                    values=shown,
                )
            )
    return Duplicates(
        data=info,
        columns=keys,
        id_column=id_column,
        duplicate_rows=in_groups - groups,
        groups=groups,
        rows_in_groups=in_groups,
        examples=tuple(found),
        max_share=max_share,
        created_at=now(),
    )
