"""Column roles and bad input: clear errors that name the problem, exit code 2, no silent guessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assay
from assay.cli import main
from assay.errors import InvalidInput


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["a", "b", "c"], n),
            "grade": rng.integers(1, 4, n),
            "y": rng.integers(0, 2, n),
            "pred": rng.integers(0, 2, n),
            "score": rng.random(n),
            "age": rng.integers(18, 80, n),
        }
    )
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["assess", *args])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--label", "nope=1", "--facet", "sex"], "column 'nope' is not in the data"),
        (["--label", "y=1", "--facet", "sex=X"], "facet value 'X' matches no row of column 'sex'"),
        (["--label", "y=7", "--facet", "sex"], "label value 7 matches no row of column 'y'"),
        (["--label", "grade", "--facet", "sex"], "label 'grade' is not binary"),
        (["--label", "y=1", "--facet", "sex", "--score", "age"], "outside [0, 1]"),
        (["--label", "y=1", "--facet", "grade=x"], "value 'x' for column 'grade' is not an integer"),
        (["--label", "y=1", "--facet", "sex>3"], "a threshold needs a numeric column"),
        (["--label", "y=1", "--facet", "sex", "--metrics", "DI"], "needs predictions"),
        (["--label", "y=1", "--facet", "sex", "--metrics", "XYZ"], "unknown metric 'XYZ'"),
        (["--label", "y=1", "--facet", "sex", "--predicted", "pred", "--score", "score"], "not both"),
        (["--label", "y=1", "--facet", "y"], "cannot be both a facet and the label"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, err = run(capsys, str(csv), *args, "--out", str(tmp_path / "out"), "--bootstrap", "0")
    assert code == 2, err
    assert needle in err
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")


def test_unknown_value_lists_the_values_present(csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, err = run(capsys, str(csv), "--label", "y=1", "--facet", "race=z", "--out", str(tmp_path / "o"))
    assert code == 2
    assert "values present: 'a' (" in err
    assert "'c' (" in err


def test_empty_file_and_header_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, err = run(capsys, str(empty), "--label", "y=1", "--facet", "f", "--out", str(tmp_path / "o"))
    assert (code, "is empty" in err) == (2, True)
    header = tmp_path / "header.csv"
    header.write_text("y,f\n")
    code, err = run(capsys, str(header), "--label", "y=1", "--facet", "f", "--out", str(tmp_path / "o"))
    assert code == 2
    assert "no rows" in err or "matches no row" in err


def test_missing_file_and_unknown_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, str(tmp_path / "nope.csv"), "--label", "y", "--facet", "f", "--out", str(tmp_path))
    assert code == 2
    assert "does not exist" in err
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    code, err = run(capsys, str(odd), "--label", "y", "--facet", "f", "--out", str(tmp_path))
    assert code == 2
    assert "suffix" in err


def test_all_missing_label() -> None:
    df = pd.DataFrame({"y": [np.nan] * 5, "f": ["a", "b", "a", "b", "a"]})
    with pytest.raises(InvalidInput, match="every label is missing"):
        assay.assess(df, label="y", positive=[1], facets=["f"])


def test_mixed_types_are_refused() -> None:
    df = pd.DataFrame({"y": [1, "yes", 0, 1], "f": ["a", "b", "a", "b"]}, dtype=object)
    with pytest.raises(InvalidInput, match="mixes number and text"):
        assay.assess(df, label="y", positive=[1], facets=["f"])


def test_prediction_and_label_must_share_values() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0], "p": ["yes", "no", "no", "yes"], "f": ["a", "b", "a", "b"]})
    with pytest.raises(InvalidInput, match="holds text values but label 'y' holds number"):
        assay.assess(df, label="y", facets=["f"], predicted="p")


def test_values_typed_as_text_match_the_column_type() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "f": [2, 2, 3, 3, 2, 3], "b": [True, False] * 3})
    as_text = assay.assess(df, label="y", positive=["1"], facets={"f": ["2"]}, bootstrap=0).result
    typed = assay.assess(df, label="y", positive=[1], facets={"f": [2]}, bootstrap=0).result
    assert as_text.entries[0].metric("DPL").value == typed.entries[0].metric("DPL").value
    assert as_text.entries[0].value_or_threshold == "2"
    boolean = assay.assess(df, label="y", facets={"b": ["true"]}, bootstrap=0).result
    assert boolean.entries[0].n_d == 3


def test_clarify_trap_small_binary_column_is_categorical() -> None:
    """Clarify takes a 0/1 column of <= 40 rows as continuous, so value 1 means (1, 1] = nobody."""
    df = pd.DataFrame({"y": [1, 0] * 10, "f": [1, 1, 0, 0] * 5})
    entry = assay.assess(df, label="y", positive=[1], facets={"f": [1]}, bootstrap=0).result.entries[0]
    assert entry.n_d == 10
    assert entry.metric("CI").value == 0.0


def test_clarify_trap_one_nan_label_keeps_its_positives() -> None:
    """Clarify turns a 0/1 label with one NaN continuous and finds zero positives; Assay drops the row."""
    df = pd.DataFrame({"y": [1.0, 0.0, 1.0, np.nan, 1.0, 0.0], "f": ["a", "a", "b", "b", "b", "a"]})
    result = assay.assess(df, label="y", positive=[1], facets={"f": ["b"]}, bootstrap=0).result
    assert result.rows["missing_label"] == 1
    assert result.rows["used"] == 5
    # facet a: 1 of 3 positive; facet d: 2 of 2 positive
    assert result.entries[0].metric("DPL").value == pytest.approx(1 / 3 - 1.0)
    assert any(w.code == "missing_label" for w in result.warnings)


def test_missing_facet_value_is_its_own_group() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "f": ["a", "b", None, None, "a", "b"]})
    result = assay.assess(df, label="y", facets=["f"], bootstrap=0).result
    assert [e.value_or_threshold for e in result.entries] == ["a", "b", "null"]
    assert result.entry("f", "null").n_d == 2
    assert [p.value for p in result.performance if p.facet == "f"] == ["a", "b", "null"]


def test_missing_prediction_rows_leave_post_training_only() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "f": [1, 1, 0, 0, 1, 0], "p": [1, 0, None, 1, 1, 0]})
    result = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=0).result
    assert result.rows["missing_prediction"] == 1
    entry = result.entries[0]
    assert entry.metric("CI").value == 0.0  # pre-training uses all 6 rows
    # post-training: facet a keeps (y=0,p=1), (y=0,p=0) -> 1/2; facet d predicts 2 of 3 positive
    assert entry.metric("DPPL").value == pytest.approx(0.5 - 2 / 3)


def test_undefined_metrics_are_errors_not_crashes() -> None:
    df = pd.DataFrame({"y": [1, 1, 1, 1], "f": [1, 0, 1, 0], "p": [0, 0, 0, 0]})
    entry = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=20).result.entries[0]
    assert entry.metric("GE").error is not None
    assert "false negative" in entry.metric("GE").error
    assert entry.metric("CDDL").error is not None
    assert "group column" in entry.metric("CDDL").error
    assert entry.metric("DPL").value == 0.0
    doc = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=0).to_analysis_json()
    ge = next(m for m in doc["post_training_bias_metrics"]["facets"]["f"][0]["metrics"] if m["name"] == "GE")
    assert ge["value"] is None
    assert "error" in ge


def test_infinity_is_written_as_clarify_writes_it() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0], "f": [1, 1, 0, 0], "p": [1, 1, 0, 0]})
    report = assay.assess(df, label="y", facets={"f": [1]}, predicted="p", bootstrap=0)
    di = next(m for m in report.to_dict()["facets"][0]["metrics"] if m["name"] == "DI")
    assert di["value"] == "Infinity"
    assert '"Infinity"' in report.to_json()


def test_label_threshold_and_facet_threshold() -> None:
    df = pd.DataFrame({"y": [0.2, 0.7, 0.9, 0.1, 0.8, 0.6], "age": [20, 30, 40, 50, 60, 70]})
    result = assay.assess(df, label="y", label_threshold=0.5, facets=[assay.Facet("age", threshold=45)],
                          bootstrap=0).result  # fmt: skip
    entry = result.entries[0]
    assert entry.value_or_threshold == "> 45"
    assert entry.n_d == 3
    # facet a (20, 30, 40): positives 0.7, 0.9 -> 2/3; facet d (50, 60, 70): 0.8, 0.6 -> 2/3
    assert entry.metric("DPL").value == pytest.approx(0.0)
    assert result.label_value_or_threshold == "> 0.5"


def test_missing_facet_value_with_given_values_counts_in_facet_a() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "f": ["a", "b", None, None, "a", "b"], "age": [1.0, None, 3, 4, 5, 6]})
    result = assay.assess(df, label="y", facets=[{"f": ["a"]}, assay.Facet("age", threshold=2)], bootstrap=0).result
    assert result.entries[0].n_a == 4
    messages = [w.message for w in result.warnings if w.code == "missing_facet"]
    assert messages == [
        "2 rows have no value in facet 'f'; they count in facet a (all other rows)",
        "1 rows have no value in facet 'age'; they count in facet a (all other rows)",
    ]
    assert [p.value for p in result.performance if p.facet == "age"] == ["<= 2", "> 2", "null"]


def test_csv_text_is_not_guessed_to_be_boolean(tmp_path: Path) -> None:
    path = tmp_path / "yes.csv"
    pd.DataFrame({"released": ["Yes", "No", "Yes", "No"], "f": ["a", "a", "b", "b"]}).to_csv(path, index=False)
    result = assay.assess(path, label="released", positive=["Yes"], facets=["f"], bootstrap=0).result
    assert result.label_value_or_threshold == "Yes"
    assert result.to_dict()["data"]["columns"]["released"] == "String"


def test_high_cardinality_facet_or_group_is_refused_before_counting() -> None:
    n = 300
    df = pd.DataFrame({"y": [0, 1] * (n // 2), "id": range(n), "g": range(n)})
    with pytest.raises(InvalidInput, match="facet 'id' has 300 distinct values; give its sensitive values"):
        assay.assess(df, label="y", facets=["id"])
    assert assay.assess(df, label="y", facets=[assay.Facet("id", threshold=100)], bootstrap=0).result.entries
