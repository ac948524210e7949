"""Drift report for 1M reference + 1M current rows x 25 mixed columns: Assay against Evidently's DataDriftPreset on
the same data in the same run (CPU time of each, their ratio, false alarms on the undrifted columns, detections
of the drifted ones).

Evidently runs in its own environment, never an Assay dependency:

    python3 -m venv benchmarks/.venv-evidently
    benchmarks/.venv-evidently/bin/pip install 'evidently==0.7.23' 'pandas<3'   # evidently 0.7 fails on pandas 3
    PYTHONPATH=src python benchmarks/drift.py [--rows 1000000]

The data (written once to benchmarks/.data/): 15 numeric columns (normal, log-normal, exponential, uniform,
integer counts, a 0/1 flag) and 10 text columns (2 to 300 values, skewed shares); 20 columns drawn from one
distribution on both sides, 5 drifted in the current data (3 numeric shifted by 0.1 standard deviation, 2 text
columns with 10 more points of share for one value). CPU time is the process's (all threads), Evidently's
measured in its process around ``Report.run`` only (reading the Parquet files excluded on both sides).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DRIFTED = {"n_normal_shift", "n_lognormal_shift", "n_int_shift", "c_many_shift", "c_few_shift"}

EVIDENTLY = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
    numeric = [c for c in ref.columns if c.startswith("n_")]
    text = [c for c in ref.columns if c.startswith("c_")]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=text)
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    reference = Dataset.from_pandas(ref, data_definition=definition)
    current = Dataset.from_pandas(cur, data_definition=definition)
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    result = snapshot.dict()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
    drifted = {}  # ValueDrift per column: a p-value method drifts below its threshold, a distance at or above it
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold, method = metric["value"], config["threshold"], config["method"]
            drifted[config["column"]] = bool(value < threshold if "p_value" in method else value >= threshold)
    print(json.dumps({"cpu": cpu, "wall": wall, "drifted": drifted}))
    """
)


def make(rows: int, seed: int, drifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shift = 0.1 if drifted else 0.0
    columns: dict[str, Any] = {}
    columns["n_normal_shift"] = rng.normal(shift, 1.0, rows)
    lognormal = rng.lognormal(0.0, 0.5, rows)
    columns["n_lognormal_shift"] = lognormal + (shift * float(np.sqrt((np.e**0.25 - 1) * np.e**0.25)) if drifted else 0)
    columns["n_int_shift"] = rng.poisson(20, rows) + (round(shift * np.sqrt(20) * 10) / 10 if drifted else 0)
    for i in range(4):
        columns[f"n_normal_{i}"] = rng.normal(i, 1 + i, rows)
    for i in range(2):
        columns[f"n_lognormal_{i}"] = rng.lognormal(i, 1.0, rows)
    columns["n_exponential"] = rng.exponential(3.0, rows)
    columns["n_uniform"] = rng.uniform(-5, 5, rows)
    columns["n_count"] = rng.poisson(3, rows)
    columns["n_age"] = rng.integers(18, 90, rows)
    columns["n_flag"] = rng.integers(0, 2, rows)
    columns["n_rounded"] = rng.normal(50, 10, rows).round(1)

    def text(levels: int, alpha: float, boost: str | None = None) -> np.ndarray[Any, Any]:
        weights = 1.0 / np.arange(1, levels + 1) ** alpha
        weights /= weights.sum()
        values = rng.choice(levels, rows, p=weights)
        out = np.array([f"v{j}" for j in range(levels)], dtype=object)[values]
        if boost is not None:
            others = np.flatnonzero(out != boost)
            out[rng.choice(others, round(0.10 * rows), replace=False)] = boost
        return out

    columns["c_many_shift"] = text(300, 1.1, "v5" if drifted else None)
    columns["c_few_shift"] = text(4, 0.5, "v2" if drifted else None)
    for i, (levels, alpha) in enumerate([(2, 0.3), (3, 0.0), (5, 1.0), (12, 0.8), (50, 1.0), (120, 1.2), (300, 1.5),
                                         (1000, 1.3)]):  # fmt: skip
        columns[f"c_text_{i}"] = text(levels, alpha)
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--evidently", type=Path, default=HERE / ".venv-evidently" / "bin" / "python")
    args = parser.parse_args()
    folder = HERE / ".data"
    folder.mkdir(exist_ok=True)
    ref_path, cur_path = folder / f"drift_ref_{args.rows}.parquet", folder / f"drift_cur_{args.rows}.parquet"
    if not ref_path.exists() or not cur_path.exists():
        make(args.rows, 1, drifted=False).to_parquet(ref_path)
        make(args.rows, 2, drifted=True).to_parquet(cur_path)
    from assay.checks.drift import detect_drift

    detect_drift(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), reference=pd.DataFrame({"x": [1.0, 2.0]}), multivariate=False)
    results: dict[str, Any] = {}
    for label, multivariate in (("assay", False), ("assay + domain classifier", True)):
        cpu, wall = time.process_time(), time.perf_counter()
        document = detect_drift(cur_path, reference=ref_path, multivariate=multivariate).to_dict()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        verdicts = {c["name"]: c["status"] == "fail" for c in document["result"]["columns"]}
        results[label] = {"cpu": cpu, "wall": wall, "drifted": verdicts, "mv": document["result"]["multivariate"]}
        print(label, f"{cpu:.1f} s CPU", sorted(c for c, d in verdicts.items() if d), flush=True)
    if args.evidently.exists():
        run = subprocess.run(
            [str(args.evidently), "-c", EVIDENTLY, str(ref_path), str(cur_path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if run.returncode != 0:
            sys.exit(f"evidently failed:\n{run.stderr[-3000:]}")
        results["evidently 0.7.23 DataDriftPreset"] = json.loads(run.stdout.strip().splitlines()[-1])
    else:
        print(f"(no Evidently environment at {args.evidently}: see this file's docstring)")
    print(
        f"{args.rows} reference + {args.rows} current rows x 25 columns; {platform.processor() or platform.machine()}"
    )
    print("| tool | CPU s | wall s | false alarms (20 undrifted) | detected (5 drifted) |")
    print("|---|---:|---:|---:|---:|")
    for label, r in results.items():
        drifted = r["drifted"]
        false = sorted(c for c, d in drifted.items() if d and c not in DRIFTED)
        caught = sum(bool(drifted.get(c)) for c in DRIFTED)
        print(f"| {label} | {r['cpu']:.1f} | {r['wall']:.1f} | {len(false)} {false or ''} | {caught} |")
    if "evidently 0.7.23 DataDriftPreset" in results:
        ratio = results["evidently 0.7.23 DataDriftPreset"]["cpu"] / results["assay"]["cpu"]
        print(f"CPU ratio Evidently / Assay: {ratio:.1f}x")
    mv = results["assay + domain classifier"]["mv"]
    if mv:
        print(mv["sentence"])


if __name__ == "__main__":
    main()
