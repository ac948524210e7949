"""The bias-drift kind (metrics.bias_drift): the Clarify metrics of a window against a recorded bias assessment,
judged with the intervals and a band; on adult (held-out windows of adult.test against a baseline from adult.data),
through ``workspace.runs.run`` on registered versions and ``assay run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.cli import main
from assay.errors import InvalidInput
from assay.metrics.bias_drift import bias_drift
from assay.services.compute import Inputs, compute, kind_of
from assay.services.runs import Target
from tests.support.adult import adult, scored, windows

OPTIONS: dict[str, Any] = {"label": "y", "facets": ["sex"], "predicted": "pred", "bootstrap": 200}


def _assessment(entries: list[tuple[str, float, list[float] | None]], bootstrap: int = 200) -> dict[str, Any]:
    metrics = [{"name": n, "value": v, "ci": ci, "status": "ok"} for n, v, ci in entries]
    return {"schema": "assay.assessment", "label": "y", "spec": {"bootstrap": bootstrap}, "data": {"source": "x"},
            "facets": [{"facet": "sex", "value_or_threshold": "F", "metrics": metrics}]}  # fmt: skip


def test_the_rule_uses_both_intervals_and_the_band() -> None:
    baseline = _assessment([("DPL", 0.10, [0.08, 0.12]), ("DI", 0.8, [0.7, 0.9]), ("FT", 0.1, None)])
    window = _assessment([("DPL", 0.32, [0.25, 0.39]), ("DI", 1.2, [0.95, 1.45]), ("FT", 0.9, None)])
    result = bias_drift(window, baseline, band=0.1)
    doc = result.to_dict()
    assert doc["status"] == "fail" and [v["metric_name"] for v in doc["violations"]] == ["DPL"]
    verdicts = {c["metric_name"]: c["verdict"] for c in doc["comparisons"]}
    assert verdicts == {"DPL": "drift", "DI": "ok", "FT": "not judged: no interval"}  # DI: 0.95 <= 0.9 + 0.1
    assert {c["metric_name"]: c["allowed"] for c in doc["comparisons"]}["DPL"] == pytest.approx([-0.02, 0.22])
    violation = result.constraint_violations()["violations"][0]
    assert violation["constraint_check_type"] == "bias_drift_check" and violation["facet_value"] == "F"
    assert violation["description"].startswith("Value 0.32 (interval 0.25 .. 0.39) does not meet the constraint")
    assert bias_drift(window, baseline, band=0.3).status == "pass"  # a wider band
    nothing = _assessment([("DPL", "Infinity", None)])  # type: ignore[list-item]
    assert bias_drift(nothing, baseline).status == "warn"  # nothing could be compared: not judged
    with pytest.raises(InvalidInput, match="must be a bias assessment document"):
        bias_drift({"schema": "assay.model-quality"}, baseline)


@pytest.fixture
def frames(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return scored(shared_data, adult(shared_data, "data").iloc[20_000:]), scored(
        shared_data, adult(shared_data, "test")
    )


def _more_positive_women(window: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    """A changed label rate for one group: ``share`` of the women labelled <=50K relabelled >50K."""
    out = window.copy()
    rng = np.random.default_rng(seed)
    chosen = (out["sex"] == "Female") & (out["y"] == 0) & (rng.random(len(out)) < share)
    out.loc[chosen, "y"] = 1
    return out


@pytest.mark.realdata
def test_adult_held_out_windows_raise_no_violation_and_a_changed_label_rate_is_caught(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, test = frames
    base = compute("bias", Inputs(reference), OPTIONS).to_dict()
    clean = [
        compute("bias-drift", Inputs(w, baseline_document=base), OPTIONS).to_dict() for w in windows(test, 2000, 10)
    ]
    assert [d["status"] for d in clean] == ["pass"] * 10
    assert all(sum(c["verdict"] == "ok" for c in d["comparisons"]) >= 30 for d in clean)  # the metrics were judged
    planted = _more_positive_women(windows(test, 2000, 1, seed=9)[0], 0.2)
    doc = compute("bias-drift", Inputs(planted, baseline_document=base), OPTIONS).to_dict()
    assert doc["status"] == "fail"
    assert ("Female", "DPL") in {(v["facet_value"], v["metric_name"]) for v in doc["violations"]}
    outcome = kind_of("bias-drift").outcome(doc)  # type: ignore[misc]
    assert outcome["status"] == "fail" and "sex=Female DPL" in {v["subject"] for v in outcome["violations"]}


@pytest.mark.realdata
def test_adult_through_registered_versions_and_the_command_line(
    workspace: Any, frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, test = frames
    columns = ["y", "pred", "sex"]
    window = windows(test, 3000, 1, seed=4)[0]
    files = {"ref": tmp_path / "ref.parquet", "ok": tmp_path / "ok.parquet", "bad": tmp_path / "bad.parquet"}
    reference[columns].to_parquet(files["ref"], index=False)
    window[columns].to_parquet(files["ok"], index=False)
    _more_positive_women(window, 0.25)[columns].to_parquet(files["bad"], index=False)
    workspace.systems.create({"name": "income"})
    for name, path in files.items():
        workspace.datasets.register_version({"dataset": name, "version": "1"}, system="income", file=path, copy=True)
    with pytest.raises(InvalidInput, match="needs baseline_id"):
        workspace.runs.run("bias-drift", Target("income", "ok@1"), OPTIONS)
    base = workspace.runs.run("bias", Target("income", "ref@1"), OPTIONS)
    ok = workspace.runs.run("bias-drift", Target("income", "ok@1", baseline_id=base.recorded.id), OPTIONS)
    bad = workspace.runs.run("bias-drift", Target("income", "bad@1", baseline_id=base.recorded.id), OPTIONS)
    assert (ok.document["status"], bad.document["status"]) == ("pass", "fail")
    recorded = workspace.assessments.get("income", bad.recorded.id)
    assert recorded.kind == "assay.bias-drift"
    assert set(recorded.attachments) == {"bias_drift.json", "constraint_violations.json", "report.html"}
    assert recorded.document["inputs"]["baseline"]["assessment"] == base.recorded.id
    with pytest.raises(InvalidInput, match="cannot be the baseline of the bias drift check"):
        workspace.runs.run("bias-drift", Target("income", "ok@1", baseline_id=ok.recorded.id), OPTIONS)
    settings = ["--set", "label=y", "--set", "facets=sex", "--set", "predicted=pred", "--set", "bootstrap=100"]
    assert main(["run", "bias", str(files["ref"]), *settings, "--out", str(tmp_path / "b"), "-q"]) == 0
    code = main(["run", "bias-drift", str(files["bad"]), *settings, "--baseline", str(tmp_path / "b"),
                 "--out", str(tmp_path / "w")])  # fmt: skip
    assert code == 0 and "fail: " in capsys.readouterr().out
    written = json.loads((tmp_path / "w" / "constraint_violations.json").read_text())
    assert written["version"] == "1.0" and written["violations"][0]["constraint_check_type"] == "bias_drift_check"
    assert "Bias drift" in (tmp_path / "w" / "report.html").read_text()
