"""Perturbation robustness: the corruptions, the suite's figures and verdict, and its options (small synthetic data;
the measurement on adult is benchmarks/robustness.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from assay.adapters import load_model
from assay.errors import InvalidInput
from assay.governance.evidence import controls_for
from assay.robustness.corrupt import corrupt
from assay.services.compute import Inputs, compute
from assay.services.kinds import KINDS
from assay.services.robustness import outcome


def _table(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "count": rng.integers(0, 50, n),
        "colour": rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]),
        "name": [f"person number {i}" for i in range(n)],
    })  # fmt: skip


def test_corruptions_are_deterministic_and_keep_the_columns_plausible() -> None:
    frame = _table()
    columns = list(frame.columns)
    for name in ("noise", "unit", "missing", "swap", "typo"):
        first, touched = corrupt(frame, name, 0.2, columns, seed=3)
        again, _ = corrupt(frame, name, 0.2, columns, seed=3)
        other, _ = corrupt(frame, name, 0.2, columns, seed=4)
        pd.testing.assert_frame_equal(first, again)
        assert not first.equals(other), name
        assert touched == {"noise": ["x", "count"], "unit": ["x", "count"], "missing": columns,
                           "swap": ["colour"], "typo": ["colour", "name"]}[name]  # fmt: skip
    missing, _ = corrupt(frame, "missing", 0.2, columns, seed=0)
    assert missing.isna().sum().to_dict() == dict.fromkeys(columns, 400)
    swapped, _ = corrupt(frame, "swap", 0.5, ["colour"], seed=0)
    changed = swapped["colour"] != frame["colour"]
    assert changed.sum() == 1000 and set(swapped["colour"]) == {"red", "green", "blue"}
    assert swapped.loc[changed & (frame["colour"] == "blue"), "colour"].value_counts().idxmax() == "red"
    noisy, _ = corrupt(frame, "noise", 0.5, ["count"], seed=0)
    assert noisy["count"].dtype == frame["count"].dtype and (noisy["count"] != frame["count"]).mean() > 0.5
    unit, _ = corrupt(frame, "unit", 0.1, ["x"], seed=0)
    ratio = (unit["x"] / frame["x"])[unit["x"] != frame["x"]].round(6)
    assert set(ratio) == {10.0, 0.1} and len(ratio) == 200
    typo, _ = corrupt(frame, "typo", 1.0, ["name"], seed=0)
    assert (typo["name"] != frame["name"]).mean() > 0.9


def _ignoring_model(frame: pd.DataFrame) -> Any:
    """A model over x and colour that uses x only (the colour column is dropped by its encoder)."""
    pipeline = make_pipeline(make_column_transformer(("passthrough", ["x"]), remainder="drop"), LogisticRegression())
    return load_model(pipeline.fit(frame[["x", "colour"]], frame["y"]))


def test_a_model_that_ignores_a_column_is_unaffected_by_its_corruption() -> None:
    frame = _table()
    frame["y"] = (frame["x"] + np.random.default_rng(1).normal(scale=0.5, size=len(frame)) > 0).astype(int)
    model = _ignoring_model(frame)
    options = {"label": "y", "severities": [0.2, 1.0], "sample": 2000}
    ignored = compute("robustness", Inputs(frame, model=model), {**options, "columns": ["colour"]}).to_dict()
    assert ignored["status"] == "pass" and ignored["spec"]["corruptions"] == ["missing", "swap", "typo"]
    for corruption in ignored["result"]["corruptions"]:
        assert [s["accuracy_drop"] for s in corruption["severities"]] == [0.0, 0.0], corruption["name"]
    used = compute("robustness", Inputs(frame, model=model), {**options, "corruptions": ["noise"]}).to_dict()
    drops = [s["accuracy_drop"] for s in used["result"]["corruptions"][0]["severities"]]
    assert 0 < drops[0] < drops[1]


def _fragile(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Group B's label follows x, group A's follows z: noise on x hurts group B only."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n)
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = np.where(group == "B", x > 0, z > 0).astype(int)
    return pd.DataFrame({"x": x, "z": z, "group": group, "y": y})


def test_a_planted_group_dependent_fragility_is_found_and_recorded_as_evidence(tmp_path: Path) -> None:
    frame = _fragile()
    encode = make_column_transformer((OrdinalEncoder(), ["group"]), remainder="passthrough")
    model = load_model(
        make_pipeline(encode, HistGradientBoostingClassifier(max_iter=50, random_state=0)).fit(
            frame[["x", "z", "group"]], frame["y"]
        )
    )
    options = {"label": "y", "facet": "group", "immutable": ["z", "group"], "corruptions": ["noise"],
               "severities": [0.2, 0.5], "at": 0.5, "max_accuracy_drop": 0.5, "min_group_size": 200}  # fmt: skip
    result = compute("robustness", Inputs(frame, model=model), options)
    document = result.to_dict()
    assert document["status"] == "fail" and document["spec"]["columns"] == ["x"]
    findings = document["result"]["findings"]
    assert {f["subject"] for f in findings} == {"group=B"} and all(f["kind"] == "group" for f in findings)
    step = document["result"]["corruptions"][0]["severities"][1]
    groups = {g["value"]: g for g in step["groups"]}
    assert groups["B"]["accuracy_drop"] > 0.1 > abs(groups["A"]["accuracy_drop"])
    assert groups["B"]["excess_drop"] > 0.1 and groups["B"]["DI"] is not None and groups["B"]["DPPL"] is not None
    read = outcome(document)
    assert read["status"] == "fail" and read["violations"][0]["check_type"] == "robustness_group_check"
    assert {m["subject"] for m in read["metrics"] if m["name"] == "accuracy"} == {"clean", "noise@0.2", "noise@0.5"}
    links = {f"{link.framework}:{link.control}" for link in controls_for(document)}
    assert {"iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.5"} <= links
    paths = KINDS["robustness"].write(result, tmp_path)
    assert json.loads(paths["robustness"].read_text())["status"] == "fail"
    report = paths["report"].read_text()
    assert "<svg" in report and "group=B loses" in report
    small = compute("robustness", Inputs(frame, model=model), {**options, "min_group_size": 2000}).to_dict()
    assert small["status"] == "warn" and sorted(small["result"]["small_groups"]) == ["group=A", "group=B"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"severities": [0]}, "severities"),
        ({"severities": [0.2, 0.2]}, "severities"),
        ({"corruptions": ["blur"]}, "corruptions"),
        ({"severities": [0.5], "at": 0.1}, "at"),
        ({"max_accuracy_drop": 2}, "max_accuracy_drop"),
        ({"corruptions": ["noise"], "columns": ["colour"]}, "corruptions: 'noise' fits none"),
        ({"columns": ["shade"]}, "'shade'"),
        ({"immutable": ["x", "colour"]}, "columns: no column is left"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], message: str) -> None:
    frame = _table(300)
    frame["y"] = (frame["x"] > 0).astype(int)
    with pytest.raises(InvalidInput, match=message):
        compute("robustness", Inputs(frame, model=_ignoring_model(frame)), {"label": "y", **options})


def test_per_column_sensitivity_ranks_the_column_the_model_relies_on_first(tmp_path: Path) -> None:
    """y follows x strongly and count weakly; colour and name are ignored: x first, the ignored columns drop 0."""
    frame = _table()
    rng = np.random.default_rng(2)
    frame["y"] = (frame["x"] + 0.02 * (frame["count"] - 25) + rng.normal(scale=0.3, size=len(frame)) > 0).astype(int)
    frame["group"] = np.where(frame["x"] > 0.5, "high", "rest")
    pipeline = make_pipeline(make_column_transformer(("passthrough", ["x", "count"]), remainder="drop"),
                             LogisticRegression())  # fmt: skip
    model = load_model(pipeline.fit(frame[["x", "count", "colour", "name"]], frame["y"]))
    options = {"label": "y", "facet": "group", "immutable": ["group"], "corruptions": ["noise"], "severities": [0.2],
               "column_severity": 0.5}  # fmt: skip
    result = compute("robustness", Inputs(frame, model=model), options)
    document = result.to_dict()
    columns = document["result"]["columns"]
    assert [c["column"] for c in columns][:2] == ["x", "count"] and [c["rank"] for c in columns] == [1, 2, 3, 4]
    assert {c["column"]: c["corruption"] for c in columns} == {"x": "noise", "count": "noise", "colour": "swap",
                                                               "name": "typo"}  # fmt: skip
    drops = {c["column"]: c["accuracy_drop"] for c in columns}
    assert drops["x"] > 0.05 and drops["x"] > drops["count"] and drops["colour"] == drops["name"] == 0.0
    x = columns[0]
    assert {g["value"] for g in x["groups"]} == {"high", "rest"} and x["max_DI_shift"] is not None
    assert document["spec"]["per_column"] is True and document["spec"]["column_severity"] == 0.5
    # the existing keys are kept: the all-columns corruption and its verdict do not change
    assert document["result"]["corruptions"][0]["name"] == "noise" and "findings" in document["result"]
    assert ("column_accuracy_drop", "x") in {(m["name"], m["subject"]) for m in outcome(document)["metrics"]}
    report = KINDS["robustness"].write(result, tmp_path)["report"].read_text()
    assert "Sensitivity per column" in report and report.count("<svg") == 2
    off = compute("robustness", Inputs(frame, model=model), {**options, "per_column": False}).to_dict()
    assert off["result"]["columns"] is None
    assert off["result"]["corruptions"] == document["result"]["corruptions"]


def test_a_model_that_refuses_corrupted_rows_is_a_finding_not_a_failed_run(tmp_path: Path) -> None:
    """A one-hot pipeline that raises on a category it never saw (scikit-learn's default ``handle_unknown="error"``)
    meets missing values: that corruption is reported refused, with the model's error, as a finding (the least
    robust outcome), and every other corruption and column is still measured. Before, the whole run failed."""
    from sklearn.preprocessing import OneHotEncoder

    frame = _table()
    rng = np.random.default_rng(3)
    frame["y"] = (frame["x"] + (frame["colour"] == "red") + rng.normal(scale=0.3, size=len(frame)) > 0.5).astype(int)
    strict = make_pipeline(make_column_transformer((OneHotEncoder(), ["colour"]), ("passthrough", ["x"])),
                           LogisticRegression())  # fmt: skip
    model = load_model(strict.fit(frame[["x", "colour"]], frame["y"]))
    options = {"label": "y", "corruptions": ["noise", "missing"], "severities": [0.1, 0.2], "at": 0.2}
    result = compute("robustness", Inputs(frame[["x", "colour", "y"]], model=model), options)
    document = result.to_dict()
    by_name = {c["name"]: c for c in document["result"]["corruptions"]}
    assert all("refused" not in s and s["accuracy"] is not None for s in by_name["noise"]["severities"])
    refused = by_name["missing"]["severities"]
    assert all("unknown categories" in s["refused"] and s["accuracy"] is None for s in refused)
    findings = [f for f in document["result"]["findings"] if f["kind"] == "refused"]
    assert [f["severity"] for f in findings] == [0.1, 0.2] and document["status"] == "fail"
    assert "the model refused the corrupted rows" in document["summary"]
    assert {v["check_type"] for v in outcome(document)["violations"]} >= {"robustness_refused_check"}
    report = KINDS["robustness"].write(result, tmp_path)["report"].read_text()
    assert "the model refused these rows" in report
    json.dumps(document, allow_nan=False)
