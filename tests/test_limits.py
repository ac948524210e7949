"""Hardened inputs: bounded work (column and uncompressed-size limits), inputs that used to end in "internal
error" (exit 2 and one line now), and degenerate inputs refused or warned about, never silently recorded."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import assay
from assay.checks import find_duplicates, find_label_issues, profile, scan_pii, shared_rows
from assay.cli import main
from assay.config import Settings
from assay.errors import InvalidInput
from assay.frames import Limits
from assay.frames import open as open_frame

# ---- bounded work ------------------------------------------------------------------------------------------


def _wide(path: Path, columns: int, rows: int = 2) -> Path:
    with path.open("w") as out:
        out.write(",".join(f"c{i}" for i in range(columns)) + "\n")
        for r in range(rows):
            out.write(",".join(str((i + r) % 10) for i in range(columns)) + "\n")
    return path


def test_a_wide_csv_is_refused_from_its_header_before_duckdb_reads_it(tmp_path: Path) -> None:
    wide = _wide(tmp_path / "wide.csv", 20_000)  # took 5 s to open and minutes in the PII scan
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match=r"20,000 columns, more than the limit of 2,000.*ASSAY_MAX_COLUMNS"):
        open_frame(wide)
    with pytest.raises(InvalidInput, match="max_columns"):
        scan_pii(wide)
    assert time.perf_counter() - start < 3.0


def test_the_column_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _wide(tmp_path / "d.csv", 30)
    assert len(open_frame(data).columns) == 30
    with pytest.raises(InvalidInput, match="30 columns, more than the limit of 20"):
        open_frame(data, limits=Limits(max_columns=20, max_uncompressed_bytes=2**20))
    monkeypatch.setenv("ASSAY_MAX_COLUMNS", "10")
    with pytest.raises(InvalidInput, match="limit of 10"):
        open_frame(data)
    semicolons = tmp_path / "semi.csv"  # DuckDB sniffs the delimiter: the header check counts every candidate
    semicolons.write_text(";".join(f"c{i}" for i in range(12)) + "\n" + ";".join("1" * 12) + "\n")
    with pytest.raises(InvalidInput, match="12 columns"):
        open_frame(semicolons)


def test_wide_parquet_and_frames_are_refused(tmp_path: Path) -> None:
    table = pa.table({f"c{i}": [1, 2] for i in range(40)})
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path)
    small = Limits(max_columns=30, max_uncompressed_bytes=2**20)
    with pytest.raises(InvalidInput, match="40 columns, more than the limit of 30"):
        open_frame(path, limits=small)
    with pytest.raises(InvalidInput, match="40 columns"):
        open_frame(table.to_pandas(), limits=small)
    nested = pa.table({"s": pa.array([{f"f{i}": 1 for i in range(40)}])})  # leaf columns count, from the footer
    pq.write_table(nested, tmp_path / "nested.parquet")
    with pytest.raises(InvalidInput, match="40 columns"):
        open_frame(tmp_path / "nested.parquet", limits=small)


def test_a_gzip_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        out.write(b"x,y,z\n")
        block = b"1,0,a\n" * (1 << 20)
        for _ in range(6):  # 36 MiB of text in about 50 KB
            out.write(block)
    assert bomb.stat().st_size < 200_000
    limits = Limits(max_columns=2000, max_uncompressed_bytes=8 * 2**20)
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match=r"expands to more than 8,388,608 bytes.*ASSAY_MAX_UNCOMPRESSED_BYTES"):
        open_frame(bomb, limits=limits)
    assert time.perf_counter() - start < 3.0
    small = tmp_path / "small.csv.gz"
    small.write_bytes(gzip.compress(b"x,y,z\n" + b"1,0,a\n" * 1000))
    assert open_frame(small, limits=limits).columns == ["x", "y", "z"]


def test_a_gzip_trailer_that_lies_is_not_trusted(tmp_path: Path) -> None:
    honest = gzip.compress(b"x,y\n" + b"1,2\n" * 300_000)
    forged = tmp_path / "forged.csv.gz"
    forged.write_bytes(honest[:-4] + (10).to_bytes(4, "little"))  # ISIZE says 10 bytes
    with pytest.raises(InvalidInput):  # refused by the count (or as a corrupt file), never read whole
        open_frame(forged, limits=Limits(2000, 2**20))
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"not gzip at all\n")
    with pytest.raises(InvalidInput, match="not a valid gzip file"):
        open_frame(broken)


def test_the_defaults_are_settings() -> None:
    s = Settings()
    assert (s.max_columns, s.max_uncompressed_bytes) == (2000, 256 * 2**20)
    assert Limits.from_settings(Settings(max_columns=5)).max_columns == 5


# ---- repeated column names ---------------------------------------------------------------------------------


def test_a_name_the_header_repeats_is_explained_not_silently_renamed(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("sex,y,Sex,y\nF,1,M,0\nM,0,F,1\nF,1,F,0\n")
    frame = open_frame(path)
    renamed = frame.columns[2]
    assert frame.columns[:2] == ["sex", "y"] and renamed != "Sex"  # DuckDB's reading; the first keeps its name
    with pytest.raises(InvalidInput, match=rf"column 'Sex' is not in the data as written.*'sex', '{renamed}'"):
        frame.require_columns("Sex")
    with pytest.raises(InvalidInput, match="column 'Sex' is not in the data as written"):
        assay.assess(path, label="y", facets=["Sex"], bootstrap=0)
    with pytest.raises(InvalidInput, match="column 'Sex' is not in the data as written"):
        find_duplicates(path, columns=["Sex"])
    frame.require_columns(*frame.columns)  # the names it was read as are fine


def test_a_frame_with_repeated_names_is_invalid_input() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InvalidInput, match="'a' 2 times"):
        open_frame(df)


def test_a_name_differing_only_by_case_is_pointed_at(tmp_path: Path) -> None:
    df = pd.DataFrame({"sex": ["F", "M"] * 20, "y": [0, 1, 1, 0] * 10})
    with pytest.raises(InvalidInput, match="did you mean 'sex'"):
        assay.assess(df, label="y", facets=["Sex"], bootstrap=0)


# ---- inputs that ended in "internal error" -----------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "y": rng.integers(0, 2, n),
            "pred": rng.integers(0, 2, n),
            "one": ["x"] * n,
            "none": [None] * n,
            "age": rng.integers(18, 80, n),
        }
    )
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    df.head(0).to_csv(tmp_path / "header.csv", index=False)
    table = pa.table(
        {
            "s": pa.array([{"a": i % 2, "b": 1} for i in range(n)]),
            "l": pa.array([[i % 2] for i in range(n)]),
            "y": pa.array(df["y"]),
            "pred": pa.array(df["pred"]),
        }
    )
    pq.write_table(table, tmp_path / "nested.parquet")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err.strip()


ASSESS = ["--predicted", "pred", "--bootstrap", "0"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["assess", "{nested}", "--label", "y=1", "--facet", "s", *ASSESS], "facet 's' is Struct"),
        (["assess", "{nested}", "--label", "y=1", "--facet", "l", *ASSESS], "facet 'l' is List"),
        (["assess", "{nested}", "--label", "y=1", "--facet", "s=1", *ASSESS], "a nested column cannot be a facet"),
        (["assess", "{nested}", "--label", "s", "--facet", "y", *ASSESS], "label 's' is Struct"),
        (["assess", "{data}", "--label", "y=1", "--facet", "sex", "--bootstrap", "1000000000000"],
         "--bootstrap must be at most 10,000"),
        (["assess", "{data}", "--label", "y=1", "--facet", "sex", "--seed", "-1"], "--seed must be at least 0"),
        (["assess", "{data}", "--label", "y=1", "--facet", "sex", "--min-group-size", "-5", "--bootstrap", "0"],
         "--min-group-size must be at least 0"),
        (["assess", "{data}", "--label", "y=1", "--facet", "none", *ASSESS], "facet 'none' has no value"),
        (["check", "baseline", "{header}", "--out", "{out}"], "has no rows"),
        (["check", "validate", "{header}", "--baseline", "{baseline}", "--out", "{out}"], "has no rows"),
        (["check", "pii", "{data}", "--seed", "-1"], "--seed must be at least 0 (given -1)"),
        (["check", "label-issues", "{data}", "--label", "y", "--seed", "-1"], "--seed must be at least 0"),
        (["check", "target-leakage", "{nested}", "--label", "y=1"], "feature 's' is Struct"),
        (["check", "target-leakage", "{nested}", "--label", "s"], "label 's' is Struct"),
        (["check", "duplicates", "{data}", "--max-share", "2"], "--max-share must be at most 1.0 (given 2.0)"),
        (["check", "leakage", "{data}", "--reference", "{data}", "--max-share", "-1"], "--max-share must be"),
        (["check", "label-issues", "{data}", "--label", "y", "--max-share", "3"], "--max-share must be"),
        (["check", "duplicates", "{header}"], "has no rows"),
        (["check", "pii", "{header}"], "has no rows"),
        (["check", "leakage", "{data}", "--reference", "{header}"], "error: the reference ("),
        (["check", "representativeness", "{header}", "--population", "sex=F:0.5,M:0.5"], "has no rows"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    baseline = tmp_path / "baseline"
    if "{baseline}" in args:
        assert main(["check", "baseline", str(data), "--out", str(baseline)]) == 0
        capsys.readouterr()
    where = {
        "{data}": str(data),
        "{header}": str(tmp_path / "header.csv"),
        "{nested}": str(tmp_path / "nested.parquet"),
        "{out}": str(tmp_path / "out"),
        "{baseline}": str(baseline),
    }
    code, err = cli(capsys, *(where.get(a, a) for a in args), *(["--out", str(tmp_path / "o")] if "assess" in args
                                                                 else []))  # fmt: skip
    assert code == 2, err
    assert needle in err
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")


def test_the_pure_functions_refuse_what_the_cli_does(data: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="has no rows"):
        profile(tmp_path / "header.csv")
    with pytest.raises(InvalidInput, match="seed"):
        scan_pii(data, seed=-1)
    with pytest.raises(InvalidInput, match="seed"):
        find_label_issues(data, "y", seed=2**32)
    with pytest.raises(InvalidInput, match="max_share"):
        shared_rows(data, data, max_share=1.5)


# ---- degenerate facets -------------------------------------------------------------------------------------


def _codes(report: Any) -> list[str]:
    return [w["code"] for w in report.to_dict()["warnings"]]


def test_a_facet_with_one_value_is_a_warning_in_the_document_and_on_screen(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = assay.assess(data, label="y", facets=["one"], predicted="pred", bootstrap=0)
    warning = next(w for w in report.to_dict()["warnings"] if w["code"] == "single_value_facet")
    assert "facet one has one value in every labelled row (x: 200 rows)" in warning["message"]
    code = main(["assess", str(data), "--label", "y=1", "--facet", "one", *ASSESS, "--out", str(tmp_path / "o")])
    assert code == 0
    assert "facet one has one value in every labelled row" in capsys.readouterr().out
    assert "facet one has one value in every labelled row" in (tmp_path / "o" / "report.html").read_text()


def test_given_values_covering_every_row_warn_and_a_threshold_meeting_none_is_refused(data: Path) -> None:
    report = assay.assess(data, label="y", facets={"one": ["x"]}, predicted="pred", bootstrap=0)
    assert "empty_group" in _codes(report)
    with pytest.raises(InvalidInput, match=r"facet 'age' > 200 leaves facet d without a labelled row"):
        assay.assess(data, label="y", facets=[assay.Facet("age", threshold=200)], bootstrap=0)
    report = assay.assess(data, label="y", facets=[assay.Facet("age", threshold=1)], bootstrap=0)
    assert "empty_group" in _codes(report)


def test_a_facet_value_whose_rows_have_no_label_warns(tmp_path: Path) -> None:
    df = pd.DataFrame({"f": ["a"] * 50 + ["b"] * 50 + ["c"] * 5, "y": [0, 1] * 50 + [None] * 5})
    report = assay.assess(df, label="y", facets=["f"], bootstrap=0)
    assert any(w["code"] == "empty_group" and "f = c" in w["message"] for w in report.to_dict()["warnings"])


# ---- no false alarm on the shared datasets -----------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("file", "label", "facet"),
    [
        ("compas/compas-scores-two-years.csv", "two_year_recid", "race"),
        ("adult/adult_rf_binary.csv", "label_value", "gender"),
        ("german_credit/german.csv", "credit=1", "personal_status"),
        ("bank_marketing/bank-full.csv", "y=yes", "marital"),
        ("communities_crime/communities_crime.csv", "class", "Black"),
        ("acs_folktables/ACSIncome.test.parquet", "PINCP", "SEX"),
    ],
)
def test_shared_datasets_pass_the_default_limits(
    shared_data: Path, tmp_path: Path, file: str, label: str, facet: str
) -> None:
    path = shared_data / file
    ws = assay.Workspace.init(tmp_path / "ws")
    try:
        ws.systems.create({"name": "s", "eu_ai_act_category": "minimal"})
        version = ws.datasets.register_version({"dataset": "d", "version": "1"}, system="s", file=path, copy=True)
        assert version.row_count and len(version.columns) <= 2000
        frame = open_frame(path)
        assert not frame.repeated or file.startswith("compas")  # compas repeats two names; the first is used
        column, _, value = label.partition("=")
        positive = [value] if value else None
        report = assay.assess(path, label=column, positive=positive, facets=[facet], bootstrap=0)
        codes = set(_codes(report))
        assert not codes & {"single_value_facet", "empty_group"}, codes
    finally:
        ws.close()
