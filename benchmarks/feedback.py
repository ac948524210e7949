"""Measure end users' feedback (the figures of docs/feedback.md and benchmarks/RESULTS.md):

- the satisfaction check's false alarms over many clean windows (ratings drawn from one stable distribution, with
  a floor below it and a baseline of the same distribution) and its detection of a planted fall, per window size,
  with its defaults (confidence 0.99, max_drop 0.05, alpha 0.0001, min_ratings 30);
- the redaction of personal data on the labelled comments of tests/support/comments.py;
- the cost of one audited submission on SQLite (with and without a comment to redact).

    PYTHONPATH=src python benchmarks/feedback.py [--windows 2000] [--submissions 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assay.metrics.satisfaction import satisfaction  # noqa: E402

SIZES = (30, 100, 300, 1000)
# (name, scale, measure, floor, clean probabilities, fallen probabilities)
CASES: list[tuple[str, int, str, float, list[float], list[float]]] = [
    ("thumbs, share positive", 2, "positive", 0.70, [0.2, 0.8], [0.4, 0.6]),
    ("stars, share positive (4-5)", 5, "positive", 0.60, [0.05, 0.05, 0.15, 0.35, 0.40],
     [0.12, 0.10, 0.23, 0.30, 0.25]),
    ("stars, mean rating", 5, "mean", 3.6, [0.05, 0.05, 0.15, 0.35, 0.40], [0.12, 0.10, 0.23, 0.30, 0.25]),
]  # fmt: skip


def _draw(rng: np.random.Generator, scale: int, probabilities: list[float], n: int) -> pd.DataFrame:
    values = np.arange(2) if scale == 2 else np.arange(1, 6)
    return pd.DataFrame({"rating": rng.choice(values, n, p=probabilities), "scale": scale})


def verdicts(windows: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for name, scale, measure, floor, clean, fallen in CASES:
        baseline = satisfaction(_draw(rng, scale, clean, 2000), measure=measure).to_dict()  # type: ignore[arg-type]
        for n in SIZES:
            alarms = {"floor": 0, "drop": 0, "any": 0}
            caught = {"floor": 0, "drop": 0, "any": 0}
            warned = 0
            for counts, probabilities in ((alarms, clean), (caught, fallen)):
                for _ in range(windows):
                    document = satisfaction(_draw(rng, scale, probabilities, n), measure=measure,  # type: ignore[arg-type]
                                            floor=floor, baseline=baseline).to_dict()  # fmt: skip
                    kinds = {v["check_type"] for v in document["violations"]}
                    counts["floor"] += "satisfaction_floor" in kinds
                    counts["drop"] += "satisfaction_drop" in kinds
                    counts["any"] += bool(kinds)
                    warned += document["status"] == "warn"
            rows.append({"case": name, "n": n, "windows": windows, "false_alarms": alarms["any"],
                         "false_floor": alarms["floor"], "false_drop": alarms["drop"],
                         "detected": caught["any"] / windows, "by_floor": caught["floor"] / windows,
                         "by_drop": caught["drop"] / windows, "warn": warned})  # fmt: skip
    return rows


def at_the_floor(windows: int, seed: int = 1) -> dict[int, float]:
    """False alarms when the true share is exactly the floor (the worst clean case): bounded by (1 - 0.99) / 2."""
    rng = np.random.default_rng(seed)
    return {n: sum(satisfaction(_draw(rng, 2, [0.3, 0.7], n), floor=0.7).to_dict()["status"] == "fail"
                   for _ in range(windows)) / windows for n in SIZES}  # fmt: skip


def redaction() -> dict[str, Any]:
    from tests.support.comments import measure

    from assay.checks.redact import redact

    return measure(redact)


def submission_cost(count: int) -> dict[str, float]:
    from assay.config import load_settings
    from assay.services.workspace import Workspace

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.init(Path(folder) / "ws", load_settings(actor="bench", workspace=None))
        ws.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
        ws.models.register_version("credit", {"model": "gbm", "version": "3"})
        ws.feedback.submit("credit", {"rating": 1, "comment": "warm up a@example.org"})
        for label, comment in (("rating only", ""), ("with a comment", "wrong fee, call me on 06 12 34 56 78 or "
                                                                         "write to someone@example.org")):  # fmt: skip
            start = time.perf_counter()
            for k in range(count):
                ws.feedback.submit("credit", {"rating": k % 5 + 1, "comment": comment, "model_version": "gbm@3",
                                              "attributes": {"channel": "web"}})  # fmt: skip
            out[label] = (time.perf_counter() - start) / count * 1000
        start = time.perf_counter()
        from assay.checks.redact import redact

        for _ in range(count):
            redact("wrong fee, call me on 06 12 34 56 78 or write to someone@example.org")
        out["redaction alone"] = (time.perf_counter() - start) / count * 1000
        start = time.perf_counter()
        assert ws.audit.verify().ok
        out["audit verify of all (ms)"] = (time.perf_counter() - start) * 1000
        ws.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=2000)
    parser.add_argument("--submissions", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        "| case | ratings per window | clean windows | false alarms (floor, drop) | detection of the fall "
        "(by floor, by drop) |\n|---|---|---|---|---|"
    )
    for row in verdicts(args.windows):
        print(
            f"| {row['case']} | {row['n']} | {row['windows']} | {row['false_alarms']} ({row['false_floor']}, "
            f"{row['false_drop']}) | {row['detected']:.3f} ({row['by_floor']:.3f}, {row['by_drop']:.3f}) |"
        )
    print("\nfalse-alarm rate with the true share exactly at the floor (0.70):", at_the_floor(args.windows))
    print("\nredaction:", redaction())
    print("\nSQLite, ms per submission:", {k: round(v, 2) for k, v in submission_cost(args.submissions).items()})
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
