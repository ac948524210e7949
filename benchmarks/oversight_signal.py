"""Measure the override-rate bias signal's defaults (``assay.metrics.oversight.slice_signal``) on real groups.

Items are rows drawn at random from adult.data (UCI census, the shared data); the slices are its real columns sex,
race and their intersection (2 + 5 + 10 values). Overrides are simulated:

- Clean: every item is overridden with the same probability (the base rate), independent of its group; any slice
  flagged is a false alarm. Reported: the share of reports (repetitions) with at least one flag (the family-wise
  false-alarm rate the defaults promise to keep below alpha), and flags per slice value tested.
- Planted: women's items are overridden at ``factor`` times the base rate; detection is the share of reports that
  flag ``sex = Female``. (The intersections of Female with a race may be flagged too: that is the same signal.)
  A report that flags anything other than Female or a Female intersection counts as a false alarm.

    PYTHONPATH=src python benchmarks/oversight_signal.py [--repeats 500] [--alpha 0.01] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from assay.metrics.oversight import ALPHA, MIN_COUNT, MIN_RATIO, slice_signal

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income"]  # fmt: skip
SLICES = ["sex", "race", "sex×race"]


def run(
    frame: pd.DataFrame, sizes: list[int], bases: list[float], factors: list[float], repeats: int, alpha: float
) -> None:
    rng = np.random.default_rng(20260302)
    print(f"alpha {alpha} (default {ALPHA}), min_count {MIN_COUNT}, min_ratio {MIN_RATIO}; slices {', '.join(SLICES)}")
    print("| items | base rate | overrides | reports with a false alarm | false flags / slice values judged |"
          " detection of Female (×factor) |")  # fmt: skip
    print("|---:|---:|---|---:|---:|---|")
    for size in sizes:
        for base in bases:
            alarms = flags = judged = 0
            detected = dict.fromkeys(factors, 0)
            wrong = dict.fromkeys(factors, 0)
            for _ in range(repeats):
                sample = frame.iloc[rng.choice(len(frame), size, replace=False)]
                rows = sample[["sex", "race"]].to_dict("records")
                female = (sample["sex"] == "Female").to_numpy()
                clean = rng.random(size) < base
                tests, _ = slice_signal(list(zip(rows, clean.tolist(), strict=True)), SLICES, alpha=alpha)
                hits = [t for t in tests if t.verdict == "flagged"]
                alarms += bool(hits)
                flags += len(hits)
                judged += sum(t.p is not None for t in tests)
                for factor in factors:
                    p = np.where(female, min(1.0, base * factor), base)
                    planted = rng.random(size) < p
                    tests, _ = slice_signal(list(zip(rows, planted.tolist(), strict=True)), SLICES, alpha=alpha)
                    hit = {(t.slice, t.value) for t in tests if t.verdict == "flagged"}
                    detected[factor] += ("sex", "Female") in hit
                    wrong[factor] += any(not v.startswith("Female") for _, v in hit)
            detection = ", ".join(f"×{f:g}: {detected[f] / repeats:.1%} (other flags {wrong[f]})" for f in factors)
            print(
                f"| {size:,} | {base:.0%} | {base * size:,.0f} expected | {alarms} of {repeats} "
                f"({alarms / repeats:.1%}) | {flags} / {judged} | {detection} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--alpha", type=float, default=ALPHA)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 500, 2000, 10000])
    parser.add_argument("--bases", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2])
    parser.add_argument("--factors", type=float, nargs="+", default=[1.5, 2.0])
    args = parser.parse_args()
    frame = pd.read_csv(args.data / "adult" / "adult.data", names=COLUMNS, skipinitialspace=True)
    started = time.perf_counter()
    run(frame, args.sizes, args.bases, args.factors, args.repeats, args.alpha)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
