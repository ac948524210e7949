"""Representativeness: the shares of groups in the data against a reference population the user gives, with a
chi-square goodness-of-fit test (SciPy). The group counts come from one grouped pass on the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from assay.checks._common import (
    DataInfo,
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

__all__ = ["GroupShare", "PopulationTest", "Representativeness", "parse_population", "representativeness"]

_N = "__assay_n"
_V = "__assay_v"
_TOLERANCE = 0.01


def parse_population(text: str) -> tuple[str, dict[str, float]]:
    """``COLUMN=GROUP:SHARE,GROUP:SHARE,...`` (shares as fractions or percentages) -> (column, shares)."""
    column, sep, rest = text.partition("=")
    if not sep or not column.strip() or not rest.strip():
        raise InvalidInput(
            f"population {text!r}: write COLUMN=GROUP:SHARE,GROUP:SHARE,... e.g. sex=Female:0.51,Male:0.49"
        )
    shares: dict[str, float] = {}
    for part in rest.split(","):
        group, colon, share = part.rpartition(":")
        if not colon or not group.strip():
            raise InvalidInput(f"population {text!r}: {part.strip()!r} is not GROUP:SHARE")
        try:
            value = float(share.strip().rstrip("%")) / (100.0 if share.strip().endswith("%") else 1.0)
        except ValueError:
            raise InvalidInput(f"population {text!r}: the share of {group.strip()!r} is not a number") from None
        if group.strip() in shares:
            raise InvalidInput(f"population {text!r}: group {group.strip()!r} is given twice")
        shares[group.strip()] = value
    return column.strip(), shares


def _check_shares(column: str, shares: Mapping[str, float]) -> dict[str, float]:
    if len(shares) < 2:
        raise InvalidInput(f"population of {column!r}: give at least two groups")
    for group, share in shares.items():
        if not isinstance(share, int | float) or not 0.0 < float(share) <= 1.0:
            raise InvalidInput(f"population of {column!r}: the share of {group!r} must lie in (0, 1], not {share!r}")
    total = float(sum(shares.values()))
    if abs(total - 1.0) > _TOLERANCE:
        raise InvalidInput(f"population of {column!r}: the shares add up to {total:.4g}, not 1")
    return {str(group): float(share) / total for group, share in shares.items()}


@dataclass(frozen=True)
class GroupShare:
    group: str
    rows: int
    share: float
    population_share: float

    @property
    def difference(self) -> float:
        return self.share - self.population_share

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "rows": self.rows,
            "share": json_float(self.share),
            "population_share": json_float(self.population_share),
            "difference": json_float(self.difference),
            "ratio": json_float(self.share / self.population_share),
        }


@dataclass(frozen=True)
class PopulationTest:
    """Group shares of one column against the population, and the chi-square goodness-of-fit test."""

    column: str
    groups: tuple[GroupShare, ...]
    other_rows: dict[str, int]
    missing_rows: int
    statistic: float
    p_value: float
    alpha: float

    @property
    def rows(self) -> int:
        return sum(g.rows for g in self.groups)

    @property
    def passed(self) -> bool:
        return self.p_value >= self.alpha

    @property
    def largest_difference(self) -> GroupShare:
        return max(self.groups, key=lambda g: abs(g.difference))

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "test": "chi-square goodness of fit",
            "statistic": json_float(self.statistic),
            "degrees_of_freedom": len(self.groups) - 1,
            "p_value": json_float(self.p_value, 12),
            "representative": self.passed,
            "rows_tested": self.rows,
            "groups": [g.to_dict() for g in self.groups],
            "rows_not_in_population": dict(self.other_rows),
            "missing_rows": self.missing_rows,
        }


@dataclass(frozen=True)
class Representativeness:
    """One :class:`PopulationTest` per column given a population."""

    data: DataInfo
    tests: tuple[PopulationTest, ...]
    alpha: float
    created_at: str

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tests)

    def to_dict(self) -> dict[str, Any]:
        parts = []
        for t in self.tests:
            worst = t.largest_difference
            parts.append(
                f"{t.column}: p-value {t.p_value:.3g} over {t.rows} rows, largest difference {worst.group} "
                f"{worst.difference:+.2%}"
            )
        return envelope(
            "representativeness",
            data=self.data,
            spec={
                "populations": {
                    t.column: {g.group: json_float(g.population_share) for g in t.groups} for t in self.tests
                },
                "alpha": self.alpha,
            },
            passed=self.passed,
            summary="; ".join(parts),
            result={"tests": [t.to_dict() for t in self.tests]},
            created_at=self.created_at,
        )


def representativeness(
    data: Any, populations: Mapping[str, Mapping[str, float]], *, alpha: float = 0.05
) -> Representativeness:
    """Compare the shares of the groups of each column of ``populations`` (column -> {group: share}; shares add
    up to 1 within 0.01 and are rescaled to 1) with the data. Rows whose group is not in the population, and
    missing values, are counted apart and left out of the test. Fails when a chi-square goodness-of-fit test
    rejects a population's shares at level ``alpha``."""
    if not 0.0 < alpha < 1.0:
        raise InvalidInput(f"alpha must lie in (0, 1), not {alpha}")
    if not populations:
        raise InvalidInput("give the population of at least one column, e.g. sex=Female:0.51,Male:0.49")
    frame = open_frame(data)
    require_columns(frame, list(populations))
    info = data_info(frame)
    require_rows(info)
    tests = tuple(_test(frame, column, _check_shares(column, shares), alpha) for column, shares in populations.items())
    return Representativeness(data=info, tests=tests, alpha=alpha, created_at=now())


def _test(frame: Frame, column: str, shares: Mapping[str, float], alpha: float) -> PopulationTest:
    from scipy.stats import chisquare

    counts = _counts(frame, column)
    missing = counts.pop(None, 0)
    observed = np.asarray([counts.get(g, 0) for g in shares], dtype=np.float64)
    if observed.sum() == 0:
        present = ", ".join(repr(v) for v in sorted(counts, key=str)[:20])
        raise InvalidInput(f"no row of {column!r} is in a group of the population; values present: {present}")
    total = observed.sum()
    test = chisquare(observed, f_exp=np.asarray(list(shares.values())) * total)
    groups = tuple(
        GroupShare(group=g, rows=int(n), share=float(n / total), population_share=p)
        for (g, p), n in zip(shares.items(), observed, strict=True)
    )
    return PopulationTest(
        column=column,
        groups=groups,
        other_rows={str(v): n for v, n in counts.items() if v not in shares},
        missing_rows=missing,
        statistic=float(test.statistic),
        p_value=float(test.pvalue),
        alpha=alpha,
    )


def _counts(frame: Frame, column: str) -> dict[str | None, int]:
    table = (
        frame.lazy.select(clean(column, frame.schema[column]).alias(_V))
        .group_by(_V)
        .agg(nw.len().alias(_N))
        .collect()
        .to_dict(as_series=False)
    )
    out: dict[str | None, int] = {}
    for value, n in zip(table[_V], table[_N], strict=True):
        key = None if value is None or (isinstance(value, float) and np.isnan(value)) else _text(value)
        out[key] = out.get(key, 0) + int(n)
    return out


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
