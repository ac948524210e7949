"""The bounded flip test (issue 12, "A bounded default run"): FT on a seeded random sample above a row limit, stated
in the result; identical results below the limit; the cost stated before FT starts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay.cli import main
from assay.config import load_settings
from assay.errors import InvalidInput
from assay.frames import Facet, Label
from assay.metrics.flip import flip_test, ft_cost, ft_seconds
from assay.metrics.spec import FT_MAX_ROWS, BiasSpec

ROWS = 3000
FEATURES = ["x0", "x1", "x2"]


def _frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(FEATURES)))
    facet = (rng.random(rows) < 0.3).astype(int)
    label = (rng.random(rows) < 1 / (1 + np.exp(-(x[:, 0] - 0.5 * facet)))).astype(int)
    pred = (x[:, 0] + rng.normal(0, 0.7, rows) - 0.3 * facet > 0).astype(int)
    return pd.DataFrame({"label": label, "pred": pred, "facet": facet, **{c: x[:, i] for i, c in enumerate(FEATURES)}})


def _ft(df: pd.DataFrame, **options: object) -> tuple[float | None, list[dict[str, str]], dict[str, object]]:
    report = assay.assess(
        df, label="label", facets={"facet": [1]}, predicted="pred", metrics=["FT"], features=FEATURES, bootstrap=0,
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
    document = report.to_dict()
    (entry,) = document["facets"]
    (ft,) = entry["metrics"]
    return ft["value"], document["warnings"], document["spec"]


def test_ft_on_a_sample_is_stated_in_the_document_and_is_ft_of_those_rows() -> None:
    df = _frame()
    value, warnings, spec = _ft(df, ft_max_rows=1000, seed=7)
    assert spec["ft_max_rows"] == 1000
    messages = [w["message"] for w in warnings if w["code"] == "ft_sample"]
    assert len(messages) == 1
    assert messages[0].startswith("FT computed on a random sample of 1,000 of 3,000 rows (seed 7)")
    # the sample is the documented one: seeded by (seed, 200_000), drawn without replacement, kept in data order
    chosen = np.sort(np.random.default_rng([7, 200_000]).choice(ROWS, size=1000, replace=False))
    x = df[FEATURES].to_numpy(dtype=float)[chosen]
    expected, error = flip_test(x, df["facet"].to_numpy()[chosen] == 1, df["pred"].to_numpy()[chosen] == 1)
    assert error is None and value == expected


def test_the_sample_is_deterministic_by_seed() -> None:
    df = _frame()
    first, _, _ = _ft(df, ft_max_rows=800, seed=3)
    again, _, _ = _ft(df, ft_max_rows=800, seed=3)
    other, warnings, _ = _ft(df, ft_max_rows=800, seed=4)
    assert first == again
    assert first != other  # another seed, another sample (these data give another value)
    assert "(seed 4)" in warnings[0]["message"]


def test_below_the_limit_ft_is_exact_and_unchanged() -> None:
    df = _frame()
    exact, warnings, exact_spec = _ft(df, ft_exact=True)
    assert warnings == []
    assert exact_spec["ft_max_rows"] is None
    x = df[FEATURES].to_numpy(dtype=float)
    assert exact == flip_test(x, df["facet"].to_numpy() == 1, df["pred"].to_numpy() == 1)[0]
    for options in ({}, {"ft_max_rows": ROWS}, {"ft_max_rows": FT_MAX_ROWS}):
        value, warnings, _ = _ft(df, **options)
        assert value == exact, options
        assert not [w for w in warnings if w["code"] == "ft_sample"], options


def test_rows_without_a_label_or_prediction_are_not_counted_towards_the_limit() -> None:
    df = _frame()
    df.loc[: ROWS - 1001, "label"] = None  # 1000 rows keep a label
    exact, _, _ = _ft(df, ft_exact=True)
    value, warnings, _ = _ft(df, ft_max_rows=1000)
    assert value == exact
    assert not [w for w in warnings if w["code"] == "ft_sample"]


def test_the_limit_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_FT_MAX_ROWS", "500")
    _, warnings, spec = _ft(_frame(), settings=load_settings())
    assert spec["ft_max_rows"] == 500
    assert any(w["message"].startswith("FT computed on a random sample of 500 of 3,000 rows") for w in warnings)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(InvalidInput, match="ft_max_rows must be 1 or more, not 0"):
        BiasSpec(label=Label("label"), facets=(Facet("facet"),), ft_max_rows=0)


def test_the_cost_statement_names_rows_features_sample_and_estimate() -> None:
    assert ft_seconds(1_000_000, 10, 2) == pytest.approx(20.0)
    assert ft_seconds(10_000_000, 10, 2) > 10 * ft_seconds(1_000_000, 10, 2)
    assert ft_seconds(1_000_000, 10, 4) == pytest.approx(10.0)
    sampled = ft_cost(1_000_000, 10_000_000, 10, 1_000_000, 0, 2)
    assert sampled.startswith("FT cost: 1,000,000 rows (a random sample of the 10,000,000, seed 0;")
    assert "x 10 features; estimated about 20 s on 2 cores" in sampled
    assert "every row: exact run" in ft_cost(10_000_000, 10_000_000, 10, None, 0, 2)
    assert "about 7 min" in ft_cost(10_000_000, 10_000_000, 10, None, 0, 2)


def _cli(data: Path, out: Path, *extra: str) -> int:
    return main(
        ["assess", str(data), "--label", "label", "--facet", "facet=1", "--predicted", "pred", "--metrics", "FT,DPPL",
         "--features", ",".join(FEATURES), "--bootstrap", "0", "--out", str(out), *extra]
    )  # fmt: skip


def test_the_cli_states_the_cost_on_stderr_before_ft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.parquet"
    _frame().to_parquet(data)
    assert _cli(data, tmp_path / "sampled", "--ft-max-rows", "1000") == 0
    captured = capsys.readouterr()
    assert "FT cost: 1,000 rows (a random sample of the 3,000, seed 0; --ft-exact uses every row) x 3 features" in (
        captured.err
    )
    assert "FT cost" not in captured.out
    document = json.loads((tmp_path / "sampled" / "assessment.json").read_text())
    assert document["spec"]["ft_max_rows"] == 1000
    assert [w["code"] for w in document["warnings"]] == ["ft_sample"]

    assert _cli(data, tmp_path / "exact", "--ft-exact") == 0
    assert "FT cost: 3,000 rows (every row: exact run) x 3 features" in capsys.readouterr().err
    document = json.loads((tmp_path / "exact" / "assessment.json").read_text())
    assert document["spec"]["ft_max_rows"] is None and document["warnings"] == []


def test_no_cost_statement_without_ft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.parquet"
    _frame().to_parquet(data)
    assert _cli(data, tmp_path / "out", "--metrics", "DPPL") == 0  # the later --metrics wins
    assert "FT cost" not in capsys.readouterr().err


def test_the_cli_refuses_a_limit_below_one_or_a_limit_with_the_exact_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(tmp_path / "missing.parquet", tmp_path / "out", "--ft-max-rows", "0") == 2
    assert "--ft-max-rows" in capsys.readouterr().err
    data = tmp_path / "data.parquet"
    _frame().to_parquet(data)
    assert _cli(data, tmp_path / "out", "--ft-max-rows", "10", "--ft-exact") == 2
    assert "give a FT row limit (ft_max_rows, --ft-max-rows) or the exact run (ft_exact, --ft-exact), not both" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("seed", range(3))
def test_ft_from_feature_columns_equals_ft_from_the_matrix(seed: int) -> None:
    """The assessment passes FT its feature columns (no (row, feature) copy of the data): the same value."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=800), rng.integers(0, 3, 800).astype(float)])  # ties too
    in_d, pred = rng.random(800) < 0.3, rng.random(800) < 0.5
    assert flip_test([x[:, 0].copy(), x[:, 1].copy()], in_d, pred) == flip_test(x, in_d, pred)
    assert flip_test([], in_d, pred) == flip_test(np.zeros((800, 0)), in_d, pred)
