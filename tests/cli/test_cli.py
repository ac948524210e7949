"""The `assay` command end to end: files written, Clarify's analysis.json layout, exit codes, and the demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 400
    f = rng.choice(["x", "y"], n)
    score = np.clip(rng.random(n) * 0.8 + (f == "x") * 0.2, 0, 1).round(4)
    df = pd.DataFrame(
        {
            "f": f,
            "sex": rng.choice(["F", "M"], n),
            "g": rng.integers(0, 3, n),
            "y": (rng.random(n) < score).astype(int),
            "score": score,
            "x1": rng.normal(size=n),
        }
    )
    df["pred"] = (df["score"] > 0.5).astype(int)
    path = tmp_path / "data.parquet"
    df.to_parquet(path, index=False)
    return path


def test_assess_writes_the_three_files(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(
        ["assess", str(data), "--label", "y=1", "--facet", "f=x", "--facet", "sex", "--intersect",
         "--predicted", "pred", "--group", "g", "--bootstrap", "100", "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "Bias" in printed
    assert f"report: {out / 'report.html'}" in printed
    analysis = json.loads((out / "analysis.json").read_text())
    pre = analysis["pre_training_bias_metrics"]
    assert pre["label"] == "y"
    assert pre["label_value_or_threshold"] == "1"
    assert set(pre["facets"]) == {"f", "sex", "f×sex"}
    names = [m["name"] for m in pre["facets"]["f"][0]["metrics"]]
    assert names == sorted(["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"])
    post = analysis["post_training_bias_metrics"]["facets"]["sex"]
    assert [e["value_or_threshold"] for e in post] == ["F", "M"]
    assert len(post[0]["metrics"]) == 13
    doc = json.loads((out / "assessment.json").read_text())
    assert doc["schema"] == "assay.assessment"
    assert doc["data"]["fingerprint"].startswith("sha256:")
    assert doc["rows"]["total"] == 400
    html = (out / "report.html").read_text()
    assert html.count("<html") == 1
    assert "Disparate Impact" in html


def test_score_threshold_and_metric_selection(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    code = main(
        ["assess", str(data), "--label", "y", "--facet", "f", "--score", "score", "--threshold", "0.6",
         "--metrics", "DI,dppl", "--bootstrap", "0", "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert code == 0
    assert "Bias" not in capsys.readouterr().out
    doc = json.loads((out / "assessment.json").read_text())
    assert [m["name"] for m in doc["facets"][0]["metrics"]] == ["DPPL", "DI"]
    assert doc["spec"]["score"] == {"column": "score", "threshold": 0.6}
    assert doc["performance"][0]["score"]["roc_auc"] is not None


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", "x.csv", "--label", "y"]) == 2  # --facet and --out missing
    assert main(["assess", "x.csv", "--label", "y", "--facet", "f", "--out", str(tmp_path), "--bogus"]) == 2
    assert main(["--version"]) == 0
    assert "assay 0.1.0" in capsys.readouterr().out


def test_out_must_be_a_folder(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert main(["assess", str(data), "--label", "y", "--facet", "f", "--out", str(file)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_console_script_exit_code(tmp_path: Path) -> None:
    exe = shutil.which("assay", path=str(Path(sys.executable).parent))
    assert exe is not None
    bad = subprocess.run([exe, "assess", str(tmp_path / "nope.csv"), "--label", "y", "--facet", "f", "--out",
                          str(tmp_path)], capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: data file")


@pytest.mark.slow
def test_make_demo_runs_end_to_end(tmp_path: Path) -> None:
    """`make demo` is the tutorial (docs/tutorial.md): every step a user would type, and every output exists."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    demo = tmp_path / "demo"
    env = {**os.environ, "DEMO_DIR": str(demo)}
    env.pop("ASSAY_WORKSPACE", None)
    run = subprocess.run(["make", "-s", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    doc = json.loads((demo / "assessment" / "assessment.json").read_text())
    assert {e["facet"] for e in doc["facets"]} == {"colour", "sex", "colour×sex"}
    di = next(m for m in doc["facets"][0]["metrics"] if m["name"] == "DI")
    assert di["status"] == "ok" and di["value"] < 0.8  # the story: the four-fifths rule fails by colour
    assert "the gate failed (exit code 1)" in run.stdout
    assert "FAIL" in (demo / "gate" / "summary.md").read_text()
    assert "cannot decide on it" in run.stderr  # alice's own approval is refused
    from pypdf import PdfReader

    assert len(PdfReader(demo / "card" / "model-card.pdf").pages) >= 2
    assert "Statement of Applicability" in (demo / "soa.html").read_text()
    assert json.loads((demo / "readiness.json").read_text())["schema"] == "assay.readiness"
    assert "Annex IV.1" in (demo / "technical-documentation.md").read_text()
    assert "export " in run.stdout and "verifies" in run.stdout
    for line in ("model card:", "audit export:", "SoA:"):
        assert line in run.stdout
