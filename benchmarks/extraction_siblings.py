"""How closely an owner's own retrained model agrees with the model: the level a "copy" must beat (issue 19).

For each shared dataset and split (the halves of benchmarks/verdicts.py), the target is the gradient boosting model
the extraction verdict's benchmark serves (HistGradientBoosting at its defaults, fitted on half A); its siblings are
the same learner fitted on either half of A, and a logistic regression fitted on A. Printed: the share of 1,000 rows
of half B on which each decides like the target, beside a constant answer's (the target's commonest decision). A
surrogate agreeing no more than a sibling cannot be told from an independent model of the same task; the extraction
verdict's stated agreement (0.99) sits above the siblings (docs/privacy-and-security.md, "Model extraction").

    PYTHONPATH=src python benchmarks/extraction_siblings.py [--splits 2] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import verdicts  # the datasets, their halves and the ordinary models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    parser.add_argument("--splits", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    print("| dataset | split | constant answer | gradient boosting on either half of A | logistic regression on A |")
    print("|---|---:|---:|---:|---:|")
    for name in verdicts.DATASETS:
        data = verdicts.prepare(name, verdicts.load(args.data, name))
        for seed in range(args.splits):
            a, b = verdicts.halves(data.frame, seed)
            judged = b.iloc[:1000][data.features]
            target = verdicts.ordinary("hgb", data, a, seed).predict(judged)
            half = len(a) // 2
            siblings = [verdicts.ordinary("hgb", data, part, seed).predict(judged) for part in (a[:half], a[half:])]
            linear = verdicts.ordinary("lr", data, a, seed).predict(judged)
            constant = max(target.mean(), 1 - target.mean())
            alike = " / ".join(f"{np.mean(s == target):.3f}" for s in siblings)
            print(f"| {name} | {seed} | {constant:.3f} | {alike} | {np.mean(linear == target):.3f} |", flush=True)


if __name__ == "__main__":
    main()
