"""Anonymisation of a dataset, and the privacy it leaves: pure functions over a pandas frame.

:func:`anonymise_frame` pseudonymises identifiers (HMAC-SHA256 under a key the caller holds: the same value gives
the same pseudonym under the same key, and nothing links it back without the key), generalises quasi-identifiers
(``band:W`` numbers to bands of width W, ``truncate:N`` text to its first N characters, ``month``/``year`` dates,
``other:N`` values held by fewer than N rows to ``other``, ``mask`` everything to ``*``), drops columns, and
suppresses the rows whose combination of quasi-identifiers occurs fewer than ``k`` times.

:func:`privacy_measures` gives k-anonymity (the smallest equivalence class on the quasi-identifiers), l-diversity
of a sensitive column (the fewest distinct sensitive values in a class), the share of unique records and the
prosecutor re-identification risk (largest and mean 1/class size, the latter equal to classes/rows), by one group-by.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from assay.errors import InvalidInput

__all__ = ["RULES", "Anonymised", "anonymise_frame", "parse_rule", "privacy_measures"]

RULES: Final = ("band", "truncate", "month", "year", "other", "mask")
_NEEDS_NUMBER: Final = {"band", "truncate", "other"}
PSEUDONYM_LENGTH: Final = 20  # hex characters kept of the HMAC (80 bits)


def parse_rule(column: str, text: str) -> tuple[str, int | None]:
    """``band:10`` -> ("band", 10); a rule that needs a number and has none (or the reverse) is refused."""
    name, _, raw = text.partition(":")
    if name not in RULES:
        raise InvalidInput(f"generalise {column}={text!r}: the rule must be one of {', '.join(RULES)}")
    if name in _NEEDS_NUMBER:
        if not raw or not raw.isdigit() or int(raw) < 1:
            raise InvalidInput(f"generalise {column}={text!r}: write {name}:N with N a positive integer")
        return name, int(raw)
    if raw:
        raise InvalidInput(f"generalise {column}={text!r}: the rule {name} takes no number")
    return name, None


def _pseudonyms(values: pd.Series, key: bytes) -> pd.Series:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    hashed = np.asarray(
        [hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH] for u in uniques],
        dtype=object,
    )
    out: list[Any] = [hashed[c] if c >= 0 else None for c in codes]
    return pd.Series(out, index=values.index, dtype="string")


def _band(values: pd.Series, width: int, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers[values.notna()].isna().any():
        raise InvalidInput(f"generalise {column}=band:{width}: the column holds values that are not numbers")
    low = np.floor(numbers / width) * width
    integral = bool((numbers.dropna() % 1 == 0).all())
    codes, uniques = pd.factorize(low, use_na_sentinel=True)
    if integral:
        names = [f"{int(u)}-{int(u) + width - 1}" for u in uniques]
    else:
        names = [f"[{u:g}, {u + width:g})" for u in uniques]
    out: list[Any] = [names[c] if c >= 0 else None for c in codes]
    return pd.Series(out, index=values.index, dtype="string")


def _dates(values: pd.Series, rule: str, column: str) -> pd.Series:
    dates = (
        pd.to_datetime(values, errors="coerce", format="mixed")
        if not pd.api.types.is_datetime64_any_dtype(values)
        else values
    )
    if dates[values.notna()].isna().any():
        raise InvalidInput(f"generalise {column}={rule}: the column holds values that are not dates")
    text = dates.dt.strftime("%Y-%m" if rule == "month" else "%Y")
    return text.astype("string")


def _generalised(values: pd.Series, rule: str, number: int | None, column: str) -> pd.Series:
    if rule == "band":
        return _band(values, number or 1, column)
    if rule == "truncate":
        return values.astype("string").str.slice(0, number)
    if rule in ("month", "year"):
        return _dates(values, rule, column)
    if rule == "other":
        text = values.astype("string")
        counts = text.value_counts(dropna=True)
        rare = counts.index[counts < (number or 1)]
        return text.mask(text.isin(rare), "other")
    return pd.Series("*", index=values.index, dtype="string").mask(values.isna())


@dataclass(frozen=True)
class Anonymised:
    """The anonymised frame and what was done: rows before and suppressed, the measures before and after."""

    frame: pd.DataFrame
    rows: int
    suppressed: int
    before: dict[str, Any]
    after: dict[str, Any]


def privacy_measures(frame: pd.DataFrame, quasi: Sequence[str], sensitive: str | None = None) -> dict[str, Any]:
    """k-anonymity, l-diversity of ``sensitive``, the share of unique records and the prosecutor risk of ``frame``
    on the quasi-identifiers ``quasi`` (missing values form their own class)."""
    rows = len(frame)
    if rows == 0:
        return {"rows": 0, "classes": 0, "k": None, "l": None, "unique_share": None, "prosecutor_risk_max": None,
                "prosecutor_risk_mean": None}  # fmt: skip
    codes: np.ndarray[Any, Any] = (
        frame.groupby(list(quasi), dropna=False, sort=False).ngroup().to_numpy() if quasi else np.zeros(rows, dtype=int)
    )
    sizes: np.ndarray[Any, Any] = np.bincount(codes)
    measures: dict[str, Any] = {
        "rows": rows,
        "classes": len(sizes),
        "k": int(sizes.min()),
        "unique_share": round(float((sizes == 1).sum() / rows), 6),
        "rows_in_classes_below_5": int(sizes[sizes < 5].sum()),
        "prosecutor_risk_max": round(float(1 / sizes.min()), 6),
        "prosecutor_risk_mean": round(float(len(sizes) / rows), 6),
    }
    if sensitive is not None:
        pairs = pd.DataFrame({"c": codes, "s": frame[sensitive].astype("string").fillna("\x00").to_numpy()})
        distinct = pairs.groupby("c", sort=False)["s"].nunique()
        measures["l"] = int(distinct.min())
        measures["l_sensitive"] = sensitive
    return measures


def anonymise_frame(
    frame: pd.DataFrame,
    *,
    key: bytes | None,
    identifiers: Sequence[str] = (),
    generalise: Mapping[str, str] | None = None,
    quasi_identifiers: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    k: int = 5,
    sensitive: str | None = None,
) -> Anonymised:
    """Anonymise ``frame`` (see the module's text); ``key`` (32 bytes) is needed when ``identifiers`` are named."""
    rules = {column: parse_rule(column, text) for column, text in (generalise or {}).items()}
    quasi = list(quasi_identifiers) if quasi_identifiers is not None else list(rules)
    named = [*identifiers, *rules, *quasi, *drop, *([sensitive] if sensitive else [])]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise InvalidInput(f"column {missing[0]!r} is not in the data; columns present: "
                           + ", ".join(map(str, frame.columns[:40])))  # fmt: skip
    clash = set(identifiers) & (set(rules) | set(quasi))
    if clash:
        raise InvalidInput(f"column {sorted(clash)[0]!r} is both an identifier and a quasi-identifier: choose one")
    if set(drop) & (set(quasi) | ({sensitive} if sensitive else set())):
        raise InvalidInput("a dropped column cannot be a quasi-identifier or the sensitive column")
    if identifiers and (key is None or len(key) < 16):
        raise InvalidInput("pseudonymising identifiers needs the workspace's key (run it through the workspace)")
    if k < 1:
        raise InvalidInput(f"k must be at least 1, not {k}")
    before = privacy_measures(frame, quasi, sensitive)
    out = frame.drop(columns=list(drop)) if drop else frame.copy()
    for column in identifiers:
        out[column] = _pseudonyms(out[column], key or b"")
    for column, (rule, number) in rules.items():
        out[column] = _generalised(out[column], rule, number, column)
    suppressed = 0
    if quasi and k > 1:
        sizes = out.groupby(quasi, dropna=False, sort=False)[quasi[0]].transform("size").to_numpy()
        keep = sizes >= k
        suppressed = int((~keep).sum())
        out = out[keep].reset_index(drop=True)
    after = privacy_measures(out, quasi, sensitive)
    return Anonymised(frame=out, rows=len(frame), suppressed=suppressed, before=before, after=after)
