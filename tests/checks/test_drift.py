"""The drift check: verdicts on planted shifts and on real data (random splits must not alarm, bank marketing in time
order must), mergeable baseline summaries (pieces merged == one pass within the sketch's bound), degenerate input,
the monitor's outcome, the command line, and Spark parity."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance

from assay.checks.drift import compare_categorical, compare_numeric, detect_drift, outcome
from assay.checks.sketches import BLOCK, CategoricalSummary, NumericSummary, Summary, rank_error, summarise
from assay.cli import main
from assay.errors import InvalidInput
from assay.services.kinds import KINDS


def _numeric(values: Any, keep: bool = True, k: int = 1000) -> NumericSummary:
    summary = NumericSummary(k=k)
    summary.add(np.asarray(values, dtype=np.float64), 0, keep)
    return summary


def _categorical(values: list[str]) -> CategoricalSummary:
    summary = CategoricalSummary(max_levels=1000)
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    summary.add(counts, 0)
    return summary


def _verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in document["result"]["columns"]}


# --- the statistics -------------------------------------------------------------------------------------------------


def test_exact_numeric_statistics_are_scipys() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=3000), rng.normal(0.3, 1.2, size=2000)
    found = compare_numeric("x", _numeric(x), _numeric(y))
    test = ks_2samp(x, y)
    assert found["statistic"] == pytest.approx(test.statistic, abs=1e-6)
    assert found["p_value"] == pytest.approx(test.pvalue, rel=1e-6, abs=1e-12)
    assert found["effect"] == pytest.approx(wasserstein_distance(x, y) / x.std(), rel=1e-5)
    assert found["status"] == "fail" and found["test"] == "ks (exact values)"


def test_sketched_ks_subtracts_the_rank_error_so_a_million_undrifted_rows_do_not_alarm() -> None:
    rng = np.random.default_rng(2)
    ref, cur = _numeric(rng.normal(size=1_000_000), keep=False), _numeric(rng.normal(size=1_000_000), keep=False)
    found = compare_numeric("x", ref, cur)
    assert found["status"] == "pass", found["sentence"]
    assert found["metrics"]["ks"] > 0 and found["statistic"] == max(0.0, found["metrics"]["ks"] - 2 * rank_error(1000))
    shifted = _numeric(rng.normal(0.1, 1.0, size=1_000_000), keep=False)  # a 0.1 sd shift is caught on sketches
    found = compare_numeric("x", ref, shifted)
    assert found["status"] == "fail" and found["effect"] == pytest.approx(0.1, abs=0.015)


def test_the_chi_square_test_is_two_sample_and_pools_rare_levels() -> None:
    from scipy.stats import chi2_contingency

    ref = _categorical(["a"] * 500 + ["b"] * 300 + ["c"] * 200 + ["r1", "r2"])
    cur = _categorical(["a"] * 400 + ["b"] * 350 + ["c"] * 250 + ["r3"])
    found = compare_categorical("c", ref, cur)
    table = np.array([[500, 300, 200, 2], [400, 350, 250, 1]])  # r1, r2, r3 expected < 5: pooled into one column
    assert found["statistic"] == pytest.approx(chi2_contingency(table, correction=False).statistic, rel=1e-6)
    assert found["effect"] == pytest.approx(abs(500 / 1002 - 400 / 1001), abs=1e-6)


def test_many_level_columns_do_not_false_alarm_where_a_goodness_of_fit_test_does() -> None:
    # 2,000 levels, 20,000 rows a side from one population: the one-sample GOF test treats the reference's shares as
    # exact and alarms; the two-sample test (and the effect threshold) does not.
    from scipy.stats import chisquare

    rng = np.random.default_rng(3)
    weights = rng.pareto(1.2, 2000) + 1
    levels = [f"v{i}" for i in range(2000)]
    alarms_gof = alarms_ours = 0
    for seed in range(10):
        draw = np.random.default_rng(seed)
        a = draw.choice(levels, 20_000, p=weights / weights.sum()).tolist()
        b = draw.choice(levels, 20_000, p=weights / weights.sum()).tolist()
        ref, cur = _categorical(a), _categorical(b)
        alarms_ours += compare_categorical("c", ref, cur)["status"] == "fail"
        keys = sorted(ref.counts)
        observed = np.array([cur.counts.get(k, 0) for k in keys], dtype=float)
        expected = np.array([ref.counts[k] for k in keys], dtype=float)
        expected *= observed.sum() / expected.sum()
        alarms_gof += chisquare(observed, expected).pvalue < 0.01
    assert alarms_ours == 0 and alarms_gof >= 8


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=200))
def test_identical_numeric_samples_never_drift(values: list[float]) -> None:
    found = compare_numeric("x", _numeric(values), _numeric(values))
    assert found["status"] in ("pass", "warn")
    if found["status"] == "pass":
        assert found["statistic"] == 0 and found["effect"] == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(list("abcdefg")), min_size=1, max_size=300))
def test_identical_categorical_samples_never_drift(values: list[str]) -> None:
    found = compare_categorical("c", _categorical(values), _categorical(values))
    assert found["status"] in ("pass", "warn")
    if found["status"] == "pass":
        assert found["effect"] == 0 and found["metrics"]["psi"] == 0 and found["metrics"]["js"] == 0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=100),
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=100),
)
def test_ks_statistic_and_p_value_are_symmetric(a: list[float], b: list[float]) -> None:
    one, two = compare_numeric("x", _numeric(a), _numeric(b)), compare_numeric("x", _numeric(b), _numeric(a))
    if one["status"] != "warn":
        assert one["statistic"] == pytest.approx(two["statistic"], abs=1e-9)
        assert one["p_value"] == pytest.approx(two["p_value"], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(list("abcde")), min_size=1, max_size=200),
    st.lists(st.sampled_from(list("abcde")), min_size=1, max_size=200),
)
def test_categorical_statistics_are_symmetric(a: list[str], b: list[str]) -> None:
    one, two = (
        compare_categorical("c", _categorical(a), _categorical(b)),
        compare_categorical("c", _categorical(b), _categorical(a)),
    )
    assert one["status"] == two["status"]
    if one["status"] != "warn":
        for key in ("chi2", "chi2_p_value", "linf", "js"):  # PSI is symmetric too; with floored shares nearly so
            assert one["metrics"][key] == pytest.approx(two["metrics"][key], abs=1e-9), key


def test_degenerate_columns_are_warn_never_a_silent_pass() -> None:
    frame = pd.DataFrame({"constant": [1.0] * 50, "empty": [np.nan] * 50, "text": ["a"] * 50, "x": range(50)})
    document = detect_drift(frame, reference=frame, multivariate=False).to_dict()
    assert _verdicts(document) == {"constant": "warn", "empty": "warn", "text": "warn", "x": "pass"}
    assert document["status"] == "warn"
    assert "not judged" in document["summary"]
    found = outcome(document)
    assert found["status"] == "warn" and not found["violations"]


def test_the_monitor_reads_violations_and_metrics_from_the_document() -> None:
    rng = np.random.default_rng(5)
    n = 5000
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n, p=[0.5, 0.5])})
    cur = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n, p=[0.6, 0.4])})
    document = detect_drift(cur, reference=ref, multivariate=False).to_dict()
    found = KINDS["drift"].outcome(document)  # type: ignore[misc]
    assert found["status"] == "fail"
    assert [(v["check_type"], v["subject"]) for v in found["violations"]] == [("baseline_drift_check", "c")]
    names = {(m["name"], m["subject"]) for m in found["metrics"]}
    assert {("ks", "x"), ("wasserstein", "x"), ("psi", "x"), ("js", "x"), ("linf", "c"), ("chi2_p_value", "c")} <= names


def test_the_reference_is_required_once() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InvalidInput, match="either the reference data"):
        detect_drift(frame)
    with pytest.raises(InvalidInput, match="no drift summaries"):
        detect_drift(frame, baseline_statistics={"version": 0, "features": []})


# --- mergeable summaries --------------------------------------------------------------------------------------------


def test_pieces_merged_equal_one_pass_within_the_sketch_bound(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    n = 300_000
    frame = pd.DataFrame(
        {"x": rng.lognormal(size=n), "k": rng.integers(0, 40, n), "c": rng.choice([f"l{i}" for i in range(30)], n)}
    )
    frame.loc[::97, "x"] = np.nan
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    whole = summarise(path, chunk_rows=n)
    pieces = summarise(path, chunk_rows=7_001)  # 43 pieces read from DuckDB, merged
    by_hand = summarise(frame.iloc[: n // 3]).merge(summarise(frame.iloc[n // 3 :]))
    bound = rank_error(1000)
    present = frame["x"].dropna().to_numpy()
    for merged in (pieces, by_hand):
        assert merged.rows == whole.rows == n
        x, one = merged.columns["x"], whole.columns["x"]
        assert isinstance(x, NumericSummary) and isinstance(one, NumericSummary)
        assert (x.n, x.missing, x.low, x.high) == (one.n, one.missing, one.low, one.high) == (
            len(present), n - len(present), present.min(), present.max()
        )  # fmt: skip
        assert x.mean == pytest.approx(present.mean(), rel=1e-12) and x.std == pytest.approx(present.std(), rel=1e-9)
        for q in (0.01, 0.1, 0.5, 0.9, 0.99):
            true_rank = float(np.mean(present <= x.sketch.get_quantile(q)))
            assert abs(true_rank - q) <= bound, q
        assert merged.columns["c"].to_dict() == whole.columns["c"].to_dict()  # counts are exact
    # serialised and read back: the same summary
    again = Summary.from_dict(json.loads(json.dumps(pieces.to_dict())))
    assert again.to_dict() == pieces.to_dict()


def test_bounded_levels_keep_the_most_frequent_and_count_the_rest() -> None:
    summary = CategoricalSummary(max_levels=3)
    summary.add({"a": 10, "b": 8, "c": 5, "d": 1, "e": 1}, 2)
    assert summary.counts == {"a": 10, "b": 8, "c": 5} and summary.other == 2 and summary.missing == 2


# --- the baseline check and the command line ------------------------------------------------------------------------


def test_baseline_check_carries_the_sketches_beside_model_monitors_fields(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 4000
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], n), "i": rng.integers(0, 9, n)})
    cur = ref.assign(x=ref["x"] + 0.3)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    base = tmp_path / "base"
    assert main(["check", "baseline", str(tmp_path / "ref.csv"), "--out", str(base), "--reference-sample", "500"]) == 0
    statistics = json.loads((base / "statistics.json").read_text())
    assert [f["name"] for f in statistics["features"]] == ["x", "c", "i"]  # Model Monitor's fields intact
    assert "kll" in statistics["features"][0]["numerical_statistics"]["distribution"]
    block = statistics[BLOCK]
    assert block["rows"] == n and set(block["columns"]) == {"x", "c", "i"} and len(block["sample"]["rows"]["x"]) == 500
    out = tmp_path / "out"
    code = main(["check", "drift", str(tmp_path / "cur.csv"), "--baseline", str(base), "--out", str(out), "--strict"])
    assert code == 1
    document = json.loads((out / "drift.json").read_text())
    assert _verdicts(document) == {"x": "fail", "c": "pass", "i": "pass"}
    assert document["result"]["multivariate"]["auc"] > 0.5
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 3 and "http" not in html.split("<body>")[1].replace('xmlns="http://www.w3.org', "")
    same = tmp_path / "same"
    args = ["check", "drift", str(tmp_path / "ref.csv"), "--reference", str(tmp_path / "ref.csv"), "--out", str(same)]
    assert main([*args, "--strict"]) == 0
    assert main(["check", "drift", str(tmp_path / "cur.csv")]) == 2  # neither --baseline nor --reference


# --- real data (the measured defaults) ------------------------------------------------------------------------------


@pytest.mark.realdata
def test_acsincome_random_splits_do_not_alarm_raw_or_through_a_baseline(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "acs_folktables"
    test, validation = folder / "ACSIncome.test.parquet", folder / "ACSIncome.validation.parquet"
    raw = detect_drift(test, reference=validation, classifier_sample=2000).to_dict()
    assert raw["status"] == "pass", raw["summary"]
    assert len(raw["result"]["columns"]) >= 11 and raw["result"]["multivariate"]["status"] == "pass"
    from assay.checks import suggest_baseline

    statistics = suggest_baseline(validation).statistics
    sketched = detect_drift(test, baseline_statistics=statistics, multivariate=False).to_dict()
    assert sketched["status"] == "pass", sketched["summary"]


@pytest.mark.realdata
def test_planted_shifts_in_acsincome_are_caught(shared_data: Path) -> None:
    folder = shared_data / "acs_folktables"
    ref = pd.read_parquet(folder / "ACSIncome.validation.parquet")
    cur = pd.read_parquet(folder / "ACSIncome.test.parquet")
    rng = np.random.default_rng(8)
    cur["WKHP"] = cur["WKHP"] + 0.1 * ref["WKHP"].std()  # a mean shift of 0.1 sd
    ref["COW"], cur["COW"] = ref["COW"].astype("Int64").astype(str), cur["COW"].astype("Int64").astype(str)
    share = float((cur["COW"] == "1").mean())
    others = np.flatnonzero((cur["COW"] != "1").to_numpy())
    moved = rng.choice(others, round(0.10 * len(cur)), replace=False)
    cur.loc[cur.index[moved], "COW"] = "1"  # +10 points of share for one category
    document = detect_drift(cur, reference=ref, multivariate=False).to_dict()
    verdicts = _verdicts(document)
    assert verdicts.pop("WKHP") == "fail" and verdicts.pop("COW") == "fail"
    assert set(verdicts.values()) == {"pass"}, document["summary"]
    cow = next(c for c in document["result"]["columns"] if c["name"] == "COW")
    assert cow["effect"] == pytest.approx(0.10, abs=0.01) and share < 0.9


@pytest.mark.realdata
def test_bank_marketing_in_time_order_drifts(shared_data: Path) -> None:
    bank = pd.read_csv(shared_data / "bank_marketing" / "bank-full.csv", sep=";")
    half = len(bank) // 2
    document = detect_drift(bank.iloc[half:], reference=bank.iloc[:half], classifier_sample=3000).to_dict()
    drifted = set(document["result"]["drifted"])
    assert {"month", "pdays", "poutcome", "contact"} <= drifted, document["summary"]
    assert document["result"]["multivariate"]["status"] == "fail"
    assert document["result"]["multivariate"]["interval"][0] > 0.9


# --- Spark ----------------------------------------------------------------------------------------------------------


@pytest.mark.spark
def test_spark_gives_the_verdicts_of_duckdb(spark: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    n = 60_000
    ref = pd.DataFrame({"x": rng.normal(size=n), "y": rng.exponential(size=n), "c": rng.choice(["a", "b", "c"], n)})
    cur = pd.DataFrame(
        {"x": rng.normal(0.15, 1, n), "y": rng.exponential(size=n), "c": rng.choice(["a", "b", "c"], n, p=[.5, .3, .2])}
    )  # fmt: skip
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")
    options: dict[str, Any] = {"multivariate": False, "exact_rows": 0}
    duck = detect_drift(tmp_path / "cur.parquet", reference=tmp_path / "ref.parquet", **options).to_dict()
    sref = spark.read.parquet(str(tmp_path / "ref.parquet")).repartition(4)
    scur = spark.read.parquet(str(tmp_path / "cur.parquet")).repartition(3)
    sparked = detect_drift(scur, reference=sref, **options).to_dict()
    assert sparked["data"]["engine"] == "pyspark"
    assert _verdicts(sparked) == _verdicts(duck) == {"x": "fail", "y": "pass", "c": "fail"}
    for a, b in zip(duck["result"]["columns"], sparked["result"]["columns"], strict=True):
        assert a["reference"]["n"] == b["reference"]["n"] and a["current"]["n"] == b["current"]["n"]
        assert math.isclose(a["effect"], b["effect"], abs_tol=0.02), (a["name"], a["effect"], b["effect"])
