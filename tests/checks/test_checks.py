"""Data checks: Model Monitor baseline and validation, duplicates, leakage, target leakage, label issues and
representativeness, on made-up data with planted problems and on the real datasets, through the Python API and
the `assay check` command."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, chisquare, ks_2samp
from sklearn.metrics import roc_auc_score

from assay.checks import (
    DEFAULT_MONITORING_CONFIG,
    find_duplicates,
    find_label_issues,
    parse_population,
    profile,
    representativeness,
    shared_rows,
    suggest_baseline,
    suggest_constraints,
    target_leakage,
    validate,
)
from assay.cli import main
from assay.errors import InvalidInput
from assay.services import checks as service
from assay.services.workspace import Workspace

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship",
    "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
]  # fmt: skip


def made_up(n: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50 + shift, 10, n).round(3),
            "city": rng.choice(["Lyon", "Nice", "Paris"], n, p=[0.3, 0.2, 0.5]),
            "score": rng.random(n).round(4),
            "visits": rng.poisson(3, n),
            "tag": [f"t{i}" for i in rng.integers(0, 10_000, n)],
        }
    )


@pytest.fixture(scope="module")
def reference_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("checks") / "reference.csv"
    made_up(3000, 1).to_csv(path, index=False)
    return path


# ---- Model Monitor: statistics.json -----------------------------------------------------------------------


def test_statistics_json_has_model_monitor_layout_and_exact_numbers(tmp_path: Path) -> None:
    df = made_up(2000, 3)
    df.loc[df.index % 7 == 0, "score"] = np.nan
    df.loc[df.index % 11 == 0, "city"] = None
    path = tmp_path / "d.parquet"
    df.to_parquet(path, index=False)
    stats = profile(path).statistics
    assert set(stats) == {"version", "dataset", "features"}
    assert stats["version"] == 0 and stats["dataset"] == {"item_count": 2000}
    by_name = {f["name"]: f for f in stats["features"]}
    assert [f["name"] for f in stats["features"]] == list(df.columns)
    assert {n: f["inferred_type"] for n, f in by_name.items()} == {
        "age": "Integral", "income": "Fractional", "city": "String", "score": "Fractional", "visits": "Integral",
        "tag": "String",
    }  # fmt: skip
    for name in ("age", "income", "score", "visits"):
        feature = by_name[name]
        assert set(feature) == {"name", "inferred_type", "numerical_statistics"}
        numbers = feature["numerical_statistics"]
        assert set(numbers) == {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
        column = df[name].dropna()
        assert numbers["common"] == {"num_present": len(column), "num_missing": 2000 - len(column)}
        assert numbers["mean"] == pytest.approx(column.mean(), rel=1e-9)
        assert numbers["sum"] == pytest.approx(column.sum(), rel=1e-9)
        assert numbers["std_dev"] == pytest.approx(column.std(ddof=0), rel=1e-9)
        assert (numbers["min"], numbers["max"]) == (pytest.approx(column.min()), pytest.approx(column.max()))
        kll = numbers["distribution"]["kll"]
        assert set(kll) == {"buckets", "sketch"}
        assert len(kll["buckets"]) == 10
        assert sum(b["count"] for b in kll["buckets"]) == len(column)
        assert kll["buckets"][0]["lower_bound"] == pytest.approx(column.min())
        assert kll["buckets"][-1]["upper_bound"] == pytest.approx(column.max())
        edges = np.linspace(column.min(), column.max(), 11)
        inner = [int(((column >= edges[j]) & (column < edges[j + 1])).sum()) for j in range(9)]
        assert [b["count"] for b in kll["buckets"][:-1]] == pytest.approx(inner, abs=2)  # float edges
        sketch = kll["sketch"]
        assert sketch["parameters"] == {"c": 0.64, "k": 2048}
        assert sum(len(level) * 2**h for h, level in enumerate(sketch["data"])) == len(column)
    city = by_name["city"]["string_statistics"]
    assert set(city) == {"common", "distinct_count", "distribution"}
    assert city["common"] == {"num_present": int(df.city.notna().sum()), "num_missing": int(df.city.isna().sum())}
    assert city["distinct_count"] == 3
    counts = df.city.value_counts()
    assert city["distribution"]["categorical"]["buckets"] == [{"value": v, "count": int(n)} for v, n in counts.items()]
    assert by_name["tag"]["string_statistics"]["distinct_count"] == df.tag.nunique()


def test_suggested_constraints_follow_the_baseline(reference_csv: Path) -> None:
    df = made_up(3000, 1)
    df.loc[df.index % 5 == 0, "score"] = np.nan
    constraints = suggest_constraints(profile(df))
    assert set(constraints) == {"version", "features", "monitoring_config"}
    assert constraints["monitoring_config"] == DEFAULT_MONITORING_CONFIG
    by_name = {f["name"]: f for f in constraints["features"]}
    assert by_name["age"] == {
        "name": "age", "inferred_type": "Integral", "completeness": 1.0, "num_constraints": {"is_non_negative": True}
    }  # fmt: skip
    assert by_name["city"]["string_constraints"] == {"domains": ["Lyon", "Nice", "Paris"]}
    assert "string_constraints" not in by_name["tag"]  # thousands of values: no domain
    p = 0.8
    assert by_name["score"]["completeness"] == math.floor((p - 1.96 * math.sqrt(p * (1 - p) / 3000)) * 1e4) / 1e4
    custom = suggest_baseline(
        reference_csv, monitoring_config={"distribution_constraints": {"comparison_method": "Robust"}}
    )
    distribution = custom.constraints["monitoring_config"]["distribution_constraints"]
    assert distribution["comparison_method"] == "Robust" and distribution["comparison_threshold"] == 0.1


# ---- Model Monitor: validation ----------------------------------------------------------------------------


def drifted(n: int = 3000) -> pd.DataFrame:
    """The reference's population with planted problems: a dropped column, a new column, a new category, more
    missing values, a shifted distribution and text in a number column."""
    df = made_up(n, 2, shift=8.0).drop(columns=["visits"])
    rng = np.random.default_rng(5)
    df["city"] = rng.choice(["Lyon", "Nice", "Paris", "Lille"], n, p=[0.25, 0.15, 0.4, 0.2])
    df.loc[rng.random(n) < 0.3, "score"] = np.nan
    df["age"] = df["age"].astype(object)
    df.loc[rng.random(n) < 0.2, "age"] = "unknown"
    df["channel"] = "web"
    return df


def test_validation_reports_each_planted_violation(reference_csv: Path, tmp_path: Path) -> None:
    base = suggest_baseline(reference_csv)
    current = tmp_path / "current.csv"
    drifted().to_csv(current, index=False)
    result = validate(current, base.constraints, base.statistics)
    found = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert found == {
        ("visits", "missing_column_check"),
        ("channel", "extra_column_check"),
        ("city", "categorical_values_check"),
        ("city", "baseline_drift_check"),
        ("score", "completeness_check"),
        ("income", "baseline_drift_check"),
        ("age", "data_type_check"),
    }
    assert result.status == "CompletedWithViolations"
    document = result.constraint_violations()
    assert set(document) == {"violations"}
    for entry in document["violations"]:
        assert set(entry) == {"feature_name", "constraint_check_type", "description"}
    measured = {m["name"]: m for m in result.measurements}
    assert measured["age"]["type_mismatch_share"] == pytest.approx(0.2, abs=0.03)
    assert measured["city"]["unknown_value_share"] == pytest.approx(0.2, abs=0.03)
    assert measured["score"]["completeness"] == pytest.approx(0.7, abs=0.03)


def test_a_fresh_sample_of_the_same_population_passes(reference_csv: Path, tmp_path: Path) -> None:
    base = suggest_baseline(reference_csv)
    assert validate(reference_csv, base.constraints, base.statistics).violations == ()
    fresh = tmp_path / "fresh.parquet"
    made_up(2000, 9).to_parquet(fresh, index=False)
    result = validate(fresh, base.constraints, base.statistics)
    assert result.violations == () and result.status == "Completed"


def test_drift_distance_is_the_ks_statistic_and_the_robust_correction(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    a = pd.DataFrame({"x": rng.normal(0, 1, 4000), "c": rng.choice(list("abcd"), 4000, p=[0.4, 0.3, 0.2, 0.1])})
    b = pd.DataFrame({"x": rng.normal(0.3, 1.2, 3000), "c": rng.choice(list("abcd"), 3000, p=[0.3, 0.3, 0.3, 0.1])})
    base = suggest_baseline(a)
    drift = {m["name"]: m["drift"] for m in validate(b, base.constraints, base.statistics).measurements}
    ks = ks_2samp(a.x, b.x).statistic
    assert drift["x"]["method"] == "linf_simple"
    assert drift["x"]["distance"] == pytest.approx(ks, abs=0.005)  # 1,000 bins per sketch
    shares_a, shares_b = a.c.value_counts(normalize=True), b.c.value_counts(normalize=True)
    assert drift["c"]["distance"] == pytest.approx((shares_a - shares_b).abs().max(), abs=1e-6)
    robust = suggest_baseline(
        a,
        monitoring_config={
            "distribution_constraints": {"comparison_method": "Robust", "categorical_drift_method": "ChiSquared"}
        },
    )
    drift = {m["name"]: m["drift"] for m in validate(b, robust.constraints, robust.statistics).measurements}
    assert drift["x"]["method"] == "linf_robust"
    assert drift["x"]["distance"] == pytest.approx(ks - 1.8 * math.sqrt((4000 + 3000) / (4000 * 3000)), abs=0.005)
    table = pd.crosstab(pd.concat([a.c, b.c]), np.repeat([0, 1], [4000, 3000])).to_numpy().T
    assert drift["c"]["p_value"] == pytest.approx(chi2_contingency(table, correction=False).pvalue, rel=1e-6)


def test_monitoring_config_switches_and_per_feature_overrides(reference_csv: Path, tmp_path: Path) -> None:
    base = suggest_baseline(reference_csv)
    current = drifted()
    constraints = json.loads(json.dumps(base.constraints))
    for feature in constraints["features"]:
        if feature["name"] == "income":
            feature["monitoringConfigOverrides"] = {"distribution_constraints": {"comparison_threshold": 0.9}}
    found = {
        (v.feature_name, v.constraint_check_type) for v in validate(current, constraints, base.statistics).violations
    }
    assert ("income", "baseline_drift_check") not in found and ("city", "baseline_drift_check") in found
    constraints["monitoring_config"]["distribution_constraints"]["perform_comparison"] = "Disabled"
    found = {v.constraint_check_type for v in validate(current, constraints, base.statistics).violations}
    assert "baseline_drift_check" not in found and "completeness_check" in found
    constraints["monitoring_config"]["evaluate_constraints"] = "Disabled"
    assert validate(current, constraints, base.statistics).violations == ()
    with pytest.raises(InvalidInput, match="comparison_method"):
        validate(
            current, {**constraints, "monitoring_config": {"distribution_constraints": {"comparison_method": "L2"}}}
        )
    with pytest.raises(InvalidInput, match="features"):
        validate(current, {"version": 0})


@pytest.mark.spark
def test_baseline_and_validation_on_spark(spark: Any, reference_csv: Path, tmp_path: Path) -> None:
    columns = ["income", "city", "score"]  # few columns: every Spark query costs a second
    pd.read_csv(reference_csv)[columns].to_parquet(tmp_path / "reference.parquet", index=False)
    drifted()[columns].to_parquet(tmp_path / "current.parquet", index=False)
    on_spark = profile(spark.read.parquet(str(tmp_path / "reference.parquet")))
    on_duckdb = profile(tmp_path / "reference.parquet")
    assert on_spark.data.engine == "pyspark"
    for a, b in zip(on_spark.features, on_duckdb.features, strict=True):
        assert (a["name"], a["inferred_type"]) == (b["name"], b["inferred_type"])
        if "numerical_statistics" in a:
            sa, sb = a["numerical_statistics"], b["numerical_statistics"]
            assert sa["common"] == sb["common"]
            assert sa["mean"] == pytest.approx(sb["mean"]) and sa["std_dev"] == pytest.approx(sb["std_dev"])
            assert sa["distribution"]["kll"]["buckets"] == sb["distribution"]["kll"]["buckets"]
        else:
            assert a["string_statistics"] == b["string_statistics"]
    constraints = suggest_constraints(on_spark)
    found = validate(spark.read.parquet(str(tmp_path / "current.parquet")), constraints, on_spark.statistics)
    expected = validate(tmp_path / "current.parquet", constraints, on_spark.statistics)
    assert found.constraint_violations() == expected.constraint_violations()
    assert {(v.feature_name, v.constraint_check_type) for v in found.violations} == {
        ("income", "baseline_drift_check"), ("city", "baseline_drift_check"), ("city", "categorical_values_check"),
        ("score", "completeness_check"),
    }  # fmt: skip


# ---- duplicates ------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_compas_duplicates_agree_with_pandas(shared_data: Path) -> None:
    path = shared_data / "compas" / "compas-scores-two-years.csv"
    df = pd.read_csv(path)
    assert find_duplicates(path).duplicate_rows == 0  # every row has its own id, name and case number
    features = ["sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
                "c_charge_degree", "two_year_recid"]  # fmt: skip
    result = find_duplicates(path, columns=features, id_column="id", examples=3, show=["sex"])
    assert result.duplicate_rows == int(df.duplicated(subset=features).sum())
    assert result.rows_in_groups == int(df.duplicated(subset=features, keep=False).sum())
    assert result.groups == int(df[df.duplicated(subset=features, keep=False)].groupby(features).ngroups)
    sizes = df.groupby(features).size().sort_values(ascending=False)
    assert [g.rows for g in result.examples] == sizes.iloc[:3].tolist()
    for group in result.examples:
        rows = df.iloc[list(group.positions)]
        assert len(rows[features].drop_duplicates()) == 1  # the positions are rows equal on the features
        assert [str(i) for i in rows["id"]] == [str(i) for i in group.ids or ()]
    text = json.dumps(result.to_dict())
    assert "Male" in text  # shown on request
    for column in ("name", "race", "c_charge_degree"):
        assert not any(f'"{v}"' in text for v in df[column].unique() if isinstance(v, str) and len(v) > 2)


def test_duplicates_treat_missing_values_as_equal_on_every_engine() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, np.nan, 2.0, 1.0, np.nan], "b": ["x", None, None, "y", "x", "z"]})
    result = find_duplicates(df)
    assert (result.duplicate_rows, result.groups) == (int(df.duplicated().sum()), 2)
    assert sorted(g.positions for g in result.examples) == [(0, 4), (1, 2)]
    import polars as pl

    assert find_duplicates(pl.from_pandas(df)).duplicate_rows == 2
    with pytest.raises(InvalidInput, match="column 'nope'"):
        find_duplicates(df, columns=["a", "nope"])
    with pytest.raises(InvalidInput, match="to show is not one of the compared"):
        find_duplicates(df, columns=["a"], show=["b"])


# ---- leakage ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adult(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("adult")
    read = {"header": None, "names": ADULT_COLUMNS, "skipinitialspace": True}
    train = pd.read_csv(shared_data / "adult" / "adult.data", **read)
    test = pd.read_csv(shared_data / "adult" / "adult.test", skiprows=1, **read)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


@pytest.mark.realdata
def test_adult_test_rows_found_in_training(adult: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train_path, test_path = adult
    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    features = ADULT_COLUMNS[:-1]  # the label differs ("<=50K" against "<=50K.")
    in_train = test[features].merge(train[features].drop_duplicates(), how="left", indicator=True)["_merge"] == "both"
    code = main(["check", "leakage", str(test_path), "--reference", str(train_path), "--exclude", "income", "--json"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    result = document["result"]
    assert result["data_rows_shared"] == int(in_train.sum()) == 26
    assert result["reference_rows_shared"] == int(
        (train[features].merge(test[features].drop_duplicates(), how="left", indicator=True)["_merge"] == "both").sum()
    )
    assert result["example_positions"] == np.flatnonzero(in_train.to_numpy())[:10].tolist()
    assert document["status"] == "fail" and document["reference"]["rows"] == 32561
    assert len(document["data"]["fingerprint"]) == 64
    assert shared_rows(test, train, exclude=["income"]).data_rows_shared == 26  # pandas frames give the same
    assert shared_rows(test_path, train_path).data_rows_shared == 0  # with the label, no row is shared


def test_shared_rows_compare_integers_with_floats() -> None:
    a = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["a", "b", "c", None]})
    b = pd.DataFrame({"x": [1.0, 2.5, 4.0, 9.0], "y": ["a", "b", None, None], "z": [0, 0, 0, 0]})
    result = shared_rows(b, a)
    assert result.columns == ("x", "y")
    assert (result.data_rows_shared, result.reference_rows_shared, result.positions) == (2, 2, (0, 2))
    with pytest.raises(InvalidInput, match="no column in common"):
        shared_rows(pd.DataFrame({"q": [1]}), a)


def test_target_leakage_finds_the_planted_features() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    y = rng.random(n) < 0.3
    df = pd.DataFrame(
        {
            "y": np.where(y, "bad", "good"),
            "leak_copy": y.astype(float) + rng.normal(0, 0.15, n),  # the label with noise
            "leak_code": np.where(y, "R", "G"),  # a categorical give-away
            "hint": y * 1.0 + rng.normal(0, 1.5, n),  # genuinely predictive, not a leak
            "band": rng.integers(0, 8, n) + y * 2,
            "id": [f"c{i}" for i in range(n)],  # one row per value: no information
            "number": rng.permutation(n),  # the same as a number (binned)
            "city": rng.choice(["a", "b", "c"], n),
        }
    )
    result = target_leakage(df, "y", positive="bad")
    assert [f.feature for f in result.leaking] == ["leak_copy", "leak_code"]
    by_name = {f.feature: f for f in result.features}
    assert by_name["leak_copy"].binned and by_name["leak_copy"].auc >= 0.99
    assert by_name["band"].auc_order == pytest.approx(roc_auc_score(y, df["band"]), abs=1e-12)
    assert by_name["hint"].auc_order == pytest.approx(roc_auc_score(y, df["hint"]), abs=0.002)  # 1,000 bins
    assert by_name["id"].auc_encoded == pytest.approx(0.5, abs=1e-12)
    assert by_name["number"].binned and by_name["number"].auc < 0.55
    assert by_name["city"].auc < 0.6
    assert result.to_dict()["result"]["leaking_features"] == ["leak_copy", "leak_code"]
    with pytest.raises(InvalidInput, match="not 0/1"):
        target_leakage(df, "y")
    with pytest.raises(InvalidInput, match="both classes"):
        target_leakage(df, "y", positive="nobody")


# ---- label issues -----------------------------------------------------------------------------------------


def test_label_issues_recover_planted_flips(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 1500
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(["a", "b"], n)
    clean = (3 * x1 - 2 * x2 + np.where(group == "a", 1.0, -1.0) + 0.3 * rng.logistic(size=n)) > 0
    flipped = rng.choice(n, 45, replace=False)
    given = clean.copy()
    given[flipped] = ~given[flipped]
    df = pd.DataFrame({"x1": x1, "x2": x2, "group": group, "label": np.where(given, "yes", "no")})
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    result = find_label_issues(path, "label", sample=n, folds=5)
    found = {issue.position for issue in result.issues}
    planted = set(flipped.tolist())
    assert len(found & planted) >= 0.7 * len(planted)  # most flips found ...
    assert len(found & planted) >= 0.7 * len(found)  # ... and few clean rows blamed
    for issue in result.issues:
        assert issue.given == df["label"].iloc[issue.position] and issue.suggested != issue.given
    document = result.to_dict()
    assert document["sample"]["rows"] == n and document["sample"]["method"] == "all rows"
    sampled = find_label_issues(path, "label", sample=600, seed=3)
    assert sampled.sample.rows == 600 and sampled.to_dict()["sample"]["scanned"] == n
    assert {i.position for i in sampled.issues} <= set(range(n))
    assert sum(i.position in planted for i in sampled.issues) >= 0.5 * len(sampled.issues)
    with pytest.raises(InvalidInput, match="fewer than the 5 folds"):
        find_label_issues(df.assign(label=["x"] * 3 + ["y"] * (n - 3)), "label")


# ---- representativeness -----------------------------------------------------------------------------------


def test_representativeness_is_scipy_chi_square_with_group_differences() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"sex": rng.choice(["Female", "Male", None], 2000, p=[0.4, 0.58, 0.02])})
    column, shares = parse_population("sex=Female:51%,Male:49%")
    result = representativeness(df, {column: shares})
    test = result.tests[0]
    observed = [int((df.sex == "Female").sum()), int((df.sex == "Male").sum())]
    expected = chisquare(observed, f_exp=np.array([0.51, 0.49]) * sum(observed))
    assert test.statistic == pytest.approx(expected.statistic) and test.p_value == pytest.approx(expected.pvalue)
    assert test.missing_rows == int(df.sex.isna().sum()) and test.rows == sum(observed)
    female = test.groups[0]
    assert female.difference == pytest.approx(observed[0] / sum(observed) - 0.51)
    assert not result.passed
    fair = representativeness(df, {"sex": {"Female": 0.41, "Male": 0.59}})
    assert fair.passed and fair.tests[0].p_value > 0.05


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sex", "write COLUMN=GROUP:SHARE"),
        ("sex=Female:0.5,Male", "is not GROUP:SHARE"),
        ("sex=Female:half,Male:0.5", "is not a number"),
        ("sex=Female:0.7,Male:0.7", "add up to 1.4"),
        ("sex=Female:1", "at least two groups"),
    ],
)
def test_bad_population_specs_are_refused(spec: str, message: str) -> None:
    df = pd.DataFrame({"sex": ["Female", "Male"]})
    with pytest.raises(InvalidInput, match=message):
        service.representativeness(df, [spec])


# ---- the command line -------------------------------------------------------------------------------------


def test_commands_write_documents_and_model_monitor_files(
    reference_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, out = tmp_path / "baseline", tmp_path / "validation"
    assert main(["check", "baseline", str(reference_csv), "--out", str(base)]) == 0
    assert {p.name for p in base.iterdir()} == {"statistics.json", "constraints.json", "baseline.json", "report.html"}
    assert json.loads((base / "constraints.json").read_text())["monitoring_config"] == DEFAULT_MONITORING_CONFIG
    current = tmp_path / "current.csv"
    drifted().to_csv(current, index=False)
    capsys.readouterr()
    assert main(["check", "validate", str(current), "--baseline", str(base), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "CompletedWithViolations" in printed and "missing_column_check" in printed
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    assert len(violations) == 7
    assert json.loads((out / "statistics.json").read_text())["dataset"] == {"item_count": 3000}
    assert main(["check", "validate", str(current), "--baseline", str(base), "--out", str(out), "--strict"]) == 1
    assert main(["check", "validate", str(reference_csv), "--baseline", str(base), "--out", str(out), "--strict"]) == 0
    capsys.readouterr()
    observed = pd.read_csv(reference_csv)["city"].value_counts(normalize=True).round(3)
    population = "city=" + ",".join(f"{city}:{share}" for city, share in observed.items())
    assert main(["check", "representativeness", str(reference_csv), "--population", population, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["check"] == "representativeness" and document["status"] == "pass"
    assert (
        main(["check", "duplicates", str(reference_csv), "--columns", "city,visits", "--out", str(tmp_path / "d")]) == 0
    )
    assert "duplicate rows" in capsys.readouterr().out
    saved = json.loads((tmp_path / "d" / "duplicates.json").read_text())
    assert saved["schema"] == "assay.data-check" and saved["result"]["duplicate_rows"] > 0
    assert "<table>" in (tmp_path / "d" / "report.html").read_text()
    assert main(["check", "target-leakage", str(reference_csv), "--label", "visits>3", "--features", "age,city"]) == 0
    assert "ROC AUC" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["duplicates", "{data}", "--columns", "city,nope"], "column 'nope' is not in"),
        (["duplicates", "{missing}"], "does not exist"),
        (["representativeness", "{data}", "--population", "city=Lyon"], "is not GROUP:SHARE"),
        (["representativeness", "{data}", "--population", "town=A:0.5,B:0.5"], "column 'town' is not in"),
        (["target-leakage", "{data}", "--label", "city"], "is not 0/1"),
        (["label-issues", "{data}", "--label", "nope"], "label column 'nope'"),
        (["leakage", "{data}", "--reference", "{missing}"], "does not exist"),
        (["validate", "{data}", "--baseline", "{missing}", "--out", "{out}"], "does not exist"),
        (["pii", "{data}", "--sample", "0"], "at least 1"),
        (["duplicates", "{data}", "--dataset-version", "d@1"], "needs --system"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    reference_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    paths = {"data": str(reference_csv), "missing": str(tmp_path / "nothing.csv"), "out": str(tmp_path / "o")}
    code = main(["check", *(a.format(**paths) for a in args)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_results_recorded_against_a_system(workspace: Workspace, reference_csv: Path, tmp_path: Path) -> None:
    workspace.systems.create({"name": "credit"})
    workspace.datasets.register_version({"dataset": "ref", "version": "1"}, system="credit", file=reference_csv)
    result = service.duplicates(reference_csv, columns=["city", "visits"])
    paths = service.write_check(result, tmp_path / "out")
    recorded = workspace.checks.record("credit", result, dataset_version="ref@1", files=paths)
    assert recorded.kind == "assay.data-check"
    assert recorded.document["check"] == "duplicates"
    assert recorded.data_fingerprint == result.data.fingerprint and len(recorded.data_fingerprint or "") == 64
    assert set(recorded.attachments) == {"duplicates.json", "report.html"}
    with pytest.raises(InvalidInput, match="not a data-check document"):
        workspace.checks.record("credit", {"schema": "assay.assessment"})
    root = str(workspace.root)
    code = main(["--workspace", root, "--actor", "bob", "check", "representativeness", str(reference_csv),
                 "--population", "city=Lyon:0.3,Nice:0.2,Paris:0.5", "--system", "credit"])  # fmt: skip
    assert code == 0
    kinds = [(a.kind, a.document["check"], a.created_by) for a in workspace.assessments.list("credit")]
    assert kinds == [("assay.data-check", "duplicates", "alice"), ("assay.data-check", "representativeness", "bob")]
    assert (
        main(["--workspace", str(workspace.root), "check", "duplicates", str(reference_csv), "--system", "nope"]) == 2
    )


def test_every_document_is_strict_json_and_renders(tmp_path: Path) -> None:
    from assay.reports.checks import check_tables, render_check_html

    rng = np.random.default_rng(3)
    df = made_up(300, 4).assign(y=lambda d: (d["income"] + rng.normal(0, 5, 300) > 50).astype(int))
    results = [
        suggest_baseline(df),
        validate(df, suggest_baseline(df).constraints),
        find_duplicates(df, columns=["city"]),
        shared_rows(df.iloc[:100], df.iloc[50:]),
        target_leakage(df, "y"),
        find_label_issues(df, "y", features=["income", "city"], sample=200),
        representativeness(df, {"city": {"Lyon": 0.3, "Nice": 0.2, "Paris": 0.5}}),
        service.pii(df, columns=["city", "tag"]),
    ]
    checks = []
    for result in results:
        document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
        checks.append(document["check"])
        assert document["schema"] == "assay.data-check" and document["status"] in ("pass", "fail")
        tables = check_tables(document)
        assert tables and all(len(row) == len(t["columns"]) for t in tables for row in t["rows"])
        page = render_check_html(document)
        assert page.startswith("<!doctype html>") and html.escape(document["summary"].split(":")[0]) in page
    assert checks == ["baseline", "validate", "duplicates", "leakage", "target-leakage", "label-issues",
                      "representativeness", "pii"]  # fmt: skip
    assert results[1].to_dict()["spec"]["baseline_statistics"] is False  # no statistics: no drift check
    with pytest.raises(ValueError, match="not a data-check document"):
        check_tables({"schema": "assay.assessment"})
    later = {"schema": "assay.data-check", "check": "later", "result": {"share": 0.25, "columns": ["a", "b"]}}
    assert check_tables(later)[0]["rows"] == [["share", "0.25"], ["columns", "a, b"]]  # a check added later
