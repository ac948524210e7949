"""The model-quality kind (metrics.quality): Model Monitor's metrics with intervals, suggested constraints, the
judgement of a window against them, the CBPE estimate without labels; on adult (a gradient boosting model trained
on adult.data, adult.test as windows), through ``workspace.runs.run`` on registered versions and ``assay run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score

from assay.cli import main
from assay.errors import InvalidInput
from assay.metrics.quality import model_quality
from assay.services.compute import Inputs, compute, kind_of
from assay.services.runs import Target
from tests.support.adult import adult, scored, windows

OPTIONS: dict[str, Any] = {"label": "y", "predicted": "pred", "score": "score", "bootstrap": 200}


def _synthetic(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    y = (rng.random(n) < score).astype(int)  # calibrated scores
    return pd.DataFrame({"y": y, "score": score, "pred": (score > 0.5).astype(int)})


def test_the_metrics_are_scikit_learns_with_intervals() -> None:
    data = _synthetic()
    doc = model_quality(data, label="y", predicted="pred", score="score", bootstrap=200).to_dict()
    metrics = doc["statistics"]["binary_classification_metrics"]
    assert metrics["accuracy"]["value"] == pytest.approx(accuracy_score(data["y"], data["pred"]))
    assert metrics["f1"]["value"] == pytest.approx(f1_score(data["y"], data["pred"]))
    assert metrics["auc"]["value"] == pytest.approx(roc_auc_score(data["y"], data["score"]))
    for name in ("accuracy", "precision", "recall", "f1", "auc", "false_positive_rate", "f2"):
        lo, hi = metrics[name]["interval"]
        assert lo <= metrics[name]["value"] <= hi and metrics[name]["standard_deviation"] > 0, name
    matrix = metrics["confusion_matrix"]
    assert matrix["1"]["1"] == int(((data["y"] == 1) & (data["pred"] == 1)).sum())
    assert doc["status"] == "pass" and doc["calibration"]["method"] == "isotonic"
    rules = doc["constraints"]["binary_classification_constraints"]
    assert rules["accuracy"] == {
        "threshold": round(metrics["accuracy"]["value"] - 0.05, 6),
        "comparison_operator": "LessThanThreshold",
    }


def test_regression_metrics_when_the_label_is_numeric() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    data = pd.DataFrame({"y": y, "pred": y + rng.normal(scale=0.5, size=500)})
    doc = model_quality(data, label="y", predicted="pred", bootstrap=100).to_dict()
    assert doc["problem"] == "regression"
    metrics = doc["statistics"]["regression_metrics"]
    assert metrics["mae"]["value"] == pytest.approx(mean_absolute_error(data["y"], data["pred"]))
    assert metrics["r2"]["value"] == pytest.approx(r2_score(data["y"], data["pred"]))
    assert metrics["rmse"]["value"] == pytest.approx(metrics["mse"]["value"] ** 0.5)
    rules = doc["constraints"]["regression_constraints"]
    assert rules["mae"]["comparison_operator"] == "GreaterThanThreshold"
    assert rules["mae"]["threshold"] == pytest.approx(metrics["mae"]["value"] * 1.05, abs=1e-6)
    worse = data.assign(pred=data["pred"] + 1.0)
    judged = model_quality(worse, label="y", predicted="pred", bootstrap=100, baseline=doc).to_dict()
    assert judged["status"] == "fail"
    assert {v["metric_name"] for v in judged["violations"]} >= {"mae", "rmse", "r2"}


def test_too_few_labels_warn_and_are_not_judged() -> None:
    base = model_quality(_synthetic(), label="y", predicted="pred", score="score", bootstrap=50).to_dict()
    window = _synthetic(300, seed=2)
    window["y"] = window["y"].astype(float)
    window.loc[150:, "y"] = np.nan  # labels not arrived yet
    window.loc[:149, "y"] = 1 - window.loc[:149, "y"]  # and the ones that did are all wrong
    doc = model_quality(window, label="y", predicted="pred", score="score", bootstrap=50, baseline=base).to_dict()
    assert doc["status"] == "warn" and doc["violations"] == [] and doc["rows"] == {"total": 300, "labelled": 150}
    assert {w["code"] for w in doc["warnings"]} == {"unlabelled", "too_few_labels"}
    estimate = doc["estimated_binary_classification_metrics"]
    assert estimate["estimate"] is True and estimate["rows"] == 300  # the estimate uses every scored row
    outcome = kind_of("model-quality").outcome(doc)  # type: ignore[misc]
    assert outcome["status"] == "warn" and any(m["name"] == "estimated_accuracy" for m in outcome["metrics"])
    judged = model_quality(
        window, label="y", predicted="pred", score="score", bootstrap=50, baseline=base, judge_estimate=True
    ).to_dict()
    assert judged["status"] == "pass"  # the estimate from the calibrated scores sees nothing wrong with the model


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": "nope"}, "column 'nope' is not in the data"),
        ({"predicted": None, "score": None}, "give the predicted-label column"),
        ({"score": "text"}, "score 'text' is String"),
    ],
)
def test_bad_options_name_what_is_wrong(change: dict[str, Any], message: str) -> None:
    data = _synthetic(50).assign(text="a")
    with pytest.raises(InvalidInput, match=message):
        compute("model-quality", Inputs(data), {**OPTIONS, **change})


def test_a_text_label_needs_its_positive_value() -> None:
    data = _synthetic(50).assign(y=lambda d: np.where(d["y"] == 1, ">50K", "<=50K"))
    with pytest.raises(InvalidInput, match=r"column 'y' has the values <=50K, >50K: give the positive label"):
        model_quality(data.drop(columns="pred"), label="y", score="score")
    doc = model_quality(data.drop(columns="pred"), label="y", score="score", positive=(">50K",), bootstrap=0)
    assert doc.to_dict()["statistics"]["binary_classification_metrics"]["accuracy"]["interval"] is None


# ---- adult ------------------------------------------------------------------------------------------------------


@pytest.fixture
def frames(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference (adult.data rows the model did not train on) and the held-out adult.test, both scored."""
    return scored(shared_data, adult(shared_data, "data").iloc[20_000:]), scored(
        shared_data, adult(shared_data, "test")
    )


