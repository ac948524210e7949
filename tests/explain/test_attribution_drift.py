"""The attribution-drift kind (explain.drift): NDCG of a window's global SHAP ranking scored with the baseline's
attributions (Clarify's rule: a violation below 0.90); on adult with a gradient boosting model, through
``workspace.runs.run`` on registered versions and ``assay run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from assay.cli import main
from assay.errors import InvalidInput
from assay.explain.drift import attribution_drift, ndcg
from assay.services.compute import Inputs, compute, kind_of
from assay.services.runs import Target
from tests.support.adult import FEATURES, adult, model, windows

OPTIONS: dict[str, Any] = {"label": "y", "positive": 1, "sample": 1000, "features": FEATURES}


def test_ndcg_of_clarifys_worked_example() -> None:
    training = {"SAT": 0.70, "GPA": 0.50, "rank": 0.05}
    assert ndcg(training, {"SAT": 0.05, "GPA": 0.50, "rank": 0.70}) == pytest.approx(0.688, abs=5e-4)
    assert ndcg(training, {"SAT": 7.0, "GPA": 5.0, "rank": 0.5}) == 1.0  # scaling every attribution: invisible
    assert ndcg(training, {"SAT": 0.7, "rank": 0.6}) < 1.0  # a feature the window lacks ranks last


def _explanations(values: dict[str, float], rows: int = 500) -> dict[str, Any]:
    return {"schema": "assay.explanations", "label": {"column": "y"}, "method": {"sample": {"rows": rows}},
            "features": [{"feature": f, "mean_abs_shap": v} for f, v in values.items()]}  # fmt: skip


def test_the_violation_in_clarifys_format_and_the_threshold() -> None:
    baseline = _explanations({"SAT": 0.70, "GPA": 0.50, "rank": 0.05})
    window = _explanations({"SAT": 0.05, "GPA": 0.50, "rank": 0.70})
    result = attribution_drift(window, baseline)
    assert result.status == "fail"
    (violation,) = result.constraint_violations()["violations"]
    assert violation == {
        "label": "y",
        "metric_name": "shap",
        "constraint_check_type": "feature_attribution_drift_check",
        "description": "Feature attribution drift: NDCG 0.6876 of the window's global SHAP ranking is below the "
        "threshold 0.9",
    }
    assert attribution_drift(window, baseline, threshold=0.6).status == "pass"  # configurable
    assert attribution_drift(_explanations({"SAT": 0.05}, rows=20), baseline).status == "warn"  # too few rows
    with pytest.raises(InvalidInput, match="must be an explanations document"):
        attribution_drift({"schema": "assay.assessment"}, baseline)


def _more_capital_gains(window: pd.DataFrame, reference: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """A reordered importance: capital-gain replaced by values drawn from the reference rows with large gains."""
    gains = reference.loc[reference["capital-gain"] > 5000, "capital-gain"].to_numpy()
    return window.assign(**{"capital-gain": np.random.default_rng(seed).choice(gains, len(window))})


@pytest.mark.realdata
def test_adult_held_out_windows_raise_no_violation_and_a_reordered_importance_is_caught(shared_data: Path) -> None:
    gb = model(shared_data)
    reference = adult(shared_data, "data").iloc[20_000:][[*FEATURES, "y"]]
    test = adult(shared_data, "test")[[*FEATURES, "y"]]
    base = compute("explanations", Inputs(reference, model=gb), {**OPTIONS, "pdp": 0, "rows": 0}).to_dict()
    clean = [
        compute("attribution-drift", Inputs(w, model=gb, baseline_document=base), OPTIONS).to_dict()
        for w in windows(test, 1000, 5)
    ]
    assert [d["status"] for d in clean] == ["pass"] * 5 and min(d["ndcg"] for d in clean) > 0.99
    planted = _more_capital_gains(windows(test, 1000, 1, seed=7)[0], reference)
    doc = compute("attribution-drift", Inputs(planted, model=gb, baseline_document=base), OPTIONS).to_dict()
    assert doc["status"] == "fail" and doc["ndcg"] < 0.9
    assert next(f for f in doc["features"] if f["feature"] == "capital-gain")["window_rank"] == 1
    outcome = kind_of("attribution-drift").outcome(doc)  # type: ignore[misc]
    assert outcome["status"] == "fail" and outcome["metrics"][0] == {
        "name": "ndcg",
        "subject": "",
        "value": doc["ndcg"],
        "threshold": 0.9,
    }


@pytest.mark.realdata
def test_adult_through_registered_versions_and_the_command_line(
    workspace: Any, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gb = model(shared_data)
    sio.dump(gb, tmp_path / "gb.skops")
    reference = adult(shared_data, "data").iloc[20_000:22_000][[*FEATURES, "y"]]
    window = windows(adult(shared_data, "test")[[*FEATURES, "y"]], 1000, 1, seed=2)[0]
    files = {"ref": tmp_path / "ref.parquet", "ok": tmp_path / "ok.parquet", "bad": tmp_path / "bad.parquet"}
    reference.to_parquet(files["ref"], index=False)
    window.to_parquet(files["ok"], index=False)
    _more_capital_gains(window, adult(shared_data, "data")).to_parquet(files["bad"], index=False)
    workspace.systems.create({"name": "income"})
    workspace.models.register_version("income", {"model": "gb", "version": "1"}, artifact=tmp_path / "gb.skops")
    for name, path in files.items():
        workspace.datasets.register_version({"dataset": name, "version": "1"}, system="income", file=path, copy=True)
    base = workspace.runs.run("explanations", Target("income", "ref@1", model_version="gb@1"), OPTIONS)
    runs = {
        name: workspace.runs.run(
            "attribution-drift", Target("income", f"{name}@1", model_version="gb@1", baseline_id=base.recorded.id),
            OPTIONS,
        )
        for name in ("ok", "bad")
    }  # fmt: skip
    assert (runs["ok"].document["status"], runs["bad"].document["status"]) == ("pass", "fail")
    recorded = workspace.assessments.get("income", runs["bad"].recorded.id)
    assert recorded.kind == "assay.attribution-drift"
    assert set(recorded.attachments) == {"attribution_drift.json", "constraint_violations.json", "report.html"}
    with pytest.raises(InvalidInput, match="needs a model_version"):
        workspace.runs.run("attribution-drift", Target("income", "ok@1", baseline_id=base.recorded.id), OPTIONS)
    settings = [
        "--set",
        "label=y",
        "--set",
        "positive=1",
        "--set",
        "sample=500",
        "--set",
        f"features={','.join(FEATURES)}",
    ]
    model_file = ["--model", str(tmp_path / "gb.skops")]
    assert (
        main(["run", "explanations", str(files["ref"]), *model_file, *settings, "--out", str(tmp_path / "b"), "-q"])
        == 0
    )
    code = main(["run", "attribution-drift", str(files["bad"]), *model_file, *settings,
                 "--baseline", str(tmp_path / "b"), "--out", str(tmp_path / "w")])  # fmt: skip
    assert code == 0 and "fail: 1 violations: Feature attribution drift: NDCG" in capsys.readouterr().out
    written = json.loads((tmp_path / "w" / "constraint_violations.json").read_text())
    assert written["violations"][0]["constraint_check_type"] == "feature_attribution_drift_check"
