"""A recorded bias assessment with a chosen disparity between two groups, for the gate and card tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import assay
from assay.services.workspace import Workspace


def _data(tmp_path: Path, *, disparity: float) -> Path:
    rng = np.random.default_rng(7)
    n = 3000
    group = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    score = np.clip(rng.beta(4, 3, n) - disparity * (group == "b"), 0, 1).round(5)
    label = (rng.random(n) < score).astype(int)
    path = tmp_path / f"scored-{disparity}.csv"
    pd.DataFrame({"g": group, "y": label, "p": score}).to_csv(path, index=False)
    return path


def record(ws: Workspace, tmp_path: Path, *, disparity: float, ref: str = "lr@1") -> dict[str, Any]:
    """Assess made-up scores whose group "b" is ``disparity`` lower and record it on system "release"."""
    report = assay.assess(_data(tmp_path, disparity=disparity), label="y", facets={"g": ["b"]}, score="p",
                          bootstrap=200)  # fmt: skip
    document = report.to_dict()
    ws.assessments.record("release", document, model_version=ref)
    return document
