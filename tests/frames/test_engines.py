"""Engine parity: the same assessment from pandas, Polars, PyArrow, DuckDB (CSV, Parquet, relation), Spark."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import assay

KW: dict[str, Any] = {
    "label": "y",
    "positive": [1],
    "facets": ["race", {"sex": ["F"]}],
    "score": "score",
    "group": "g",
    "intersect": True,
    "bootstrap": 200,
    "seed": 7,
    "features": ["x1", "x2"],
}


def make(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    df = pd.DataFrame(
        {
            "race": rng.choice(["a", "b", "c"], n).astype(object),
            "sex": rng.choice(["F", "M"], n).astype(object),
            "g": rng.integers(0, 4, n),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "y": rng.integers(0, 2, n).astype(float),
            "score": rng.random(n).round(3),
        }
    )
    df.loc[[3, 50, 77], "race"] = None
    df.loc[[5, 9], "y"] = np.nan
    df.loc[[11], "score"] = np.nan
    return df


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc.pop("created_at")
    data = dict(doc.pop("data"))
    doc["fingerprint"] = data["fingerprint"]
    return doc


def assert_same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        # counts and count-based metrics are exact; score sums may differ in the last bits between engines
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.fixture(scope="module")
def reference() -> tuple[pd.DataFrame, dict[str, Any]]:
    df = make()
    return df, normalise(assay.assess(df, **KW).to_dict())


@pytest.mark.parametrize("engine", ["polars", "pyarrow", "duckdb", "csv", "parquet"])
def test_same_result_on_every_engine(
    engine: str, reference: tuple[pd.DataFrame, dict[str, Any]], tmp_path: Path
) -> None:
    df, expected = reference
    data: Any
    if engine == "polars":
        data = pl.from_pandas(df)
    elif engine == "pyarrow":
        data = pa.Table.from_pandas(df, preserve_index=False)
    elif engine == "duckdb":
        con = duckdb.connect()
        data = con.from_df(df)
    elif engine == "csv":
        data = tmp_path / "d.csv"
        df.to_csv(data, index=False)
    else:
        data = tmp_path / "d.parquet"
        df.to_parquet(data, index=False)
    got = normalise(assay.assess(data, **KW).to_dict())
    assert_same(expected, got)


@pytest.mark.spark
def test_same_result_on_spark(reference: tuple[pd.DataFrame, dict[str, Any]], spark: Any, tmp_path: Path) -> None:
    df, expected = reference
    df.to_parquet(tmp_path / "d.parquet", index=False)
    sdf = spark.read.parquet(str(tmp_path / "d.parquet"))
    got = normalise(assay.assess(sdf, **KW).to_dict())
    assert got["rows"] == expected["rows"]
    assert_same(expected, got)
