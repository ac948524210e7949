"""Measure the drift check's defaults on the shared datasets (the tables of docs/drift.md).

- False alarms: every dataset split at random into two halves, many times; every column alarmed is a false alarm
  (the halves come from one population). Reported per dataset: columns x splits tested, alarms, rate.
- Detection: in the second half of a random split, every numeric column (at least 10 distinct values) shifted by
  0.1 of its standard deviation, and every text column's second most frequent value given 10 more points of share
  (rows moved to it at random from the other values); the share of planted shifts the check reports.

    PYTHONPATH=src python benchmarks/drift_verdicts.py [--splits 20] [--plants 5] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.checks.drift import detect_drift

ADULT = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship",
    "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
]  # fmt: skip


def datasets(root: Path) -> dict[str, pd.DataFrame]:
    read = {
        "acs_income": lambda: pd.read_parquet(root / "acs_folktables/ACSIncome.test.parquet"),
        "acs_sample": lambda: pd.read_parquet(root / "acs_folktables/ACS_sample.train.parquet"),
        "adult": lambda: pd.read_csv(root / "adult/adult.data", names=ADULT, skipinitialspace=True),
        "bank": lambda: pd.read_csv(root / "bank_marketing/bank-full.csv", sep=";"),
        "communities": lambda: pd.read_csv(root / "communities_crime/communities_crime.csv"),
        "compas": lambda: pd.read_csv(root / "compas/compas-scores-two-years.csv"),
        "credit_default": lambda: pd.read_csv(root / "credit_card_default/UCI_Credit_Card.csv"),
        "german": lambda: pd.read_csv(root / "german_credit/german.csv"),
        "law_school": lambda: pd.read_csv(root / "law_school/law_school_clean.csv"),
        "nyc_sqf": lambda: pd.read_csv(root / "nyc_stop_and_frisk/nyc_sqf_for_aequitas.csv"),
        "ricci": lambda: pd.read_csv(root / "ricci/ricci.csv"),
    }
    out = {}
    for name, load in read.items():
        frame = load()
        for column in frame.columns:  # text columns as plain str (object), so every engine reads them alike
            if not pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None).astype(object)
        out[name] = frame.reset_index(drop=True)
    return out


def halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:]].reset_index(drop=True)


def plant(current: pd.DataFrame, reference: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    out, planted = current.copy(), []
    for column in current.columns:
        values = current[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if values.nunique() >= 10 and reference[column].std() > 0:
                out[column] = values.astype(float) + 0.1 * float(reference[column].std())
                planted.append(column)
        else:
            counts = values.value_counts()
            if len(counts) < 2 or counts.iloc[1] / counts.sum() > 0.85:
                continue
            target = counts.index[1]
            others = np.flatnonzero((values.notna() & (values != target)).to_numpy())
            moved = round(0.10 * int(values.notna().sum()))
            if moved > len(others):
                continue
            chosen = rng.choice(others, moved, replace=False)
            column_values = out[column].to_numpy(dtype=object).copy()
            column_values[chosen] = target
            out[column] = column_values
            planted.append(column)
    return out, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--plants", type=int, default=5)
    parser.add_argument("--multivariate-splits", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="datasets left out (already measured)")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    started = time.process_time()
    for name, frame in datasets(args.data).items():
        if name in args.skip:
            continue
        tested = alarms = mv_runs = mv_alarms = 0
        alarmed: dict[str, int] = {}
        for seed in range(args.splits):
            ref, cur = halves(frame, seed)
            multivariate = seed < args.multivariate_splits
            document = detect_drift(cur, reference=ref, multivariate=multivariate, classifier_sample=2000).to_dict()
            for column in document["result"]["columns"]:
                tested += column["status"] != "warn"
                if column["status"] == "fail":
                    alarms += 1
                    alarmed[column["name"]] = alarmed.get(column["name"], 0) + 1
            found = document["result"]["multivariate"]
            if found is not None and found.get("auc") is not None:
                mv_runs += 1
                mv_alarms += found["status"] == "fail"
        planted = caught = 0
        for seed in range(args.plants):
            ref, cur = halves(frame, 1000 + seed)
            shifted, columns = plant(cur, ref, seed)
            document = detect_drift(shifted, reference=ref, multivariate=False).to_dict()
            verdicts = {c["name"]: c["status"] for c in document["result"]["columns"]}
            planted += len(columns)
            caught += sum(verdicts.get(c) == "fail" for c in columns)
        row = {
            "dataset": name, "rows": len(frame), "columns": frame.shape[1], "tests": tested, "false_alarms": alarms,
            "rate": alarms / tested if tested else 0.0, "alarmed": alarmed, "mv": f"{mv_alarms}/{mv_runs}",
            "planted": planted, "caught": caught, "half_rows": len(frame) // 2,
        }  # fmt: skip
        rows.append(row)
        print(row, flush=True)
    print(f"\ncpu {time.process_time() - started:.0f} s\n")
    print("| dataset | rows per half | column tests (splits x columns) | false alarms | rate | domain classifier "
          "false alarms | planted shifts | caught | detection rate |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = {"tests": 0, "false_alarms": 0, "planted": 0, "caught": 0}
    for r in rows:
        for key in total:
            total[key] += r[key]
        rate = r["caught"] / r["planted"] if r["planted"] else float("nan")
        print(f"| {r['dataset']} | {r['half_rows']} | {r['tests']} | {r['false_alarms']} | {r['rate']:.2%} | {r['mv']} "
              f"| {r['planted']} | {r['caught']} | {rate:.0%} |")  # fmt: skip
    print(f"| all | | {total['tests']} | {total['false_alarms']} | {total['false_alarms'] / total['tests']:.2%} | | "
          f"{total['planted']} | {total['caught']} | {total['caught'] / total['planted']:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