@pytest.mark.realdata
def test_adult_held_out_windows_raise_no_violation_and_planted_problems_are_caught(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, test = frames
    base = compute("model-quality", Inputs(reference), OPTIONS).to_dict()
    assert base["status"] == "pass" and base["rows"]["labelled"] == len(reference)
    clean = [
        compute("model-quality", Inputs(w, baseline_document=base), OPTIONS).to_dict() for w in windows(test, 2000, 20)
    ]
    assert [d["status"] for d in clean] == ["pass"] * 20
    # CBPE: the estimate without labels tracks the realised accuracy on held-out windows
    errors = [
        d["estimated_binary_classification_metrics"]["accuracy"]["value"]
        - d["statistics"]["binary_classification_metrics"]["accuracy"]["value"]
        for d in clean
    ]
    assert np.mean(np.abs(errors)) < 0.015
    rng = np.random.default_rng(0)
    flipped = windows(test, 2000, 1, seed=5)[0]
    flip = rng.random(len(flipped)) < 0.15
    flipped.loc[flip, "y"] = 1 - flipped.loc[flip, "y"]  # 15% of the labels flipped
    doc = compute("model-quality", Inputs(flipped, baseline_document=base), OPTIONS).to_dict()
    assert doc["status"] == "fail"
    accuracy = next(v for v in doc["violations"] if v["metric_name"] == "accuracy")
    value = doc["statistics"]["binary_classification_metrics"]["accuracy"]["value"]
    threshold = base["constraints"]["binary_classification_constraints"]["accuracy"]["threshold"]
    assert accuracy["description"] == f"Metric accuracy with {value:.4g} was LessThanThreshold {threshold:.4g}"
    degraded = windows(test, 2000, 1, seed=6)[0]
    noise = rng.random(len(degraded))
    degraded["score"] = 0.4 * degraded["score"] + 0.6 * noise  # a degraded model: its scores partly noise
    degraded["pred"] = (degraded["score"] > 0.5).astype(int)
    doc = compute("model-quality", Inputs(degraded, baseline_document=base), OPTIONS).to_dict()
    assert doc["status"] == "fail" and {"auc", "accuracy"} <= {v["metric_name"] for v in doc["violations"]}


@pytest.mark.realdata
def test_adult_through_registered_versions_and_the_command_line(
    workspace: Any, frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, test = frames
    columns = ["y", "pred", "score", "sex"]
    files = {"ref": tmp_path / "ref.parquet", "ok": tmp_path / "ok.parquet", "bad": tmp_path / "bad.parquet"}
    reference[columns].to_parquet(files["ref"], index=False)
    window = windows(test, 3000, 1, seed=3)[0][columns]
    window.to_parquet(files["ok"], index=False)
    window.assign(y=1 - window["y"]).to_parquet(files["bad"], index=False)
    workspace.systems.create({"name": "income"})
    for name, path in files.items():
        workspace.datasets.register_version({"dataset": name, "version": "1"}, system="income", file=path, copy=True)
    base = workspace.runs.run("model-quality", Target("income", "ref@1"), OPTIONS)
    recorded = workspace.assessments.get("income", base.recorded.id)
    assert recorded.kind == "assay.model-quality"
    assert set(recorded.attachments) == {"model_quality.json", "statistics.json", "constraints.json", "report.html"}
    ok = workspace.runs.run("model-quality", Target("income", "ok@1", baseline_id=base.recorded.id), OPTIONS)
    bad = workspace.runs.run("model-quality", Target("income", "bad@1", baseline_id=base.recorded.id), OPTIONS)
    assert (ok.document["status"], bad.document["status"]) == ("pass", "fail")
    assert "constraint_violations.json" in workspace.assessments.get("income", bad.recorded.id).attachments
    outcome = kind_of("model-quality").outcome(bad.document)  # type: ignore[misc]
    assert outcome["status"] == "fail" and outcome["violations"][0]["check_type"] == "LessThanThreshold"
    # a baseline of another kind is refused before anything runs
    check = workspace.runs.run("duplicates", Target("income", "ref@1"), {})
    with pytest.raises(InvalidInput, match="cannot be the baseline of the model-quality check"):
        workspace.runs.run("model-quality", Target("income", "ok@1", baseline_id=check.recorded.id), OPTIONS)
    # the command line: assay run model-quality, the baseline folder a first run wrote
    settings = ["--set", "label=y", "--set", "predicted=pred", "--set", "score=score", "--set", "bootstrap=100"]
    assert main(["run", "model-quality", str(files["ref"]), *settings, "--out", str(tmp_path / "b"), "-q"]) == 0
    code = main(["run", "model-quality", str(files["bad"]), *settings, "--baseline", str(tmp_path / "b"),
                 "--out", str(tmp_path / "w")])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "fail: 5 violations: Metric accuracy with" in printed
    violations = json.loads((tmp_path / "w" / "constraint_violations.json").read_text())["violations"]
    assert violations[0]["constraint_check_type"] == "LessThanThreshold"
    assert "ESTIMATE without labels (CBPE)" in (tmp_path / "w" / "report.html").read_text()


@pytest.mark.spark
def test_model_quality_and_bias_drift_give_the_same_results_on_spark(spark: Any, tmp_path: Path) -> None:
    """A monitor on Spark (source engine spark) judges a window as one on DuckDB does."""

    def on_spark(data: pd.DataFrame) -> Any:
        path = tmp_path / f"w{len(list(tmp_path.iterdir()))}.parquet"
        data.to_parquet(path)
        return spark.read.parquet(str(path))

    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "score": rng.random(n), "sex": rng.choice(["F", "M"], n)})
    frame["pred"] = (frame["score"] > 0.5).astype(int)
    quality = {"label": "y", "predicted": "pred", "score": "score", "bootstrap": 50, "seed": 1}
    local = compute("model-quality", Inputs(frame), quality).to_dict()
    sparked = compute("model-quality", Inputs(on_spark(frame)), quality).to_dict()
    section = "binary_classification_metrics"
    assert sparked["statistics"][section] == local["statistics"][section]
    bias = {"label": "y", "facets": ["sex"], "predicted": "pred", "seed": 1}
    base = compute("bias", Inputs(frame), bias).to_dict()
    drifted = frame.assign(y=np.where((frame["sex"] == "F") & (rng.random(n) < 0.3), 1, frame["y"]))
    for data in (frame, drifted):
        local = compute("bias-drift", Inputs(data, baseline_document=base), bias).to_dict()
        sparked = compute("bias-drift", Inputs(on_spark(data), baseline_document=base), bias).to_dict()
        assert (sparked["status"], sparked["comparisons"]) == (local["status"], local["comparisons"])
    assert local["status"] == "fail"  # the drifted window
